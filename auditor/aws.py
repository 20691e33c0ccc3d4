"""AWS in one place: client construction, backoff with jitter, botocore errors as ours.

    make_client(service)   one boto3 client: botocore's standard retry mode, timeouts,
                           user agent, connection pool; region and credentials from the
                           usual AWS environment (AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL)
    with_backoff(call)     our one retry loop, full jitter, on top of botocore's own: for
                           throttling botocore gave up on (Athena's concurrent-query
                           quota) and for reads whose body broke off half way
    classify(exc)          what went wrong, as a kind and a code
    aws_error(exc, where)  the one mapping of a botocore error to an AuditorError

boto3 and botocore are imported inside the functions: the local engine auditing a local
folder never loads them (tests/sources/test_s3.py checks).
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from auditor.errors import AuditorError, ConfigError, SourceError

T = TypeVar("T")

USER_AGENT = "auditor"
CONNECT_TIMEOUT_S = 10
READ_TIMEOUT_S = 60
# Error codes that mean "slow down": retried by with_backoff when botocore gave up.
THROTTLE_CODES = frozenset(
    {
        "ThrottlingException",
        "TooManyRequestsException",
        "Throttling",
        "SlowDown",
        "RequestLimitExceeded",
    }
)
_DENIED = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "AllAccessDisabled",
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "ExpiredToken",
        "UnrecognizedClientException",
    }
)
NO_CREDENTIALS = (
    "no AWS credentials found (set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)"
)
NO_REGION = "no AWS region: set AWS_REGION (or AWS_DEFAULT_REGION, or a region in your profile)"


def make_client(service: str, *, max_attempts: int = 5, pool: int = 10) -> Any:
    """A boto3 client of a session of its own (boto3's default session is not meant to be
    shared; a forked process makes its own client). S3 needs no region (its endpoints
    are global); any other service does."""
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError

    try:
        session = boto3.session.Session()
        region = os.environ.get("AWS_REGION") or session.region_name
        if not region and service != "s3":
            raise ConfigError(NO_REGION)
        config = Config(
            retries={"mode": "standard", "max_attempts": max_attempts},
            connect_timeout=CONNECT_TIMEOUT_S,
            read_timeout=READ_TIMEOUT_S,
            max_pool_connections=pool,
            user_agent_extra=USER_AGENT,
        )
        return session.client(service, region_name=region or None, config=config)
    except BotoCoreError as exc:  # e.g. AWS_PROFILE names a profile that does not exist
        raise ConfigError(f"AWS settings: {exc}") from None


@dataclass(frozen=True)
class Backoff:
    """Full jitter: try n waits rand() * min(cap, base * 2**n) before the next."""

    attempts: int = 8
    base_s: float = 0.5
    cap_s: float = 20.0

    def delay(self, attempt: int, rand: Callable[[], float] = random.random) -> float:
        return float(rand() * min(self.cap_s, self.base_s * 2**attempt))


def with_backoff(
    call: Callable[[], T],
    retry_if: Callable[[BaseException], bool],
    policy: Backoff = Backoff(),
    *,
    sleep: Callable[[float], None] = time.sleep,
    rand: Callable[[], float] = random.random,
    on_retry: Callable[[BaseException], None] | None = None,
) -> T:
    """`call()` until it returns, retrying (after a jittered wait) what `retry_if` accepts,
    at most `policy.attempts` tries in all; the last failure is raised as it is."""
    for attempt in range(policy.attempts):
        try:
            return call()
        except Exception as exc:
            if attempt + 1 >= policy.attempts or not retry_if(exc):
                raise
            if on_retry is not None:
                on_retry(exc)
            sleep(policy.delay(attempt, rand))
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class Failure:
    """A botocore error, classified. kind: throttled, no-such-bucket, denied, refused
    (any other error answer), no-credentials, no-region, unreachable, failed."""

    kind: str
    code: str  # the error code, else the HTTP status, else the exception's class name
    message: str


def classify(exc: BaseException) -> Failure:
    from botocore.exceptions import (
        ClientError,
        EndpointConnectionError,
        NoCredentialsError,
        NoRegionError,
    )

    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        code = str(err.get("Code") or status or "error")
        message = str(err.get("Message", "")).strip()
        if code in THROTTLE_CODES:
            kind = "throttled"
        elif code == "NoSuchBucket" or status == 404 and code in ("404", "NotFound"):
            kind = "no-such-bucket"
        elif code in _DENIED or status == 403:
            kind = "denied"
        else:
            kind = "refused"
        return Failure(kind, code, message)
    name = type(exc).__name__
    if isinstance(exc, NoCredentialsError):
        return Failure("no-credentials", name, NO_CREDENTIALS)
    if isinstance(exc, NoRegionError):
        return Failure("no-region", name, NO_REGION)
    if isinstance(exc, EndpointConnectionError):
        return Failure("unreachable", name, str(exc))
    return Failure("failed", name, str(exc))


def is_throttled(exc: BaseException) -> bool:
    from botocore.exceptions import ClientError

    return isinstance(exc, ClientError) and classify(exc).kind == "throttled"


def aws_error(
    exc: BaseException, where: str, cls: type[AuditorError] = SourceError, hint: str = ""
) -> AuditorError:
    """One line naming `where` and what AWS said. Missing credentials or region are
    settings (ConfigError, unless `cls` is a SourceError); the rest is `cls`."""
    f = classify(exc)
    if f.kind in ("no-credentials", "no-region"):
        setting_cls = cls if issubclass(cls, (ConfigError, SourceError)) else ConfigError
        return setting_cls(f"{where}: {f.message}")
    if f.kind == "no-such-bucket":
        detail = "no such bucket"
    elif f.kind == "denied":
        detail = f"access denied ({f.code})" + (
            f"; {hint}" if hint else f": {f.message}" if f.message else ""
        )
    elif f.kind in ("refused", "throttled"):
        detail = f"refused: {f.code}" + (f": {f.message}" if f.message else "")
    else:
        detail = f"failed: {f.code}: {f.message}"
    return cls(f"{where}: {detail}")
