{%- import 'macros/' ~ dialect ~ '.sql' as d -%}
{%- import 'macros/common.sql' as c with context -%}
-- auditor: unreadable_times
-- The rows of a chunk's candidate table (sql/candidates.sql) whose eventTime is missing
-- or not an ISO-8601 time: no query can place them in time, so each leaves them out; the
-- report names their log files as unreadable (auditor/athena/onescan.py).
SELECT {{ source_column }} AS source_file, count(*) AS records
FROM {{ table }}
WHERE {{ c.unreadable_time(d) }}
GROUP BY {{ source_column }}
ORDER BY source_file
LIMIT {{ limit }}
