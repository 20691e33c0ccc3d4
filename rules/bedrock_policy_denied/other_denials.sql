{%- import 'macros/' ~ dialect ~ '.sql' as d -%}
{%- import 'macros/common.sql' as c with context -%}
-- auditor: other_denials
-- Every other denied call in the range, per principal, service, action and error code:
-- the enumeration signal (an identity probing what it may do). A denial is an errorCode
-- containing 'AccessDenied' (AccessDenied, AccessDeniedException, VpceAccessDenied, ...),
-- 'Unauthorized' (Client.UnauthorizedOperation, UnauthorizedException, ...) or
-- 'AuthorizationError' (SNS). LIKE is case-sensitive on both engines. The rule's own
-- events (denied Bedrock Put/DeleteResourcePolicy) are left out: they are the findings.
WITH denials AS (
    SELECT
        {{ c.principal_key(d) | indent(8) }} AS principal,
        recipientaccountid AS account_id,
        eventsource AS service,
        eventname AS action,
        errorcode AS error_code
    FROM {{ table }}
    WHERE {{ c.partition_filter(scheme) }}
        AND {{ c.time_filter(d) }}
        {{- c.account_filter() | indent(4) }}
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
ORDER BY denials DESC, principal, account_id, service, action, error_code
