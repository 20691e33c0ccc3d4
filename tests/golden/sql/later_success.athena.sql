-- auditor: later_success
-- Successful Amazon Bedrock resource-policy changes (no errorCode) from the start of the
-- range to the end of the look-ahead window: did a denied principal get through later.
-- The principal key is the main query's, so rows join on it.
SELECT
    eventid AS event_id,
    eventtime AS event_time,
    recipientaccountid AS account_id,
    eventname AS action,
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
    coalesce(
        nullif(json_extract_scalar(requestparameters, '$.resourceArn'), ''),
        nullif(element_at(resources, 1).arn, '')) AS resource
FROM "cloudtrail"."cloudtrail_logs"
WHERE "timestamp" BETWEEN '2026/10/01' AND '2026/10/18'
    AND from_iso8601_timestamp(eventtime) >= from_iso8601_timestamp('2026-10-01T00:00:00Z') AND from_iso8601_timestamp(eventtime) < from_iso8601_timestamp('2026-10-18T00:00:00Z')
    AND eventsource = 'bedrock.amazonaws.com'
    AND eventname IN ('PutResourcePolicy', 'DeleteResourcePolicy')
    AND coalesce(errorcode, '') = ''
ORDER BY eventtime, eventid;
