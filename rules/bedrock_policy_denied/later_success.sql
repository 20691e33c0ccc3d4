{%- import 'macros/' ~ dialect ~ '.sql' as d -%}
{%- import 'macros/common.sql' as c with context -%}
-- auditor: later_success
-- Successful Amazon Bedrock resource-policy changes (no errorCode) from the start of the
-- range to the end of the look-ahead window: did a denied principal get through later.
-- The principal key is the main query's, so rows join on it.
SELECT
    eventid AS event_id,
    eventtime AS event_time,
    recipientaccountid AS account_id,
    eventname AS action,
    {{ c.principal_key(d) | indent(4) }} AS principal,
    coalesce(
        nullif({{ d.json_string('requestparameters', '$.resourceArn') }}, ''),
        nullif({{ d.first_resource_arn() }}, '')) AS resource
FROM {{ table }}
WHERE {{ c.partition_filter(scheme, until=lookahead_last_folder) }}
    AND {{ c.time_filter(d, until=lookahead_end) }}
    {{- c.account_filter() }}
    AND eventsource = 'bedrock.amazonaws.com'
    AND eventname IN ('PutResourcePolicy', 'DeleteResourcePolicy')
    AND coalesce(errorcode, '') = ''
ORDER BY eventtime, eventid
