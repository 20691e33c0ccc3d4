{%- import 'macros/' ~ dialect ~ '.sql' as d -%}
{%- import 'macros/common.sql' as c with context -%}
-- auditor: candidates
-- One read of the raw trail for a chunk (auditor/athena/onescan.py): the rows any of the
-- rule's queries can return, kept in a small table the queries then read instead. The
-- WHERE is the union of the queries' necessary conditions: the partitions and eventTime
-- of the range plus the look-ahead, --account/--region, and the prefilters declared in
-- the rule's queries.toml (OR across queries, AND within one). A row whose eventTime is
-- not an ISO-8601 time is kept too: the queries leave it out and unreadable_times.sql
-- names its log file, where reading it from the raw table would fail every query.
{{ d.create_table_as(tmp_table, tmp_location) }}
SELECT
    {% for col in columns %}{{ col }},
    {% endfor %}{{ d.source_file() }} AS {{ source_column }}
FROM {{ table }}
WHERE {{ c.partition_filter(scheme, until=until_folder) }}
    AND ({{ c.time_filter(d, until=until_time) }}
         OR {{ c.unreadable_time(d) }})
    {{- c.account_filter() }}
{%- if prefilters is not none %}
    AND ({% for q in prefilters %}{% if not loop.first %}
         OR {% endif %}({% for cond in q %}{% if not loop.first %} AND {% endif %}
{%- if cond.kind == 'in' -%}
{{ cond.column }} IN ({% for v in cond.values %}{{ bind(v) }}{% if not loop.last %}, {% endif %}{% endfor %})
{%- else -%}
({% for v in cond.values %}{{ cond.column }} LIKE {{ bind('%' ~ v ~ '%') }}{% if not loop.last %} OR {% endif %}{% endfor %})
{%- endif -%}
{% endfor %}){% endfor %})
{%- endif %}
