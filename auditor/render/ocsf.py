"""report.ocsf.json: one OCSF Detection Finding (class_uid 2004) per finding (principal x
target account), for AWS Security Hub and Amazon Security Lake.

Built with py-ocsf-models (Prowler's pydantic models of the OCSF schema), so every object
is validated against the schema as it is made. It is the `ocsf` extra
(`pip install 'auditor[ocsf]'`) and imported only when `--format ocsf` asks for it: the
local audit path does not load pydantic.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from auditor.errors import RenderError
from auditor.model import Finding, Report

SEVERITY_IDS = {"low": 2, "medium": 3, "high": 4}  # OCSF severity_id: Low, Medium, High


def _ms(iso: str | None) -> int | None:
    """OCSF timestamp_t: milliseconds since the epoch (None if `iso` is not a time)."""
    try:
        t = datetime.fromisoformat((iso or "").replace("Z", "+00:00"))
    except ValueError:
        return None
    return int((t if t.tzinfo else t.replace(tzinfo=UTC)).timestamp() * 1000)


def _dt(ms: int | None) -> datetime | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, UTC)


def _attack(tactic: str, technique: str) -> Any:
    from py_ocsf_models.objects.mitre_attack import MITREAttack, Tactic, Technique

    t_uid, _, t_name = tactic.partition(" ")
    q_uid, _, q_name = technique.partition(" ")
    return MITREAttack(
        tactic=Tactic(uid=t_uid, name=t_name or None),
        technique=Technique(uid=q_uid, name=q_name or q_uid),
    )


def detection_finding(report: Report, f: Finding) -> Any:
    """The py_ocsf_models DetectionFinding of one finding."""
    from py_ocsf_models import OCSF_VERSION
    from py_ocsf_models.events.findings.activity_id import ActivityID
    from py_ocsf_models.events.findings.detection_finding import DetectionFinding
    from py_ocsf_models.events.findings.detection_finding_type_id import (
        DetectionFindingTypeID,
    )
    from py_ocsf_models.events.findings.severity_id import SeverityID
    from py_ocsf_models.events.findings.status_id import StatusID
    from py_ocsf_models.objects.account import Account, TypeID
    from py_ocsf_models.objects.analytic import Analytic
    from py_ocsf_models.objects.cloud import Cloud
    from py_ocsf_models.objects.finding_info import FindingInformation
    from py_ocsf_models.objects.metadata import Metadata
    from py_ocsf_models.objects.observable import Observable
    from py_ocsf_models.objects.observable import TypeID as ObservableType
    from py_ocsf_models.objects.product import Product
    from py_ocsf_models.objects.remediation import Remediation
    from py_ocsf_models.objects.resource_details import ResourceDetails

    rule, prov = report.rule, report.provenance
    first, last = _ms(f.first_seen), _ms(f.last_seen)
    made = _ms(prov.generated_at) or last or 0  # `time` is required
    actions = ", ".join(f"{n} {a}" for a, n in f.actions.items())
    region = f.regions[0] if f.regions else None
    resources = [
        ResourceDetails(uid=arn, type="Bedrock resource", region=region, cloud_partition="aws")
        for arn in f.resources
    ] or [ResourceDetails(uid=f.account_id, type="AWS account", cloud_partition="aws")]
    observables = [
        Observable(name="principal", type_id=ObservableType.Resource_UID, value=f.principal)
    ]
    observables += [
        Observable(name="source_ip", type_id=ObservableType.IP_Address, value=ip)
        for ip in f.source_ips
    ]
    return DetectionFinding(
        metadata=Metadata(
            uid=f.id,
            event_code=rule.id,
            product=Product(name="auditor", vendor_name="auditor", version=prov.tool_version),
            profiles=["cloud"],
            version=OCSF_VERSION,
            logged_time=_dt(made),
        ),
        activity_id=ActivityID.Create,
        activity_name="Create",
        type_uid=DetectionFindingTypeID.Create,
        type_name="Detection Finding: Create",
        severity_id=SeverityID(SEVERITY_IDS.get(f.severity, 99)),
        severity=f.severity.capitalize(),
        status_id=StatusID.New,
        status="New",
        time=made,
        time_dt=_dt(made),
        start_time=first,
        start_time_dt=_dt(first),
        end_time=last,
        end_time_dt=_dt(last),
        count=f.attempts,
        message=(
            f"{f.attempts} denied attempt{'s' if f.attempts != 1 else ''} ({actions}) by "
            f"{f.principal} against account {f.account_id}"
        ),
        finding_info=FindingInformation(
            uid=f.id,
            title=rule.name,
            desc="; ".join(f.reasons) or f"rule default severity ({rule.severity})",
            types=["Unauthorized resource-based policy modification attempt"],
            data_sources=["AWS CloudTrail"],
            first_seen_time=first,
            last_seen_time=last,
            analytic=Analytic(name=rule.name, uid=rule.id, type="Rule", type_id=1),
            attacks=[_attack(rule.mitre_tactic, rule.mitre_technique)],
        ),
        cloud=Cloud(
            provider="AWS",
            region=region,
            account=Account(
                uid=f.account_id, name=f.account_id, type="AWS Account", type_id=TypeID.AWS_Account
            ),
        ),
        resources=resources,
        observables=observables,
        risk_score=rule.risk_score,
        remediation=Remediation(
            desc=(
                "Find out who or what made the attempt and why; if it was not expected, "
                "review the principal's credentials and the Bedrock resource's policy."
            ),
            references=list(rule.references),
        ),
        unmapped={
            "principal": f.principal,
            "principal_type": f.principal_type,
            "caller_account_id": f.caller_account_id,
            "cross_account": f.cross_account,
            "actions": f.actions,
            "error_codes": f.error_codes,
            "regions": list(f.regions),
            "user_agents": list(f.user_agents),
            "access_key_ids": list(f.access_key_ids),
            "sessions": f.sessions,
            "later_success": f.later_success,
            "policy_wildcard": f.policy.wildcard,
            "policy_external_accounts": list(f.policy.external_accounts),
            "policy_missing_org_condition": f.policy.missing_org_condition,
            "range": {"start": report.range_start, "end": report.range_end},
        },
    )


def to_list(report: Report) -> list[dict[str, Any]]:
    try:
        import py_ocsf_models  # noqa: F401
    except ImportError:
        raise RenderError(
            "--format ocsf needs the ocsf extra: pip install 'auditor[ocsf]' (py-ocsf-models)"
        ) from None
    out = []
    for f in report.findings:
        obj = detection_finding(report, f)
        out.append(json.loads(obj.model_dump_json(exclude_none=True)))
    return out


def render(report: Report) -> str:
    """A JSON array of Detection Findings, one per (active) finding."""
    return json.dumps(to_list(report), indent=2, ensure_ascii=False) + "\n"
