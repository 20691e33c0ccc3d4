"""An S3 object larger than the read limit is not downloaded: it is named, with the limit."""

from __future__ import annotations

from typing import Any

import pytest

from auditor.sources.s3 import read_object


def test_an_object_over_the_limit_is_not_read(
    aws_env: str, demo_bucket: Any, demo_trail: Any
) -> None:
    bucket, prefix, keys = demo_bucket
    url = f"s3://{bucket}/" + next(k for k in keys if "/CloudTrail/" in k)
    assert read_object(url, None, max_bytes=1 << 30)[:2] == b"\x1f\x8b"
    with pytest.raises(OSError, match=r"over the 100-byte limit; not read"):
        read_object(url, None, max_bytes=100)
