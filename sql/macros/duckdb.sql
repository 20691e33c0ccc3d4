{#- DuckDB spellings of the functions whose names differ between engines. -#}
{#- As Athena's json_extract_scalar: NULL (not an error) when the text is not JSON, as in
    a requestParameters logged as "redacted", and NULL for an object or array. -#}
{% macro json_string(col, path) -%}
CASE WHEN json_valid({{ col }}) AND json_type({{ col }}, '{{ path }}') NOT IN ('OBJECT', 'ARRAY')
    THEN json_extract_string({{ col }}, '{{ path }}') END
{%- endmacro %}
{% macro matches(col, pattern) -%}
regexp_matches({{ col }}, '{{ pattern }}')
{%- endmacro %}
{% macro role_arn_from_session(col) -%}
regexp_replace({{ col }}, '^arn:([^:]+):sts::([^:]*):assumed-role/([^/]+)(/.*|)$', 'arn:\1:iam::\2:role/\3')
{%- endmacro %}
{% macro first_resource_arn() -%}
resources[1].arn
{%- endmacro %}
{#- An ISO-8601 UTC time (a column or a bound value) as an instant, so that times compare
    as times, not text ('.' sorts before 'Z'). The engine sets TimeZone = 'UTC'. -#}
{% macro instant(expr) -%}
CAST({{ expr }} AS TIMESTAMPTZ)
{%- endmacro %}
{#- The same, NULL where the text is not such a time (instead of failing the query). -#}
{% macro try_instant(expr) -%}
TRY_CAST({{ expr }} AS TIMESTAMPTZ)
{%- endmacro %}
{#- The log file a row came from (the local table's column). -#}
{% macro source_file() -%}
_file
{%- endmacro %}
{#- CREATE TABLE ... AS (the location is Athena's business). -#}
{% macro create_table_as(name, location) -%}
CREATE TABLE {{ name }} AS
{%- endmacro %}
{% macro delivery_day() -%}
replace(regexp_extract(_file, '/(\d{4}/\d{2}/\d{2})/[^/]+$', 1), '/', '-')
{%- endmacro %}
