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
    CASE
        WHEN useridentity IS NULL THEN 'unknown'
        WHEN useridentity.type = 'AssumedRole'
             AND nullif(useridentity.sessioncontext.sessionissuer.arn, '') IS NOT NULL
            THEN useridentity.sessioncontext.sessionissuer.arn
        WHEN useridentity.type = 'AssumedRole'
             AND regexp_like(useridentity.arn, '^arn:[^:]+:sts::[^:]*:assumed-role/[^/]+(/|$)')
            THEN regexp_replace(useridentity.arn, '^arn:([^:]+):sts::([^:]*):assumed-role/([^/]+)(/.*|)$', 'arn:$1:iam::$2:role/$3')
        WHEN nullif(useridentity.arn, '') IS NOT NULL THEN useridentity.arn
        ELSE concat(
            coalesce(nullif(useridentity.type, ''), 'Unknown'), '/',
            coalesce(nullif(useridentity.accountid, ''), 'no-account'), '/',
            coalesce(
                nullif(useridentity.principalid, ''),
                nullif(useridentity.username, ''),
                nullif(useridentity.onbehalfof.userid, ''),
                nullif(useridentity.sessioncontext.sessionissuer.username, ''),
                nullif(useridentity.invokedby, ''),
                'no-id'))
    END AS principal,
    coalesce(nullif(useridentity.type, ''), 'Unknown') AS principal_type,
    nullif(useridentity.accountid, '') AS caller_account_id,
    nullif(useridentity.arn, '') AS identity_arn,
    nullif(useridentity.principalid, '') AS session,
    nullif(useridentity.accesskeyid, '') AS access_key_id,
    sourceipaddress AS source_ip,
    useragent AS user_agent,
    coalesce(
        nullif(json_extract_scalar(requestparameters, '$.resourceArn'), ''),
        nullif(regexp_extract(errormessage, 'on resource: (arn:[^ ]+)', 1), ''),
        nullif(element_at(resources, 1).arn, '')) AS resource,
    requestparameters AS request_parameters,
    "$path" AS source_file
FROM "cloudtrail"."cloudtrail_logs"
WHERE "timestamp" BETWEEN '2026/10/01' AND '2026/10/11'
    AND from_iso8601_timestamp(eventtime) >= from_iso8601_timestamp('2026-10-01T00:00:00Z') AND from_iso8601_timestamp(eventtime) < from_iso8601_timestamp('2026-10-11T00:00:00Z')
    AND eventsource = 'bedrock.amazonaws.com'
    AND eventname IN ('PutResourcePolicy', 'DeleteResourcePolicy')
    AND errorcode IN ('AccessDenied', 'AccessDeniedException')
ORDER BY eventtime, eventid;
