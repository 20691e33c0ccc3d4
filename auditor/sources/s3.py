"""A trail in S3: folder listings for discovery, and object reads for the prefilter workers.

Discovery (`S3Lister`) only ever asks S3 for one "folder" at a time: `ListObjectsV2`
with `Delimiter='/'` and the folder as `Prefix`, or, for a month folder (`tree`), no
delimiter, `StartAfter` its first wanted day and no page past its last; so the cost
grows with the accounts, regions and days of the range, never with the size of the
bucket. Every request is counted (`S3Lister.calls`) for the report's provenance.

The prefilter workers call `read_object` for each `s3://bucket/key` they are handed: one
object in memory per worker at a time, straight from S3 (or from the `--cache` folder),
into the same gunzip/prefilter pipeline as a local file. Each process counts its own
GETs; `take_reads` hands over (and resets) the count, which a worker returns with the
file's result.

boto3 is imported only here, and only when a source is `s3://`: auditing a local folder
never loads it. Clients are never shared across `fork`: each process makes its own.
Credentials, region and endpoint come from the usual AWS environment (`AWS_PROFILE`,
`AWS_REGION`, `AWS_ENDPOINT_URL`, ...), which boto3 reads itself.
"""

from __future__ import annotations

import os
import re
import threading
from typing import Any

from auditor.aws import Backoff, aws_error, classify, make_client, with_backoff
from auditor.errors import ConfigError, SourceError
from auditor.model import S3Calls

SCHEME = "s3://"
PAGE_SIZE = 1000  # keys per ListObjectsV2 page (S3's maximum)
LIST_THREADS = 16  # folder listings in flight at once (discovery)

# Our own retries around a whole object read, on top of botocore's standard mode: a
# response whose body breaks off half way (connection reset, incomplete read) is not
# retried by botocore, because the call itself had already succeeded.
READ_TRIES = 4
READ_BACKOFF = Backoff(attempts=READ_TRIES, base_s=0.5, cap_s=8.0)

_BUCKET = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,254}$")

# One client per process, keyed by pid: a forked worker makes its own.
_CLIENT: tuple[int, Any] | None = None


class CallCounter:
    """S3 requests made and bytes got, counted from many threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.list_calls = self.get_calls = self.get_bytes = 0

    def add(self, list_calls: int = 0, get_calls: int = 0, get_bytes: int = 0) -> None:
        with self._lock:
            self.list_calls += list_calls
            self.get_calls += get_calls
            self.get_bytes += get_bytes

    def snapshot(self) -> S3Calls:
        with self._lock:
            return S3Calls(self.list_calls, self.get_calls, self.get_bytes)

    def with_reads(self, reads: list[tuple[int, int]]) -> S3Calls:
        """These counts plus the (GETs, bytes) the workers returned, one per file."""
        mine = self.snapshot()
        return S3Calls(
            mine.list_calls,
            mine.get_calls + sum(g for g, _ in reads),
            mine.get_bytes + sum(b for _, b in reads),
        )


# This process's GETs since the last `take_reads`, keyed by pid like the client.
_READS: tuple[int, CallCounter] | None = None


def _reads() -> CallCounter:
    global _READS
    if _READS is None or _READS[0] != os.getpid():
        _READS = (os.getpid(), CallCounter())
    return _READS[1]


def take_reads() -> tuple[int, int]:
    """(GetObject requests, bytes got) by `read_object` in this process since the last
    call, and start again from zero: a worker calls it after each file it reads."""
    counter = _reads()
    with counter._lock:
        out = (counter.get_calls, counter.get_bytes)
        counter.get_calls = counter.get_bytes = 0
    return out


def split_url(url: str) -> tuple[str, str]:
    """`s3://bucket/a/b` -> ("bucket", "a/b"); trailing slashes are dropped."""
    if not url.startswith(SCHEME):
        raise SourceError(f"{url}: not an s3:// URL")
    bucket, _, key = url[len(SCHEME) :].partition("/")
    if not bucket:
        raise SourceError(f"{url}: no bucket name (use s3://bucket/prefix)")
    if not _BUCKET.match(bucket):
        raise SourceError(f"{url}: {bucket!r} is not a valid bucket name")
    return bucket, key.strip("/")


def new_client() -> Any:
    """An S3 client for listing and reading a trail (auditor.aws.make_client)."""
    return make_client("s3", max_attempts=8, pool=LIST_THREADS)


def _client() -> Any:
    global _CLIENT
    pid = os.getpid()
    if _CLIENT is None or _CLIENT[0] != pid:
        _CLIENT = (pid, new_client())
    return _CLIENT[1]


def _listing_error(url: str, exc: Exception) -> SourceError:
    """One clear line for a listing that failed after botocore's retries."""
    err = aws_error(
        exc,
        f"--source {url}",
        SourceError,
        hint="listing a trail needs s3:ListBucket on the bucket for this prefix",
    )
    assert isinstance(err, SourceError)
    return err


class S3Lister:
    """The `Lister` of `auditor.sources.layout` over `s3://bucket/prefix`."""

    def __init__(self, source: str, client: Any = None) -> None:
        self.source = source
        try:
            self.bucket, self.prefix = split_url(source)
        except SourceError as exc:
            raise SourceError(f"--source {exc}") from None
        try:
            self.client = client or new_client()
        except ConfigError as exc:  # e.g. AWS_PROFILE names a profile that does not exist
            raise SourceError(f"--source {source}: {exc}") from None
        self.calls = CallCounter()
        self.threads = LIST_THREADS  # discovery's listings in flight at once
        # s3://bucket/key -> ETag of every object listed (the events store's file identity)
        self.etags: dict[str, str] = {}
        # Fail now, with one line, if the bucket is missing or closed to us.
        self._ready = False
        self._page(self._key_prefix(self.join(source)), max_keys=1)
        self._ready = True

    def join(self, *parts: str) -> str:
        head = parts[0].rstrip("/")
        rest = [p.strip("/") for p in parts[1:] if p.strip("/")]
        return "/".join([head, *rest])

    def _key_prefix(self, path: str) -> str:
        bucket, key = split_url(path)
        if bucket != self.bucket:
            raise SourceError(f"{path}: outside --source {self.source}")
        return f"{key}/" if key else ""

    def _page(
        self,
        prefix: str,
        token: str | None = None,
        max_keys: int | None = None,
        start_after: str | None = None,
    ) -> dict[str, Any]:
        """One ListObjectsV2 page: a folder's (Delimiter '/'), or every key below the
        prefix after `start_after`."""
        from botocore.exceptions import BotoCoreError, ClientError

        kw: dict[str, Any] = {
            "Bucket": self.bucket,
            "Prefix": prefix,
            "MaxKeys": max_keys or PAGE_SIZE,
        }
        if start_after is None:
            kw["Delimiter"] = "/"
        else:
            kw["StartAfter"] = start_after
        if token:
            kw["ContinuationToken"] = token
        self.calls.add(list_calls=1)
        try:
            page: dict[str, Any] = self.client.list_objects_v2(**kw)
            return page
        except (ClientError, BotoCoreError) as exc:
            err = _listing_error(self.source, exc)
            if not getattr(self, "_ready", False):
                raise err from None
            # The source itself could be listed: a sub-prefix closed to us (a bucket
            # policy denying it, say) or failing after retries is a folder not read,
            # recorded by discovery, never an empty folder.
            from auditor.sources.layout import ListingError

            where = f"s3://{self.bucket}/{prefix}".rstrip("/")
            raise ListingError(where, str(err).split(": ", 1)[-1]) from None

    def _pages(self, path: str):  # type: ignore[no-untyped-def]
        prefix = self._key_prefix(path)
        token = None
        while True:
            page = self._page(prefix, token)
            yield prefix, page
            token = page.get("NextContinuationToken")
            if not page.get("IsTruncated") or not token:
                return

    def dirs(self, prefix: str) -> list[str]:
        out: list[str] = []
        for p, page in self._pages(prefix):
            for cp in page.get("CommonPrefixes") or ():
                name = cp["Prefix"][len(p) :].rstrip("/")
                if name:
                    out.append(name)
        return out

    def files(self, prefix: str) -> list[tuple[str, int]]:
        out: list[tuple[str, int]] = []
        for p, page in self._pages(prefix):
            for obj in page.get("Contents") or ():
                name = obj["Key"][len(p) :]
                if name:  # not the folder marker object `prefix/` itself
                    out.append((name, int(obj.get("Size", 0))))
                    if obj.get("ETag"):
                        self.etags[f"s3://{self.bucket}/{obj['Key']}"] = str(obj["ETag"])
        return out

    def tree(self, folder: str, first: str, last: str) -> list[tuple[str, int]]:
        """(path relative to folder, size) of every object below folder's sub-folders
        first..last, at any depth, in key order: no delimiter, `StartAfter` the name
        `first` (its keys sort after it, an earlier sub-folder's before), and no page
        asked for once a key sorts past sub-folder `last`. Keys of other sub-folders
        sorting between them (`05-old/`) come back too; the caller picks. (Called from
        many threads: botocore clients are thread-safe, sessions are not, so the one
        client is shared.)"""
        prefix = self._key_prefix(folder)
        end = f"{last}/"
        out: list[tuple[str, int]] = []
        token = None
        while True:
            page = self._page(prefix, token, start_after=prefix + first)
            for obj in page.get("Contents") or ():
                rel = obj["Key"][len(prefix) :]
                if rel[: len(end)] > end:  # keys come sorted: the rest are later still
                    return out
                out.append((rel, int(obj.get("Size", 0))))
                if obj.get("ETag"):
                    self.etags[f"s3://{self.bucket}/{obj['Key']}"] = str(obj["ETag"])
            token = page.get("NextContinuationToken")
            if not page.get("IsTruncated") or not token:
                return out


def cache_path(cache_dir: str, bucket: str, key: str) -> str | None:
    """cache_dir/<bucket>/<key>, or None for a key that cannot be a safe relative path."""
    parts = key.split("/")
    if any(p in ("", ".", "..") for p in parts):
        return None
    return os.path.join(cache_dir, bucket, *parts)


def _store(dest: str, data: bytes) -> None:
    """Write atomically (temp file + rename): a reader never sees half a file."""
    tmp = f"{dest}.{os.getpid()}.part"
    try:
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        with open(tmp, "wb") as fh:
            fh.write(data)
        os.replace(tmp, dest)
    except OSError:
        # The cache is an optimisation: a full disk must not fail the audit.
        try:
            os.unlink(tmp)
        except OSError:
            pass


class TooLarge(Exception):
    pass


def _fetch(bucket: str, key: str, max_bytes: int | None = None) -> bytes:
    counter = _reads()
    counter.add(get_calls=1)
    resp = _client().get_object(Bucket=bucket, Key=key)
    body = resp["Body"]
    size = resp.get("ContentLength")
    if max_bytes is not None and isinstance(size, int) and size > max_bytes:
        body.close()
        raise TooLarge(f"{size} bytes, over the {max_bytes}-byte limit; not read")
    try:
        # StreamingBody.read() checks the length against Content-Length and raises
        # IncompleteReadError ( `with body as b` would hand out the raw stream, unchecked).
        data: bytes = body.read()
    finally:
        body.close()
    counter.add(get_bytes=len(data))
    return data


def _transient() -> tuple[type[BaseException], ...]:
    from botocore.exceptions import ConnectionError, HTTPClientError, IncompleteReadError

    return (ConnectionError, HTTPClientError, IncompleteReadError, OSError)


def read_object(path: str, cache_dir: str | None = None, max_bytes: int | None = None) -> bytes:
    """The bytes of one object, from the cache when it holds them. When the object cannot
    be read after retries, or is larger than max_bytes (then it is not downloaded), raises
    OSError whose message names the object and the reason ("s3://b/k: NoSuchKey"); the
    prefilter records the file as unreadable."""
    bucket, key = split_url(path)
    dest = cache_path(cache_dir, bucket, key) if cache_dir else None
    if dest is not None and os.path.isfile(dest):
        # CloudTrail never rewrites a delivered log file: a cached copy stays valid.
        try:
            with open(dest, "rb") as fh:
                if max_bytes is None or os.fstat(fh.fileno()).st_size <= max_bytes:
                    return fh.read()
        except OSError:
            pass
    from botocore.exceptions import BotoCoreError, ClientError  # not needed for a cache hit

    transient = _transient()
    try:
        data = with_backoff(
            lambda: _fetch(bucket, key) if max_bytes is None else _fetch(bucket, key, max_bytes),
            lambda exc: isinstance(exc, transient),
            READ_BACKOFF,
        )
    except ClientError as exc:
        # botocore has already retried throttling and 5xx; the rest will not change.
        raise OSError(f"{path}: {classify(exc).code}") from None
    except TooLarge as exc:
        raise OSError(f"{path}: {exc}") from None
    except transient as exc:
        raise OSError(
            f"{path}: read failed after {READ_TRIES} tries: {type(exc).__name__}: {exc}"
        ) from None
    except BotoCoreError as exc:  # no credentials, bad parameters: retrying won't help
        raise OSError(f"{path}: {type(exc).__name__}: {exc}") from None
    if dest is not None:
        _store(dest, data)
    return data
