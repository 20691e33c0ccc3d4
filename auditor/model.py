"""The Report model: frozen dataclasses that every renderer reads.

Engines produce rows; `aggregate.build_report` turns rows into a `Report`; renderers
see only the `Report`. `report_json` is the versioned, documented serialisation of it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Rule:
    """What a report says about the rule it ran: read from the rule folder's rule.toml
    (auditor.rule, which also holds the rest of the rule: queries, guide, id prefix)."""

    id: str
    name: str
    severity: str
    risk_score: int
    mitre_tactic: str
    mitre_technique: str
    references: tuple[str, ...] = ()


# The account of a record that names none (no recipientAccountId): shown and counted,
# never taken for a cross-account attempt or for the owner of a resource.
UNKNOWN_ACCOUNT = "unknown"


@dataclass(frozen=True)
class Event:
    """One attempt, as the rule's main query returns it (already rule-matched)."""

    event_id: str
    event_time: str  # ISO-8601 UTC with Z, as CloudTrail wrote it
    account_id: str  # recipientAccountId: the account the call was made against, or UNKNOWN_ACCOUNT
    region: str
    action: str  # PutResourcePolicy | DeleteResourcePolicy
    error_code: str
    error_message: str | None
    principal: str  # grouping key (role ARN for assumed roles; see sql/macros/common.sql)
    principal_type: str
    caller_account_id: str | None  # userIdentity.accountId
    identity_arn: str | None  # userIdentity.arn as logged (a session ARN for roles)
    session: str | None  # userIdentity.principalId (role sessions group under one role)
    access_key_id: str | None
    source_ip: str | None
    user_agent: str | None
    resource: str | None  # requestParameters.resourceArn, else parsed from errorMessage
    request_parameters: str | None  # JSON text, attacker-controlled
    source_file: str | None = None
    # exemption id (or "below --min-attempts N") when this attempt is suppressed
    suppressed_by: str | None = None
    # a reported attempt: the first exemption that matched it but whose window
    # (starts..expires) does not hold its eventTime
    outside_window_of: str | None = None
    # the id of the finding (reported or suppressed) this attempt is in, set by
    # aggregation; None only in a report.json written before events carried it
    finding_id: str | None = None


@dataclass(frozen=True)
class PolicyPrincipal:
    """A principal named in an attempted resource policy."""

    value: str
    # wildcard | external-account | org-account | own-account | federated | service | other
    kind: str
    account_id: str | None = None


@dataclass(frozen=True)
class PolicyAnalysis:
    """What the attempted policies of a finding would have granted."""

    principals: tuple[PolicyPrincipal, ...] = ()
    wildcard: bool = False
    external_accounts: tuple[str, ...] = ()
    missing_org_condition: bool = False
    unparsable: int = 0  # attempts whose policy text was redacted or invalid


@dataclass(frozen=True)
class DenialCount:
    service: str
    action: str
    error_code: str
    count: int


@dataclass(frozen=True)
class Finding:
    id: str  # stable: <rule's finding_prefix>-sha256(rule id, account, principal)
    account_id: str
    principal: str
    principal_type: str
    caller_account_id: str | None
    cross_account: bool
    attempts: int
    actions: dict[str, int]
    error_codes: dict[str, int]
    first_seen: str
    last_seen: str
    source_ips: tuple[str, ...]
    user_agents: tuple[str, ...]
    resources: tuple[str, ...]
    sessions: int
    access_key_ids: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    severity: str = "low"
    reasons: tuple[str, ...] = ()
    policy: PolicyAnalysis = field(default_factory=PolicyAnalysis)
    later_success: str | None = None  # eventTime of the first later successful change
    other_denials: tuple[DenialCount, ...] = ()
    suppressed_by: str | None = None  # exemption id that matched


@dataclass(frozen=True)
class ExemptionStatus:
    """One entry of the exemptions file and what it did in this audit."""

    id: str
    reason: str
    owner: str
    ticket: str
    expires: str  # YYYY-MM-DD, last day the entry applies
    expired: bool  # expires < the report's date: stale, flagged (does not decide suppression)
    matched: int = 0  # suppressed + outside_window
    principal: str | None = None  # the match fields, as written
    account: str | None = None
    user_agent: str | None = None
    source_cidr: str | None = None
    starts: str | None = None  # YYYY-MM-DD, first day the entry applies; None: no start
    suppressed: int = 0  # attempts it matched inside its window and suppressed (first entry wins)
    outside_window: int = 0  # attempts it matched outside its window that stay reported


@dataclass(frozen=True)
class Unreadable:
    path: str
    reason: str


@dataclass(frozen=True)
class FailedQuery:
    """A query (of one backfill chunk, when split) that did not give its rows.

    One typed key for every engine and renderer: `query` is the query's name as in
    its rule's queries.toml, `chunk` the backfill chunk ("2026-10") or None for the whole range.
    `reason` is the engine's own words (Athena's StateChangeReason), kept whole."""

    query: str
    chunk: str | None
    reason: str
    query_id: str | None = None
    state: str | None = None  # FAILED | CANCELLED | UNKNOWN (stop refused: ...) | ...

    @property
    def key(self) -> str:
        return f"{self.chunk}/{self.query}" if self.chunk else self.query


@dataclass(frozen=True)
class Gap:
    """Days in the range for which an account/region has no log file at all."""

    account_id: str
    region: str
    start: str  # YYYY-MM-DD
    end: str  # YYYY-MM-DD, inclusive
    days: int


@dataclass(frozen=True)
class Shortfall:
    """One reason the audit did not read everything it was asked to, beyond a named
    unreadable file or failed query: coverage is incomplete while any is present.

    kind is one of SHORTFALL_KINDS; detail is one line naming what and why."""

    kind: str
    detail: str


# The kinds of shortfall (docs/report-schema.md explains each).
SHORTFALL_KINDS = (
    "nothing-read",  # the audit read no log file / Athena scanned nothing
    "missing-scope",  # an --account/--region asked for has no folder
    "unlisted",  # a folder that could not be listed (permissions, I/O)
    "not-delivered",  # the range reaches into CloudTrail's delivery lag (or the future)
    "other-trail",  # an AWSLogs/ folder deeper under the source, not read
    "saved-state",  # a saved chunk that did not verify and failed again, or lacks its check
    "limit",  # a file or record past a size limit
    "other",
)


@dataclass(frozen=True)
class StoredDays:
    """A run of consecutive day folders of an account/region read from the events
    store (`--store`) rather than from the trail."""

    account_id: str
    region: str
    start: str  # YYYY-MM-DD, the delivery folder's day
    end: str  # YYYY-MM-DD, inclusive
    days: int


@dataclass(frozen=True)
class Coverage:
    files_scanned: int = 0
    records_scanned: int = 0
    bytes_scanned: int = 0  # compressed bytes read (local) or DataScannedInBytes (Athena)
    files_unreadable: int = 0
    unreadable: tuple[Unreadable, ...] = ()
    files_skipped: int = 0  # stray files in day folders that are not log files
    gaps: tuple[Gap, ...] = ()
    accounts: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    failed_queries: tuple[FailedQuery, ...] = ()
    shortfalls: tuple[Shortfall, ...] = ()  # what else was not read, and why
    # what the reader should know that does not make coverage incomplete (e.g. a saved
    # backfill chunk that did not verify and was rerun)
    notes: tuple[str, ...] = ()
    # --store: day folders (and their log files) read from the events store, not the
    # trail; files_scanned/records_scanned/bytes_scanned count them too
    from_store_days: int = 0
    from_store_files: int = 0
    from_store: tuple[StoredDays, ...] = ()

    @property
    def complete(self) -> bool:
        return not self.unreadable and not self.failed_queries and not self.shortfalls


@dataclass(frozen=True)
class QueryRecord:
    name: str
    engine: str
    sql: str  # exactly as sent (placeholders kept)
    parameters: tuple[str, ...] = ()
    query_id: str | None = None
    state: str = "SUCCEEDED"
    data_scanned_bytes: int | None = None
    engine_ms: int | None = None
    cost_usd: float | None = None
    rows: int = 0
    chunk: str | None = None  # backfill chunk ("2026-10") when split
    from_saved_state: bool = False  # read back from --resume state, not run in this audit


@dataclass(frozen=True)
class S3Calls:
    """Requests an audit made to S3 for its source: ListObjectsV2 (discovery) and
    GetObject (reading log files: every attempt, retries included; none for a file the
    --cache held), and the bytes those GETs brought back."""

    list_calls: int = 0
    get_calls: int = 0
    get_bytes: int = 0


@dataclass(frozen=True)
class Provenance:
    tool_version: str
    generated_at: str
    queries: tuple[QueryRecord, ...] = ()
    command: str | None = None
    config: dict[str, str] = field(default_factory=dict)
    input_fingerprint: str | None = None
    estimated_scan_bytes: int | None = None
    s3_calls: S3Calls | None = None  # an s3:// source read by the local engine

    @property
    def total_cost_usd(self) -> float:
        return round(sum(q.cost_usd or 0.0 for q in self.queries), 6)

    @property
    def total_scanned_bytes(self) -> int:
        return sum(q.data_scanned_bytes or 0 for q in self.queries)


@dataclass(frozen=True)
class Totals:
    attempts: int
    principals: int
    accounts: int
    cross_account_attempts: int = 0
    suppressed_attempts: int = 0


@dataclass(frozen=True)
class Report:
    rule: Rule
    range_start: str  # 2026-10-01T00:00:00Z
    range_end: str  # exclusive: 2026-11-01T00:00:00Z
    engine: str
    totals: Totals
    findings: tuple[Finding, ...]
    events: tuple[Event, ...]
    coverage: Coverage
    provenance: Provenance
    suppressed: tuple[Finding, ...] = ()
    exemptions: tuple[ExemptionStatus, ...] = ()  # every entry of --exemptions, in file order
    schema_version: int = SCHEMA_VERSION
