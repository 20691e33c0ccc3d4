"""The Athena-shaped table: a raw CloudTrail record becomes a row as AWS's CloudTrail
table (CloudTrailInputFormat + JsonSerDe) presents it, and DuckDB reads those rows with
the declared types, so Athena-style SQL finds every field where Athena would."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import orjson

from auditor.table import COLUMNS, PARTITIONS, duckdb_columns, hive_type, shape_record

RECORD = {
    "eventVersion": "1.09",
    "userIdentity": {
        "type": "AssumedRole",
        "principalId": "AROA1:alice",
        "arn": "arn:aws:sts::111122223333:assumed-role/Admin/alice",
        "accountId": "111122223333",
        "accessKeyId": "ASIA1",
        "sessionContext": {
            "sessionIssuer": {
                "type": "Role",
                "principalId": "AROA1",
                "arn": "arn:aws:iam::111122223333:role/Admin",
                "accountId": "111122223333",
                "userName": "Admin",
            },
            "webIdFederationData": {
                "federatedProvider": "arn:aws:iam::1:oidc-provider/x",
                "attributes": {"sub": "repo:org/x", "aud": "sts"},
            },
            "attributes": {"creationDate": "2026-10-01T00:00:00Z", "mfaAuthenticated": False},
            "ec2RoleDelivery": "2.0",
        },
        "onBehalfOf": {"userId": "u-1", "identityStoreArn": "arn:aws:identitystore::1:x"},
        "unknownField": "dropped",
    },
    "eventTime": "2026-10-05T12:00:00Z",
    "eventSource": "bedrock.amazonaws.com",
    "eventName": "PutResourcePolicy",
    "awsRegion": "us-east-1",
    "sourceIPAddress": "203.0.113.1",
    "userAgent": "aws-cli/2",
    "errorCode": "AccessDeniedException",
    "errorMessage": "denied",
    "requestParameters": {
        "resourceArn": "arn:aws:bedrock:us-east-1:1:agent/A",
        "resourcePolicy": '{"Version":"2012-10-17"}',
    },
    "responseElements": None,
    "additionalEventData": {"bytes": 5},
    "requestID": "r-1",
    "eventID": "e-1",
    "readOnly": False,
    "resources": [
        {
            "ARN": "arn:aws:bedrock:us-east-1:1:agent/A",
            "accountId": "1",
            "type": "AWS::Bedrock::Agent",
        }
    ],
    "eventType": "AwsApiCall",
    "managementEvent": True,
    "recipientAccountId": "111122223333",
    "eventCategory": "Management",
    "sessionCredentialFromConsole": "true",
    "tlsDetails": {"tlsVersion": "TLSv1.3"},
}


def test_columns_are_lower_case_and_unknown_keys_are_dropped() -> None:
    row = shape_record(RECORD)
    columns = {name for name, _ in COLUMNS}
    # Only columns; those the record lacks are left out (DuckDB reads them as NULL).
    assert set(row) <= columns
    assert {k.lower() for k in RECORD if k.lower() in columns} == set(row)
    assert "unknownfield" not in row["useridentity"]
    assert "managementevent" not in row  # not a column of AWS's table
    assert row["eventname"] == "PutResourcePolicy"
    assert row["useridentity"]["sessioncontext"]["sessionissuer"]["arn"] == (
        "arn:aws:iam::111122223333:role/Admin"
    )


def test_string_columns_hold_text_as_jsonserde_does() -> None:
    row = shape_record(RECORD)
    # Objects in a STRING column become their JSON text, with the original key case.
    assert json.loads(row["requestparameters"]) == RECORD["requestParameters"]
    assert json.loads(row["additionaleventdata"]) == {"bytes": 5}
    assert row["responseelements"] is None
    assert row["readonly"] == "false"  # booleans as text
    assert row["useridentity"]["sessioncontext"]["attributes"]["mfaauthenticated"] == "false"
    odd = shape_record(
        {"readOnly": True, "eventVersion": 1.5, "requestParameters": "redacted", "errorCode": 403}
    )
    assert (odd["readonly"], odd["eventversion"], odd["requestparameters"], odd["errorcode"]) == (
        "true",
        "1.5",
        "redacted",
        "403",
    )


def test_keys_are_matched_case_insensitively() -> None:
    # Hand-edited fixtures (samples/cloudtrail-real) write userIdentity keys in lower case.
    rec = {
        "EventName": "PutResourcePolicy",
        "userIdentity": {
            "type": "AssumedRole",
            "arn": "a",
            "accountid": "1",
            "sessioncontext": {"sessionissuer": {"arn": "role-arn"}},
        },
    }
    row = shape_record(rec)
    assert row["eventname"] == "PutResourcePolicy"
    assert row["useridentity"]["accountid"] == "1"
    assert row["useridentity"]["sessioncontext"]["sessionissuer"]["arn"] == "role-arn"


def test_wrong_shapes_become_null_not_errors() -> None:
    row = shape_record({"userIdentity": "a string", "resources": {"ARN": "x"}, "eventTime": None})
    assert row["useridentity"] is None and row["resources"] is None
    row = shape_record({"userIdentity": {"sessionContext": []}, "resources": ["x", {"ARN": "y"}]})
    assert row["useridentity"]["sessioncontext"] is None
    assert row["resources"] == [None, {"arn": "y"}]
    assert shape_record({}) == {}


def test_duckdb_reads_the_rows_with_the_declared_types(tmp_path: Path) -> None:
    path = tmp_path / "rows.ndjson"
    row = shape_record(RECORD) | {
        "account": "111122223333",
        "region": "us-east-1",
        "timestamp": "2026/10/05",
        "_file": "f",
    }
    path.write_bytes(orjson.dumps(row) + b"\n" + orjson.dumps(shape_record({})) + b"\n")
    cols = duckdb_columns()
    assert list(cols) == [n for n, _ in COLUMNS + PARTITIONS] + ["_file"]
    spec = "{" + ", ".join(f"'{k}': '{v}'" for k, v in cols.items()) + "}"
    con = duckdb.connect()
    con.execute(
        f"CREATE TABLE cloudtrail AS SELECT * FROM read_json(?, "
        f"format = 'newline_delimited', columns = {spec})",
        [str(path)],
    )
    got = con.execute(
        """SELECT useridentity.sessioncontext.sessionissuer.arn,
                  useridentity.onbehalfof.userid,
                  useridentity.sessioncontext.webidfederationdata.attributes['sub'],
                  resources[1].arn, json_extract_string(requestparameters, '$.resourceArn'),
                  "timestamp", account, readonly
           FROM cloudtrail WHERE eventid = 'e-1'"""
    ).fetchone()
    assert got == (
        "arn:aws:iam::111122223333:role/Admin",
        "u-1",
        "repo:org/x",
        "arn:aws:bedrock:us-east-1:1:agent/A",
        "arn:aws:bedrock:us-east-1:1:agent/A",
        "2026/10/05",
        "111122223333",
        "false",
    )
    nulls = con.execute("SELECT count(*) FROM cloudtrail WHERE useridentity IS NULL").fetchone()
    assert nulls == (1,)


def test_hive_ddl_types_match_aws_cloudtrail_table() -> None:
    types = {name: hive_type(t) for name, t in COLUMNS}
    assert types["eventtime"] == "STRING"
    assert types["requestparameters"] == "STRING"
    assert types["resources"] == "ARRAY<STRUCT<arn:STRING,accountid:STRING,type:STRING>>"
    ui = types["useridentity"]
    assert ui.startswith("STRUCT<type:STRING,principalid:STRING,arn:STRING,accountid:STRING,")
    assert (
        "sessionissuer:STRUCT<type:STRING,principalid:STRING,arn:STRING,accountid:STRING,"
        "username:STRING>" in ui
    )
    assert "attributes:MAP<STRING,STRING>" in ui


def test_records_as_aws_writes_them_pass_on_untouched() -> None:
    from auditor.table import canonical, is_canonical

    assert is_canonical(RECORD)
    rec = {
        "eventName": "X",
        "resources": [{"ARN": "arn:a", "accountId": "1", "type": "T"}],
        "managementEvent": True,
        "requestParameters": {"any": ["shape", 1]},
    }
    assert is_canonical(rec)  # unknown keys (managementEvent) are ignored by the reader
    assert canonical(rec)["resources"] == rec["resources"]


def test_other_key_spellings_and_wrong_shapes_are_rewritten() -> None:
    from auditor.table import canonical, is_canonical

    odd = {
        "EventName": "X",
        "useridentity": {"ARN": "arn:u", "SessionContext": []},
        "resources": [{"arn": "arn:r"}, "x"],
        "userAgent": {"not": "text"},
    }
    assert not is_canonical(odd)
    fixed = canonical(odd)
    assert fixed["eventName"] == "X"
    assert fixed["userIdentity"] == {"arn": "arn:u", "sessionContext": None}
    assert fixed["resources"] == [{"ARN": "arn:r"}, None]
    assert fixed["userAgent"] == {"not": "text"}  # a STRING column: DuckDB writes its JSON text
    assert is_canonical(fixed)
    assert not is_canonical({"userIdentity": "a string"})
    assert not is_canonical({"resources": {"ARN": "x"}})


def test_pick_columns_keeps_only_the_asked_columns_readable() -> None:
    from auditor.table import is_canonical, pick_columns

    rec = {
        "EventName": "X",
        "userIdentity": {"ARN": "a", "sessionContext": []},
        "errorCode": "AccessDenied",
        "sourceIPAddress": "1.2.3.4",
    }
    got = pick_columns(rec, frozenset({"eventname", "useridentity", "errorcode"}))
    assert got == {
        "eventName": "X",
        "userIdentity": {"arn": "a", "sessionContext": None},
        "errorCode": "AccessDenied",
    }
    assert is_canonical(got)
