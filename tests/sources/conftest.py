"""Fixtures for S3 sources: moto's real server on 127.0.0.1 (worker processes are forked
and need a real endpoint), fake credentials, and a helper that uploads a folder."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one log line per request
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def aws_env(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    """Fake credentials and the moto endpoint; no profile or config file of the machine."""
    for var in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_REGION"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return moto_endpoint


def s3_client(endpoint: str) -> Any:
    import boto3

    return boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    ).client("s3", endpoint_url=endpoint)


def upload_tree(
    client: Any, root: Path, bucket: str, prefix: str, keep: Callable[[str], bool] | None = None
) -> list[str]:
    """Create the bucket and put every file under root (whose relative path `keep`
    accepts) at prefix/<relative path>. Returns the keys."""
    client.create_bucket(Bucket=bucket)
    paths = sorted(
        p
        for p in root.rglob("*")
        if p.is_file() and (keep is None or keep(p.relative_to(root).as_posix()))
    )
    keys = [f"{prefix}/{p.relative_to(root).as_posix()}".lstrip("/") for p in paths]

    def put(pair: tuple[Path, str]) -> None:
        client.put_object(Bucket=bucket, Key=pair[1], Body=pair[0].read_bytes())

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(put, zip(paths, keys)))
    return keys


@pytest.fixture(scope="session")
def demo_bucket(moto_endpoint: str, demo_trail: Any) -> tuple[str, str, list[str]]:
    """The demo trail uploaded once under `exports/trail` of bucket `demo-trail`:
    both layouts, digest and insight siblings, a stray file, a damaged log."""
    keys = upload_tree(
        s3_client(moto_endpoint), Path(demo_trail.root), "demo-trail", "exports/trail"
    )
    return "demo-trail", "exports/trail", keys


@pytest.fixture
def s3(moto_endpoint: str) -> Any:
    """A boto3 S3 client on the moto server, for arranging buckets in tests."""
    return s3_client(moto_endpoint)


@pytest.fixture
def upload() -> Callable[..., list[str]]:
    """`upload(client, root, bucket, prefix, keep=None) -> keys`."""
    return upload_tree
