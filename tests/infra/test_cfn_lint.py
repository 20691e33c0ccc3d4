"""Checks on infra/auditor.yaml: cfn-lint is clean, and the properties a security
reviewer relies on (private encrypted results bucket, TLS-only bucket policy,
enforced workgroup with a scan cutoff, least-privilege IAM, CloudTrail table
shape) are still there.

The template is parsed with cfn-lint's own decoder, which turns short-form tags
(!Sub, !If, ...) into their long forms. A small evaluator below resolves the
intrinsic functions the template uses, so resource ARNs and the partition
projection location can be checked for concrete parameter values.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode import decode

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "infra" / "auditor.yaml"

ACCOUNT = "111122223333"
REGION = "eu-west-1"
RESULTS_BUCKET = "auditor-resultsbucket-abc123"
KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"

BASE_PARAMS = {
    "TrailBucket": "trail-bucket",
    "TrailPrefix": "",
    "OrganizationId": "",
    "AccountIds": ["111122223333", "444455556666"],
    "Regions": ["us-east-1", "eu-west-1"],
    "ProjectionStartDate": "2024/01/01",
    "TrailKmsKeyArn": "",
}

# Actions the managed policy may allow, and nothing else. Adding one is a
# security-relevant change: update this list (and docs/aws-setup.md) on purpose.
ALLOWED_ACTIONS = {
    "athena:StartQueryExecution",
    "athena:GetQueryExecution",
    "athena:GetQueryResults",
    "athena:StopQueryExecution",
    "athena:GetWorkGroup",
    "glue:GetDatabase",
    "glue:GetTable",
    "glue:GetPartitions",
    # one read of the trail per audit: the auditor_tmp_* candidate tables only
    "glue:CreateTable",
    "glue:DeleteTable",
    "glue:GetTables",
    # the materialized table (auditor materialize): its partitions, for Athena's INSERT
    "glue:GetPartition",
    "glue:BatchCreatePartition",
    "glue:DeletePartition",
    "s3:DeleteObject",
    "s3:GetObject",
    "s3:PutObject",
    "s3:AbortMultipartUpload",
    "s3:ListMultipartUploadParts",
    "s3:ListBucket",
    "s3:ListBucketMultipartUploads",
    "s3:GetBucketLocation",
    "kms:Decrypt",
}

TEMP_TABLES = f"arn:aws:glue:{REGION}:{ACCOUNT}:table/cloudtrail/auditor_tmp_*"
TEMP_OBJECTS = {
    f"arn:aws:s3:::{RESULTS_BUCKET}/athena-results/tables/*",
    f"arn:aws:s3:::{RESULTS_BUCKET}/athena-results/auditor-tmp/*",
}
TEMP_RESOURCES = {TEMP_TABLES} | TEMP_OBJECTS
MAT_TABLE = f"arn:aws:glue:{REGION}:{ACCOUNT}:table/cloudtrail/auditor_events"
MAT_OBJECTS = f"arn:aws:s3:::{RESULTS_BUCKET}/auditor-materialized/auditor_events/*"

EXPECTED_COLUMNS = [
    ("eventversion", "string"),
    (
        "useridentity",
        "struct<type:string,principalid:string,arn:string,accountid:string,"
        "invokedby:string,accesskeyid:string,username:string,"
        "onbehalfof:struct<userid:string,identitystorearn:string>,"
        "sessioncontext:struct<attributes:struct<mfaauthenticated:string,creationdate:string>,"
        "sessionissuer:struct<type:string,principalid:string,arn:string,accountid:string,"
        "username:string>,"
        "ec2roledelivery:string,"
        "webidfederationdata:struct<federatedprovider:string,attributes:map<string,string>>>>",
    ),
    ("eventtime", "string"),
    ("eventsource", "string"),
    ("eventname", "string"),
    ("awsregion", "string"),
    ("sourceipaddress", "string"),
    ("useragent", "string"),
    ("errorcode", "string"),
    ("errormessage", "string"),
    ("requestparameters", "string"),
    ("responseelements", "string"),
    ("additionaleventdata", "string"),
    ("requestid", "string"),
    ("eventid", "string"),
    ("readonly", "string"),
    ("resources", "array<struct<arn:string,accountid:string,type:string>>"),
    ("eventtype", "string"),
    ("apiversion", "string"),
    ("recipientaccountid", "string"),
    ("serviceeventdetails", "string"),
    ("sharedeventid", "string"),
    ("vpcendpointid", "string"),
    ("vpcendpointaccountid", "string"),
    ("eventcategory", "string"),
    (
        "addendum",
        "struct<reason:string,updatedfields:string,originalrequestid:string,"
        "originaleventid:string>",
    ),
    ("sessioncredentialfromconsole", "string"),
    ("edgedevicedetails", "string"),
    ("tlsdetails", "struct<tlsversion:string,ciphersuite:string,clientprovidedhostheader:string>"),
]


# --------------------------------------------------------------------------- helpers


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    tpl, matches = decode(str(TEMPLATE))
    assert not matches, [str(m) for m in matches]
    assert isinstance(tpl, dict)
    return tpl


def resources_of_type(tpl: dict, type_: str) -> dict[str, dict]:
    found = {k: v for k, v in tpl["Resources"].items() if v["Type"] == type_}
    assert found, f"no {type_} in template"
    return found


def one_resource(tpl: dict, type_: str) -> tuple[str, dict]:
    found = resources_of_type(tpl, type_)
    assert len(found) == 1, f"expected one {type_}, got {sorted(found)}"
    return next(iter(found.items()))


def as_list(x: Any) -> list:
    return x if isinstance(x, list) else [x]


class _NoValue:
    pass


NO_VALUE = _NoValue()


class Evaluator:
    """Resolves the intrinsic functions used by the template for given parameters."""

    def __init__(self, tpl: dict, params: dict[str, Any]):
        self.tpl = tpl
        self.params: dict[str, Any] = {}
        for name, spec in tpl["Parameters"].items():
            value = params.get(name, spec.get("Default"))
            assert value is not None, f"parameter {name} needs a value"
            if spec["Type"] == "CommaDelimitedList" and isinstance(value, str):
                value = value.split(",")
            self.params[name] = value
        self.params.update(
            {
                "AWS::Partition": "aws",
                "AWS::Region": REGION,
                "AWS::AccountId": ACCOUNT,
                "AWS::StackName": "auditor",
                "AWS::NoValue": NO_VALUE,
            }
        )
        self.refs = {
            "ResultsBucket": RESULTS_BUCKET,
            "CloudTrailDatabase": self.params["DatabaseName"],
            "CloudTrailTable": self.params["TableName"],
            "AuditorWorkGroup": self.params["WorkgroupName"],
            "AuditorPolicy": f"arn:aws:iam::{ACCOUNT}:policy/auditor-auditor-{REGION}",
        }
        self.attrs = {("ResultsBucket", "Arn"): f"arn:aws:s3:::{RESULTS_BUCKET}"}

    def condition(self, name: str) -> bool:
        return bool(self.eval(self.tpl["Conditions"][name]))

    def ref(self, name: str) -> Any:
        if name in self.params:
            return self.params[name]
        if name in self.refs:
            return self.refs[name]
        raise KeyError(f"Ref to unknown {name}")

    def getatt(self, res: str, attr: str) -> Any:
        return self.attrs[(res, attr)]

    def sub(self, text: str, variables: dict[str, Any]) -> str:
        def repl(m: re.Match) -> str:
            inner = m.group(1)
            if inner.startswith("!"):
                return "${" + inner[1:] + "}"
            if inner in variables:
                return str(variables[inner])
            if "." in inner and not inner.startswith("AWS::"):
                res, attr = inner.split(".", 1)
                return str(self.getatt(res, attr))
            return str(self.ref(inner))

        return re.sub(r"\$\{([^}]+)\}", repl, text)

    def eval(self, node: Any) -> Any:
        if isinstance(node, list):
            out = [self.eval(x) for x in node]
            return [x for x in out if x is not NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            [(key, arg)] = node.items()
            if key == "Ref":
                return self.ref(arg)
            if key == "Fn::GetAtt":
                res, attr = arg if isinstance(arg, list) else arg.split(".", 1)
                return self.getatt(res, attr)
            if key == "Fn::Sub":
                if isinstance(arg, str):
                    return self.sub(arg, {})
                text, variables = arg
                return self.sub(text, {k: self.eval(v) for k, v in variables.items()})
            if key == "Fn::Join":
                sep, items = arg
                return sep.join(str(x) for x in as_list(self.eval(items)))
            if key == "Fn::If":
                cond, yes, no = arg
                return self.eval(yes if self.condition(cond) else no)
            if key == "Fn::Equals":
                a, b = (self.eval(x) for x in arg)
                return str(a) == str(b)
            if key == "Fn::Not":
                return not self.eval(arg[0])
            if key == "Condition":
                return self.condition(arg)
            assert not key.startswith("Fn::"), f"evaluator does not know {key}"
        out = {k: self.eval(v) for k, v in node.items()}
        return {k: v for k, v in out.items() if v is not NO_VALUE}


def policy_statements(tpl: dict, params: dict[str, Any]) -> list[dict]:
    _, policy = one_resource(tpl, "AWS::IAM::ManagedPolicy")
    doc = Evaluator(tpl, params).eval(policy["Properties"]["PolicyDocument"])
    return as_list(doc["Statement"])


# --------------------------------------------------------------------------- cfn-lint


def test_cfn_lint_reports_nothing():
    # `python -m cfnlint` has no __main__; call the console-script entry point.
    code = (
        "import sys\n"
        "from cfnlint.runner import main\n"
        "sys.argv = ['cfn-lint'] + sys.argv[1:]\n"
        "sys.exit(main())\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, "--format", "parseable", "--", str(TEMPLATE)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.strip() == "", proc.stdout


# --------------------------------------------------------------------------- parameters


def test_parameters_and_defaults(template):
    params = template["Parameters"]
    for name in (
        "TrailBucket",
        "TrailPrefix",
        "OrganizationId",
        "AccountIds",
        "Regions",
        "ProjectionStartDate",
        "DatabaseName",
        "TableName",
        "WorkgroupName",
        "BytesScannedCutoffPerQuery",
        "ResultsExpirationDays",
    ):
        assert name in params, name
    assert params["AccountIds"]["Type"] == "CommaDelimitedList"
    assert params["Regions"]["Type"] == "CommaDelimitedList"
    assert params["TrailPrefix"]["Default"] == ""
    assert params["OrganizationId"]["Default"] == ""
    assert params["DatabaseName"]["Default"] == "cloudtrail"
    assert params["TableName"]["Default"] == "cloudtrail_logs"
    assert params["WorkgroupName"]["Default"] == "auditor"
    assert int(params["ResultsExpirationDays"]["Default"]) == 30
    cutoff = params["BytesScannedCutoffPerQuery"]
    assert int(cutoff["MinValue"]) == 10_000_000
    assert 10_000_000 <= int(cutoff["Default"]) <= 10**13
    assert re.fullmatch(params["ProjectionStartDate"]["AllowedPattern"], "2024/01/31")
    assert not re.fullmatch(params["ProjectionStartDate"]["AllowedPattern"], "2024-01-31")


# --------------------------------------------------------------------------- results bucket


def test_results_bucket_is_private_encrypted_and_expiring(template):
    _, bucket = one_resource(template, "AWS::S3::Bucket")
    props = bucket["Properties"]
    pab = props["PublicAccessBlockConfiguration"]
    flags = ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets")
    for flag in flags:
        assert pab.get(flag) is True, flag
    rules = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    algos = {r["ServerSideEncryptionByDefault"]["SSEAlgorithm"] for r in rules}
    assert algos and algos <= {"AES256", "aws:kms"}
    assert props["OwnershipControls"]["Rules"][0]["ObjectOwnership"] == "BucketOwnerEnforced"
    lifecycle = props["LifecycleConfiguration"]["Rules"]
    expiring = [r for r in lifecycle if r.get("Status") == "Enabled" and "ExpirationInDays" in r]
    assert expiring and expiring[0]["ExpirationInDays"] == {"Ref": "ResultsExpirationDays"}
    # query results expire in days; the materialized table's objects on their own clock
    assert [(r["Prefix"], r["ExpirationInDays"]) for r in expiring] == [
        ("athena-results/", {"Ref": "ResultsExpirationDays"}),
        ("auditor-materialized/", {"Ref": "MaterializedExpirationDays"}),
    ]
    assert "BucketName" not in props  # CloudFormation picks a unique name


def test_results_bucket_policy_denies_plain_http(template):
    bucket_id, _ = one_resource(template, "AWS::S3::Bucket")
    _, policy = one_resource(template, "AWS::S3::BucketPolicy")
    assert policy["Properties"]["Bucket"] == {"Ref": bucket_id}
    ev = Evaluator(template, BASE_PARAMS)
    statements = as_list(ev.eval(policy["Properties"]["PolicyDocument"])["Statement"])

    def secure_transport(s: dict) -> str:
        return str(s.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport")).lower()

    tls = [s for s in statements if s["Effect"] == "Deny" and secure_transport(s) == "false"]
    assert tls, "no Deny on aws:SecureTransport=false"
    stmt = tls[0]
    assert stmt["Principal"] in ("*", {"AWS": "*"})
    assert "s3:*" in as_list(stmt["Action"])
    arn = f"arn:aws:s3:::{RESULTS_BUCKET}"
    assert set(as_list(stmt["Resource"])) == {arn, arn + "/*"}
    # No Allow in the bucket policy: access comes only from IAM.
    assert all(s["Effect"] == "Deny" for s in statements)


def test_results_bucket_policy_denies_other_accounts(template):
    _, policy = one_resource(template, "AWS::S3::BucketPolicy")
    ev = Evaluator(template, BASE_PARAMS)
    statements = as_list(ev.eval(policy["Properties"]["PolicyDocument"])["Statement"])
    [others] = [
        s
        for s in statements
        if "aws:PrincipalAccount" in s.get("Condition", {}).get("StringNotEquals", {})
    ]
    assert others["Effect"] == "Deny" and others["Principal"] == "*"
    assert as_list(others["Action"]) == ["s3:*"]
    assert others["Condition"] == {
        "StringNotEquals": {"aws:PrincipalAccount": ACCOUNT},
        # AWS services acting for a principal of the account (Athena) are not cut off.
        "BoolIfExists": {"aws:PrincipalIsAWSService": "false"},
    }
    arn = f"arn:aws:s3:::{RESULTS_BUCKET}"
    assert set(as_list(others["Resource"])) == {arn, arn + "/*"}


# --------------------------------------------------------------------------- workgroup


def test_workgroup_enforced_with_cutoff_and_encrypted_results(template):
    _, wg = one_resource(template, "AWS::Athena::WorkGroup")
    ev = Evaluator(template, BASE_PARAMS)
    props = wg["Properties"]
    assert props["Name"] == {"Ref": "WorkgroupName"}
    cfg = props["WorkGroupConfiguration"]
    assert cfg["EnforceWorkGroupConfiguration"] is True
    assert cfg["PublishCloudWatchMetricsEnabled"] is True
    assert cfg["BytesScannedCutoffPerQuery"] == {"Ref": "BytesScannedCutoffPerQuery"}
    assert cfg["EngineVersion"]["SelectedEngineVersion"] == "Athena engine version 3"
    result = ev.eval(cfg["ResultConfiguration"])
    assert result["OutputLocation"].startswith(f"s3://{RESULTS_BUCKET}/")
    assert result["EncryptionConfiguration"]["EncryptionOption"] in ("SSE_S3", "SSE_KMS", "CSE_KMS")


# --------------------------------------------------------------------------- IAM


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"TrailPrefix": "org/logs", "OrganizationId": "o-abcd123456"},
        {"TrailKmsKeyArn": f"arn:aws:kms:us-east-1:{ACCOUNT}:key/{KEY_ID}"},
    ],
    ids=["plain", "prefix-org", "kms"],
)
def test_managed_policy_has_no_wildcards(template, overrides):
    statements = policy_statements(template, {**BASE_PARAMS, **overrides})
    sids = [s.get("Sid") for s in statements]
    assert all(sids) and len(set(sids)) == len(sids), sids
    for stmt in statements:
        assert stmt["Effect"] == "Allow"
        assert "NotAction" not in stmt and "NotResource" not in stmt
        actions = as_list(stmt["Action"])
        for action in actions:
            assert action != "*" and "*" not in action, f"{stmt['Sid']}: wildcard action {action}"
            assert action in ALLOWED_ACTIONS, f"{stmt['Sid']}: unexpected action {action}"
        for resource in as_list(stmt["Resource"]):
            assert resource != "*", f"{stmt['Sid']}: Resource *"
            assert resource.startswith("arn:aws:"), resource
            # The only wildcards allowed: objects under an account's CloudTrail/ folder
            # and in the results bucket. No account-, region- or bucket-wide patterns.
            if "*" in resource or "?" in resource:
                assert re.search(r"/AWSLogs/(o-[^/]+/)?\?{12}/CloudTrail/\*$", resource) or (
                    resource in TEMP_RESOURCES | {f"arn:aws:s3:::{RESULTS_BUCKET}/*", MAT_OBJECTS}
                ), f"{stmt['Sid']}: broad resource {resource}"


def _allowed(statements: list[dict], action: str) -> set[str]:
    out: set[str] = set()
    for s in statements:
        if action in as_list(s["Action"]):
            out.update(as_list(s["Resource"]))
    return out


def test_managed_policy_scopes_resources(template):
    statements = policy_statements(template, BASE_PARAMS)
    wg = f"arn:aws:athena:{REGION}:{ACCOUNT}:workgroup/auditor"
    for action in (
        "athena:StartQueryExecution",
        "athena:GetQueryExecution",
        "athena:GetQueryResults",
        "athena:StopQueryExecution",
    ):
        assert _allowed(statements, action) == {wg}, action
    glue = f"arn:aws:glue:{REGION}:{ACCOUNT}:"
    glue_arns = {
        glue + "catalog",
        glue + "database/cloudtrail",
        glue + "table/cloudtrail/cloudtrail_logs",
    }
    assert _allowed(statements, "glue:GetDatabase") == glue_arns
    assert _allowed(statements, "glue:GetPartitions") == glue_arns | {MAT_TABLE}
    assert _allowed(statements, "glue:GetTable") == glue_arns | {TEMP_TABLES, MAT_TABLE}
    # the candidate tables of one read per audit: auditor_tmp_* in that database only
    temp = {glue + "catalog", glue + "database/cloudtrail", TEMP_TABLES}
    for action in ("glue:DeleteTable", "glue:GetTables"):
        assert _allowed(statements, action) == temp, action
    assert _allowed(statements, "glue:CreateTable") == temp | {MAT_TABLE}
    # the materialized table: its partitions only, never dropped or changed
    mat = {glue + "catalog", glue + "database/cloudtrail", MAT_TABLE}
    for action in ("glue:GetPartition", "glue:BatchCreatePartition", "glue:DeletePartition"):
        assert _allowed(statements, action) == mat, action
    assert _allowed(statements, "s3:DeleteObject") == TEMP_OBJECTS | {MAT_OBJECTS}
    all_actions = {a for s in statements for a in as_list(s["Action"])}
    assert not all_actions & {"glue:GetDatabases", "glue:UpdateTable", "s3:DeleteBucket"}

    results = f"arn:aws:s3:::{RESULTS_BUCKET}"
    assert _allowed(statements, "s3:GetObject") == {
        "arn:aws:s3:::trail-bucket/AWSLogs/????????????/CloudTrail/*",
        "arn:aws:s3:::trail-bucket/AWSLogs/o-*/????????????/CloudTrail/*",
        results + "/*",
    }
    assert _allowed(statements, "s3:PutObject") == {results + "/*"}
    assert _allowed(statements, "s3:AbortMultipartUpload") == {results + "/*"}
    assert _allowed(statements, "s3:ListBucket") == {"arn:aws:s3:::trail-bucket", results}
    assert _allowed(statements, "s3:GetBucketLocation") == {"arn:aws:s3:::trail-bucket", results}
    # Listing the trail bucket: folder names down to CloudTrail/, anything below it.
    assert _trail_listing_conditions(statements) == [
        {
            "StringEquals": {"s3:delimiter": "/"},
            "StringLike": {"s3:prefix": ["", "AWSLogs/", "AWSLogs/o-*/"]},
        },
        {
            "StringLike": {
                "s3:prefix": [
                    "AWSLogs/????????????/CloudTrail/*",
                    "AWSLogs/o-*/????????????/CloudTrail/*",
                ]
            }
        },
    ]
    assert not any("kms:Decrypt" in as_list(s["Action"]) for s in statements)


def _trail_listing_conditions(statements: list[dict]) -> list[dict]:
    return [
        s["Condition"]
        for s in statements
        if "s3:ListBucket" in as_list(s["Action"]) and s["Resource"] == "arn:aws:s3:::trail-bucket"
    ]


def test_managed_policy_follows_trail_prefix_and_optional_kms(template):
    key = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/{KEY_ID}"
    params = {
        **BASE_PARAMS,
        "TrailPrefix": "org/logs",
        "TrailKmsKeyArn": key,
        "OrganizationId": "o-abcd123456",
    }
    statements = policy_statements(template, params)
    assert _allowed(statements, "s3:GetObject") >= {
        "arn:aws:s3:::trail-bucket/org/logs/AWSLogs/????????????/CloudTrail/*",
        "arn:aws:s3:::trail-bucket/org/logs/AWSLogs/o-abcd123456/????????????/CloudTrail/*",
    }
    assert _trail_listing_conditions(statements) == [
        {
            "StringEquals": {"s3:delimiter": "/"},
            "StringLike": {
                "s3:prefix": ["org/logs/", "org/logs/AWSLogs/", "org/logs/AWSLogs/o-abcd123456/"]
            },
        },
        {
            "StringLike": {
                "s3:prefix": [
                    "org/logs/AWSLogs/????????????/CloudTrail/*",
                    "org/logs/AWSLogs/o-abcd123456/????????????/CloudTrail/*",
                ]
            }
        },
    ]
    [kms] = [s for s in statements if "kms:Decrypt" in as_list(s["Action"])]
    assert kms["Resource"] == key
    assert as_list(kms["Action"]) == ["kms:Decrypt"]
    assert "kms:ViaService" in kms["Condition"]["StringLike"]


# --------------------------------------------------------------------------- Glue table


def test_glue_table_matches_aws_cloudtrail_shape(template):
    _, table = one_resource(template, "AWS::Glue::Table")
    ti = table["Properties"]["TableInput"]
    assert ti["TableType"] == "EXTERNAL_TABLE"
    sd = ti["StorageDescriptor"]
    assert sd["SerdeInfo"]["SerializationLibrary"] == "org.apache.hive.hcatalog.data.JsonSerDe"
    assert sd["InputFormat"] == "com.amazon.emr.cloudtrail.CloudTrailInputFormat"
    assert sd["OutputFormat"] == "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"
    columns = [(c["Name"], re.sub(r"\s+", "", c["Type"]).lower()) for c in sd["Columns"]]
    for name, _ in columns:
        assert name == name.lower(), name
    assert columns == EXPECTED_COLUMNS
    assert dict(columns)["requestparameters"] == "string"
    assert [(k["Name"], k["Type"].lower()) for k in ti["PartitionKeys"]] == [
        ("account", "string"),
        ("region", "string"),
        ("timestamp", "string"),
    ]


def test_glue_table_partition_projection(template):
    _, table = one_resource(template, "AWS::Glue::Table")
    ev = Evaluator(template, BASE_PARAMS)
    p = ev.eval(table["Properties"]["TableInput"]["Parameters"])
    assert p["projection.enabled"] == "true"
    assert p["projection.timestamp.type"] == "date"
    assert p["projection.timestamp.format"] == "yyyy/MM/dd"
    assert p["projection.timestamp.range"] == "2024/01/01,NOW"
    assert str(p["projection.timestamp.interval"]) == "1"
    assert p["projection.timestamp.interval.unit"] == "DAYS"
    assert p["projection.account.type"] == "enum"
    assert p["projection.account.values"] == "111122223333,444455556666"
    assert p["projection.region.type"] == "enum"
    assert p["projection.region.values"] == "us-east-1,eu-west-1"


@pytest.mark.parametrize(
    ("prefix", "org", "root"),
    [
        ("", "", "s3://trail-bucket/AWSLogs/"),
        ("ct", "", "s3://trail-bucket/ct/AWSLogs/"),
        ("", "o-abcd123456", "s3://trail-bucket/AWSLogs/o-abcd123456/"),
        ("a/b", "o-abcd123456", "s3://trail-bucket/a/b/AWSLogs/o-abcd123456/"),
    ],
)
def test_glue_table_location_template(template, prefix, org, root):
    _, table = one_resource(template, "AWS::Glue::Table")
    ev = Evaluator(template, {**BASE_PARAMS, "TrailPrefix": prefix, "OrganizationId": org})
    ti = ev.eval(table["Properties"]["TableInput"])
    assert ti["Parameters"]["storage.location.template"] == (
        root + "${account}/CloudTrail/${region}/${timestamp}"
    )
    assert ti["StorageDescriptor"]["Location"] == root
    assert re.fullmatch(template["Parameters"]["TrailPrefix"]["AllowedPattern"], prefix)
    assert re.fullmatch(template["Parameters"]["OrganizationId"]["AllowedPattern"], org)


def test_trail_prefix_pattern_rejects_stray_slashes(template):
    pattern = template["Parameters"]["TrailPrefix"]["AllowedPattern"]
    for bad in ("/x", "x/", "a//b", "/"):
        assert not re.fullmatch(pattern, bad), bad


# --------------------------------------------------------------------------- outputs


def test_outputs(template):
    outputs = template["Outputs"]
    for name in (
        "DatabaseName",
        "TableName",
        "WorkgroupName",
        "ResultsBucketName",
        "AuditorPolicyArn",
        "AuditorCommand",
    ):
        assert name in outputs, name
    ev = Evaluator(template, BASE_PARAMS)
    command = ev.eval(outputs["AuditorCommand"]["Value"])
    for part in (
        "auditor audit",
        "--engine athena",
        "--database cloudtrail",
        "--table cloudtrail_logs",
        "--workgroup auditor",
        "--partition-scheme org",
        "--month YYYY-MM",
    ):
        assert part in command, (part, command)
    assert ev.eval(outputs["ResultsBucketName"]["Value"]) == RESULTS_BUCKET


def test_managed_policy_grants_exactly_the_athena_calls_the_code_makes(template):
    # Least privilege both ways: every Athena API auditor calls is granted (else the
    # first audit fails with AccessDenied), and nothing it never calls is.
    called: set[str] = set()
    for path in (ROOT / "auditor").rglob("*.py"):
        for op in re.findall(r'\.call\(\s*"([a-z_]+)"', path.read_text(encoding="utf-8")):
            called.add("athena:" + "".join(w.capitalize() for w in op.split("_")))
    assert "athena:StartQueryExecution" in called  # the scan above still finds the calls
    statements = policy_statements(template, BASE_PARAMS)
    granted = {a for s in statements for a in as_list(s["Action"]) if a.startswith("athena:")}
    assert granted == called


def test_managed_policy_grants_the_glue_and_s3_writes_the_code_makes(template):
    # The one-scan path's writes (auditor/athena/onescan.py) are granted, and no other
    # Glue or S3 write is: a new call in the code needs a new, reviewed grant.
    code = (ROOT / "auditor" / "athena" / "onescan.py").read_text(encoding="utf-8")
    glue_ops = {
        "glue:" + "".join(w.capitalize() for w in op.split("_"))
        for op in re.findall(r'\bglue\.(?:get_paginator\(")?([a-z_]+)', code)
    }
    assert glue_ops == {"glue:GetTables", "glue:DeleteTable"}
    assert "delete_objects" in code  # S3 DeleteObjects checks s3:DeleteObject per key
    # `auditor materialize` (auditor/athena/materialize.py): its own Glue calls, and
    # Athena's INSERT INTO registering partitions with the caller's rights
    mcode = (ROOT / "auditor" / "athena" / "materialize.py").read_text(encoding="utf-8")
    mat_ops = {
        "glue:" + "".join(w.capitalize() for w in op.split("_"))
        for op in re.findall(r'\bglue\.(?:get_paginator\(")?([a-z_]+)', mcode)
    }
    assert mat_ops == {
        "glue:GetTable",
        "glue:GetPartitions",
        "glue:CreateTable",
        "glue:DeletePartition",
    }
    statements = policy_statements(template, BASE_PARAMS)
    granted = {a for s in statements for a in as_list(s["Action"])}
    # CreateTable and GetTable: Athena's CTAS, with the caller's rights
    assert glue_ops | {"glue:CreateTable"} <= granted and "s3:DeleteObject" in granted
    assert mat_ops | {"glue:BatchCreatePartition", "glue:GetPartition"} <= granted
    writes = {
        a
        for a in granted
        if a.split(":")[1].startswith(("Create", "Delete", "Put", "Update", "Batch"))
    }
    assert writes == {
        "glue:CreateTable",
        "glue:DeleteTable",
        "s3:DeleteObject",
        "s3:PutObject",
        "glue:BatchCreatePartition",
        "glue:DeletePartition",
    }
