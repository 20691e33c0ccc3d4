-- auditor: other_denials
-- Every other denied call in the range, per principal, service, action and error code:
-- the enumeration signal (an identity probing what it may do). A denial is an errorCode
-- containing 'AccessDenied' (AccessDenied, AccessDeniedException, VpceAccessDenied, ...),
-- 'Unauthorized' (Client.UnauthorizedOperation, UnauthorizedException, ...) or
-- 'AuthorizationError' (SNS). LIKE is case-sensitive on both engines. The rule's own
-- events (denied Bedrock Put/DeleteResourcePolicy) are left out: they are the findings.
WITH denials AS (
    SELECT
        CASE
            WHEN useridentity IS NULL THEN 'unknown'
            WHEN useridentity.type = 'AssumedRole'
                 AND nullif(useridentity.sessioncontext.sessionissuer.arn, '') IS NOT NULL
                THEN useridentity.sessioncontext.sessionissuer.arn
            WHEN useridentity.type = 'AssumedRole'
                 AND regexp_matches(useridentity.arn, '^arn:[^:]+:sts::[^:]*:assumed-role/[^/]+(/|$)')
                THEN regexp_replace(useridentity.arn, '^arn:([^:]+):sts::([^:]*):assumed-role/([^/]+)(/.*|)$', 'arn:\1:iam::\2:role/\3')
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
        recipientaccountid AS account_id,
        eventsource AS service,
        eventname AS action,
        errorcode AS error_code
    FROM cloudtrail
    WHERE "timestamp" BETWEEN '2026/10/01' AND '2026/10/11'
        AND CAST(eventtime AS TIMESTAMPTZ) >= CAST('2026-10-01T00:00:00Z' AS TIMESTAMPTZ) AND CAST(eventtime AS TIMESTAMPTZ) < CAST('2026-10-11T00:00:00Z' AS TIMESTAMPTZ)
        AND (errorcode LIKE '%AccessDenied%'
             OR errorcode LIKE '%Unauthorized%'
             OR errorcode LIKE '%AuthorizationError%')
        AND NOT (coalesce(eventsource, '') = 'bedrock.amazonaws.com'
                 AND coalesce(eventname, '') IN ('PutResourcePolicy', 'DeleteResourcePolicy')
                 AND errorcode IN ('AccessDenied', 'AccessDeniedException'))
)
SELECT principal, account_id, service, action, error_code, count(*) AS denials
FROM denials
GROUP BY principal, account_id, service, action, error_code
ORDER BY denials DESC, principal, account_id, service, action, error_code;
