{%- import 'macros/' ~ dialect ~ '.sql' as d -%}
{%- import 'macros/common.sql' as c with context -%}
-- auditor: {{ statement }}
-- The materialized table of audit-relevant rows (auditor/athena/materialize.py): every
-- column of the trail table, the row's log file and its delivery day (the partition).
-- The rows kept are the candidates of sql/candidates.sql: the union of the prefilters
-- the rule's queries declare (OR across queries, AND within one), over whole delivery
-- folders, one INSERT per run of at most 100 days (Athena's partition limit).
INSERT INTO {{ target }}
SELECT
    {% for col in columns %}{{ col }},
    {% endfor %}{{ d.source_file() }} AS {{ source_column }},
    {{ d.delivery_day() }} AS {{ partition }}
FROM {{ table }}
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
