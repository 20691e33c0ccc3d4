{%- import 'macros/' ~ dialect ~ '.sql' as d -%}
{%- import 'macros/common.sql' as c with context -%}
-- auditor: denied_policy_changes
-- Denied attempts to change an Amazon Bedrock resource-based policy
-- (Elastic rule 2e99477f-6099-48a9-ae0e-68801d97079c): one row per event.
SELECT
    eventid AS event_id,
    eventtime AS event_time,
    recipientaccountid AS account_id,
    awsregion AS region,
    eventname AS action,
    errorcode AS error_code,
    errormessage AS error_message,
    {{ c.principal_key(d) | indent(4) }} AS principal,
    {{ c.principal_type() }} AS principal_type,
    nullif(useridentity.accountid, '') AS caller_account_id,
    nullif(useridentity.arn, '') AS identity_arn,
    nullif(useridentity.principalid, '') AS session,
    nullif(useridentity.accesskeyid, '') AS access_key_id,
    sourceipaddress AS source_ip,
    useragent AS user_agent,
    coalesce(
        nullif({{ d.json_string('requestparameters', '$.resourceArn') }}, ''),
        nullif(regexp_extract(errormessage, 'on resource: (arn:[^ ]+)', 1), ''),
        nullif({{ d.first_resource_arn() }}, '')) AS resource,
    requestparameters AS request_parameters,
    {{ c.source_file(d) }} AS source_file
FROM {{ table }}
WHERE {{ c.partition_filter(scheme) }}
    AND {{ c.time_filter(d) }}
    {{- c.account_filter() }}
    AND eventsource = 'bedrock.amazonaws.com'
    AND eventname IN ('PutResourcePolicy', 'DeleteResourcePolicy')
    AND errorcode IN ('AccessDenied', 'AccessDeniedException')
ORDER BY eventtime, eventid
