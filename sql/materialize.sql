{%- import 'macros/' ~ dialect ~ '.sql' as d -%}
{%- import 'macros/common.sql' as c with context -%}
-- auditor: {{ statement }}
-- The materialized table of audit-relevant rows (auditor/athena/materialize.py): every
-- column of the trail table, the row's log file and its delivery day (the partition).
-- The rows kept are the candidates of sql/candidates.sql: the union of the prefilters
-- the rule's queries declare (OR across queries, AND within one), over whole delivery
-- folders. `create` makes the empty table; otherwise one INSERT per run of days.
{% if create -%}
{{ d.create_partitioned_table_as(target, location, partition) }}
{%- else -%}
INSERT INTO {{ target }}
{%- endif %}
SELECT
    {% for col in columns %}{{ col }},
    {% endfor %}{{ d.source_file() }} AS {{ source_column }},
    {{ d.delivery_day() }} AS {{ partition }}
FROM {{ table }}
{% if create -%}
WHERE FALSE
{%- else -%}
WHERE {{ c.partition_filter(scheme) }}
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
{%- endif %}
