{#- Athena (Trino) spellings of the functions whose names differ between engines. -#}
{% macro json_string(col, path) -%}
json_extract_scalar({{ col }}, '{{ path }}')
{%- endmacro %}
{% macro matches(col, pattern) -%}
regexp_like({{ col }}, '{{ pattern }}')
{%- endmacro %}
{% macro role_arn_from_session(col) -%}
regexp_replace({{ col }}, '^arn:([^:]+):sts::([^:]*):assumed-role/([^/]+)(/.*|)$', 'arn:$1:iam::$2:role/$3')
{%- endmacro %}
{% macro first_resource_arn() -%}
element_at(resources, 1).arn
{%- endmacro %}
{#- An ISO-8601 UTC time (a column or a bound value) as an instant, so that times compare
    as times, not text ('.' sorts before 'Z'). -#}
{% macro instant(expr) -%}
from_iso8601_timestamp({{ expr }})
{%- endmacro %}
{#- The same, NULL where the text is not such a time (instead of failing the query). -#}
{% macro try_instant(expr) -%}
try(from_iso8601_timestamp({{ expr }}))
{%- endmacro %}
{#- The log file a row came from: Athena's hidden column, the object's s3:// URL. -#}
{% macro source_file() -%}
"$path"
{%- endmacro %}
{#- CREATE TABLE ... AS: a Parquet table; `location` is a SQL literal already (or empty:
    the workgroup enforces its own location, tables/<query id>/). -#}
{% macro create_table_as(name, location) -%}
CREATE TABLE {{ name }}
WITH (format = 'PARQUET', write_compression = 'SNAPPY'{% if location %}, external_location = {{ location }}{% endif %}) AS
{%- endmacro %}
{#- A row's delivery day, YYYY-MM-DD, from its log file's folder (.../YYYY/MM/DD/file):
    the same for every partition scheme. -#}
{% macro delivery_day() -%}
regexp_replace(regexp_extract("$path", '/(\d{4}/\d{2}/\d{2})/[^/]+$', 1), '/', '-')
{%- endmacro %}
