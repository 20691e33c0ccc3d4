"""The exemptions file (`--exemptions PATH`): expected attempts, allowed with a reason.

    [[exemption]]
    id = "ci-bootstrap"                              # required, unique
    principal = "arn:aws:iam::111122223333:role/ci-*"  # glob (fnmatch, case-sensitive)
    account = "111122223333"                         # the account the call was made in
    user_agent = "*Terraform/*"                      # glob
    source_cidr = "10.0.0.0/8"                       # the caller's IP address is inside
    reason = "pipeline creates the agent before its grant"   # required
    owner = "platform-team"                          # required
    ticket = "SEC-1234"                              # required
    starts = 2025-01-01                              # optional: first day it applies
    expires = 2026-12-31                             # required: last day it applies

An entry needs at least one match field; it matches an attempt when every field it
gives matches (`principal` against the grouping principal or the identity ARN as
logged; `source_cidr` only against a single IP address, never a service name). Its
window is `starts`..`expires`, both inclusive UTC days, judged against the attempt's
eventTime, not the report's date: a backfill over last year honours an entry that was
valid then. An attempt is suppressed by the first entry in file order that matches it
and whose window holds its day: it moves to the report's Suppressed section with that
entry's id, it never vanishes. An attempt an entry matches outside its window is
reported, named with that entry (`outside_window_of`) and counted on it. An entry whose
`expires` is before the report's date is flagged as expired (stale), but that no
longer decides what it suppresses. Loading is the only I/O here; matching is pure.
"""

from __future__ import annotations

import ipaddress
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from auditor.errors import ConfigError
from auditor.model import Event, ExemptionStatus

MATCH_FIELDS = ("principal", "account", "user_agent", "source_cidr")
REQUIRED = ("id", "reason", "owner", "ticket", "expires")
OPTIONAL = ("starts",)
KNOWN = frozenset(MATCH_FIELDS + REQUIRED + OPTIONAL)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class Exemption:
    id: str
    reason: str
    owner: str
    ticket: str
    expires: date
    principal: str | None = None
    account: str | None = None
    user_agent: str | None = None
    source_cidr: str | None = None
    network: Network | None = None
    starts: date | None = None  # first day it applies; None: from the beginning

    def expired(self, today: date) -> bool:
        """Stale: its last day is before the report's date (flagged; decides nothing)."""
        return self.expires < today

    def covers(self, day: date | None) -> bool:
        """The attempt's UTC day is inside the window (an unreadable time never is)."""
        return (
            day is not None and day <= self.expires and (self.starts is None or self.starts <= day)
        )

    def matches(self, e: Event) -> bool:
        if self.principal is not None and not (
            fnmatchcase(e.principal, self.principal)
            or (e.identity_arn is not None and fnmatchcase(e.identity_arn, self.principal))
        ):
            return False
        if self.account is not None and e.account_id != self.account:
            return False
        if self.user_agent is not None and (
            e.user_agent is None or not fnmatchcase(e.user_agent, self.user_agent)
        ):
            return False
        if self.network is not None and not _in_network(e.source_ip, self.network):
            return False
        return True

    def status(self, today: date, suppressed: int, outside: int) -> ExemptionStatus:
        return ExemptionStatus(
            id=self.id,
            reason=self.reason,
            owner=self.owner,
            ticket=self.ticket,
            expires=self.expires.isoformat(),
            expired=self.expired(today),
            matched=suppressed + outside,
            principal=self.principal,
            account=self.account,
            user_agent=self.user_agent,
            source_cidr=self.source_cidr,
            starts=self.starts.isoformat() if self.starts else None,
            suppressed=suppressed,
            outside_window=outside,
        )


def event_day(e: Event) -> date | None:
    """The UTC day of an attempt's eventTime (`2025-03-04T10:00:00Z` -> 2025-03-04)."""
    try:
        return date.fromisoformat(e.event_time[:10])
    except (TypeError, ValueError):
        return None


def _in_network(ip: str | None, net: Network) -> bool:
    try:
        return ip is not None and ipaddress.ip_address(ip.strip()) in net
    except ValueError:  # "AWS Internal", a service name, a comma list, "redacted"
        return False


def _entry(raw: Any, n: int, where: str) -> Exemption:
    label = f"{where}: exemption #{n}"
    if not isinstance(raw, dict):
        raise ConfigError(f"{label} is not a table")
    if isinstance(raw.get("id"), str):
        label += f" ({raw['id']!r})"
    unknown = sorted(set(raw) - KNOWN)
    if unknown:
        raise ConfigError(
            f"{label}: unknown key(s) {', '.join(map(repr, unknown))} "
            f"(known: {', '.join(MATCH_FIELDS + REQUIRED + OPTIONAL)})"
        )
    for key in REQUIRED:
        if key not in raw:
            raise ConfigError(f"{label}: {key} is required")
    for key in (*REQUIRED[:-1], *MATCH_FIELDS):
        if key in raw and (not isinstance(raw[key], str) or not raw[key].strip()):
            raise ConfigError(f"{label}: {key} must be a non-empty string")
    if not any(k in raw for k in MATCH_FIELDS):
        raise ConfigError(f"{label}: give at least one of {', '.join(MATCH_FIELDS)}")
    expires = _day(raw["expires"], "expires", label)
    starts = _day(raw["starts"], "starts", label) if "starts" in raw else None
    if starts is not None and starts > expires:
        raise ConfigError(f"{label}: starts {starts} is after expires {expires}")
    network = None
    if "source_cidr" in raw:
        try:
            network = ipaddress.ip_network(raw["source_cidr"].strip(), strict=False)
        except ValueError:
            raise ConfigError(
                f"{label}: source_cidr {raw['source_cidr']!r} is not an IP "
                f"network (e.g. 10.0.0.0/8)"
            ) from None
    return Exemption(
        id=raw["id"].strip(),
        reason=raw["reason"],
        owner=raw["owner"],
        ticket=raw["ticket"],
        expires=expires,
        principal=raw.get("principal"),
        account=raw.get("account"),
        user_agent=raw.get("user_agent"),
        source_cidr=raw.get("source_cidr"),
        network=network,
        starts=starts,
    )


def _day(value: Any, key: str, label: str) -> date:
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value.strip())
        except ValueError:
            raise ConfigError(f"{label}: {key} {value!r} is not a date YYYY-MM-DD") from None
    if isinstance(value, datetime) or not isinstance(value, date):
        raise ConfigError(f"{label}: {key} must be a date YYYY-MM-DD, not {value!r}")
    return value


def parse(text: str, where: str = "exemptions file") -> tuple[Exemption, ...]:
    """The entries of an exemptions file; any problem is one ConfigError line."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where}: not valid TOML: {exc}") from None
    extra = sorted(set(doc) - {"exemption"})
    if extra:
        raise ConfigError(
            f"{where}: unknown top-level key(s) {', '.join(map(repr, extra))}; "
            f"write entries as [[exemption]] tables"
        )
    raw = doc.get("exemption", [])
    if not isinstance(raw, list):
        raise ConfigError(f"{where}: write entries as [[exemption]] tables")
    entries = tuple(_entry(r, i, where) for i, r in enumerate(raw, start=1))
    seen: set[str] = set()
    for e in entries:
        if e.id in seen:
            raise ConfigError(f"{where}: exemption id {e.id!r} is used twice")
        seen.add(e.id)
    return entries


def load(path: Path | None) -> tuple[Exemption, ...]:
    if path is None:
        return ()
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ConfigError(f"exemptions file {path}: cannot read: {why}") from None
    return parse(text, f"exemptions file {path}")


def apply(
    events: Iterable[Event], exemptions: Sequence[Exemption], today: date
) -> tuple[list[Event], tuple[ExemptionStatus, ...]]:
    """Mark each event with the first entry (file order) that matches it and whose window
    holds its eventTime (`suppressed_by`). An event no entry suppressed but some entry
    matched outside its window stays reported, named with the first such entry
    (`outside_window_of`). Every entry is reported with its counts: attempts it
    suppressed, and reported attempts it matched outside its window. `today` (the report's
    date) only says which entries are stale."""
    suppressed = {x.id: 0 for x in exemptions}
    outside = {x.id: 0 for x in exemptions}
    out: list[Event] = []
    for e in events:
        day = event_day(e)
        matching = [x for x in exemptions if x.matches(e)]
        hit = next((x for x in matching if x.covers(day)), None)
        if hit is not None:
            suppressed[hit.id] += 1
            e = replace(e, suppressed_by=hit.id)
        elif matching:
            for x in matching:
                outside[x.id] += 1
            e = replace(e, outside_window_of=matching[0].id)
        out.append(e)
    return out, tuple(x.status(today, suppressed[x.id], outside[x.id]) for x in exemptions)
