{#- Logic shared by every query and both engines. `d` is the dialect macro module. -#}

{#- The grouping key for "who": the role for assumed-role sessions (so sessions of one
    role group together), the logged ARN for users, root and federated users, a readable
    non-ARN key for identities that logged none (an IAM Identity Center user's id is
    onBehalfOf.userId), and 'unknown' with no userIdentity. -#}
{% macro principal_key(d) -%}
CASE
    WHEN useridentity IS NULL THEN 'unknown'
    WHEN useridentity.type = 'AssumedRole'
         AND nullif({{ f('useridentity.sessioncontext.sessionissuer.arn') }}, '') IS NOT NULL
        THEN {{ f('useridentity.sessioncontext.sessionissuer.arn') }}
    WHEN useridentity.type = 'AssumedRole'
         AND {{ d.matches('useridentity.arn', '^arn:[^:]+:sts::[^:]*:assumed-role/[^/]+(/|$)') }}
        THEN {{ d.role_arn_from_session('useridentity.arn') }}
    WHEN nullif(useridentity.arn, '') IS NOT NULL THEN useridentity.arn
    ELSE concat(
        coalesce(nullif(useridentity.type, ''), 'Unknown'), '/',
        coalesce(nullif(useridentity.accountid, ''), 'no-account'), '/',
        coalesce(
            nullif(useridentity.principalid, ''),
            nullif({{ f('useridentity.username') }}, ''),
            nullif({{ f('useridentity.onbehalfof.userid') }}, ''),
            nullif({{ f('useridentity.sessioncontext.sessionissuer.username') }}, ''),
            nullif({{ f('useridentity.invokedby') }}, ''),
            'no-id'))
END
{%- endmacro %}

{#- The log file a row came from: the dialect's own (Athena's "$path", the local
    table's _file), or, over a table of candidate rows made by one read of the trail
    (auditor/athena/onescan.py), the column that kept it (`source_column`). -#}
{% macro source_file(d) -%}
{%- if source_column is defined and source_column -%}
{{ source_column }}
{%- else -%}
{{ d.source_file() }}
{%- endif -%}
{%- endmacro %}

{% macro principal_type() -%}
coalesce(nullif(useridentity.type, ''), 'Unknown')
{%- endmacro %}

{#- Partitions to read: the folders of the first day .. the day after the last (CloudTrail
    delivers up to ~15 minutes late, so the last day's final events sit in the next
    day's folder). Exact event times are filtered separately. `until` overrides the last
    folder (a query that looks past the range passes lookahead_last_folder). -#}
{% macro partition_filter(scheme, until=none) -%}
{%- set upto = last_folder if until is none else until -%}
{%- if shape is defined and shape is not none -%}
{{ shape_partition_filter(upto) }}
{%- elif scheme == 'manual' -%}
concat(year, '/', month, '/', day) BETWEEN {{ bind(first_folder) }} AND {{ bind(upto) }}
{%- else -%}
"timestamp" BETWEEN {{ bind(first_folder) }} AND {{ bind(upto) }}
{%- endif -%}
{%- if shape is not defined or shape is none -%}
{%- if accounts and scheme == 'org' %}
    AND account IN ({% for a in accounts %}{{ bind(a) }}{% if not loop.last %}, {% endif %}{% endfor %})
{%- endif -%}
{%- if regions and scheme in ('org', 'manual') %}
    AND region IN ({% for r in regions %}{{ bind(r) }}{% if not loop.last %}, {% endif %}{% endfor %})
{%- endif -%}
{%- endif -%}
{%- endmacro %}

{#- eventTime in [start, until) (`until` defaults to the range end), compared as instants
    in both dialects: '2026-10-01T00:00:00.500Z' is after '2026-10-01T00:00:00Z', though
    it sorts before it as text. The bounds stay bound values. -#}
{#- Over the candidate table of a one-scan read (auditor/athena/onescan.py sets
    `tolerant_times`), an eventTime that is not an ISO-8601 time reads as NULL: the row
    is left out of every query and named by unreadable_times.sql, instead of failing the
    query (one crafted record must not take an audit down). Elsewhere such a time fails
    the query, as before. -#}
{% macro event_instant(d) -%}
{%- if tolerant_times is defined and tolerant_times -%}
{{ d.try_instant('eventtime') }}
{%- else -%}
{{ d.instant('eventtime') }}
{%- endif -%}
{%- endmacro %}

{% macro time_filter(d, until=none) -%}
{{ event_instant(d) }} >= {{ d.instant(bind(start)) }} AND {{ event_instant(d) }} < {{ d.instant(bind(end if until is none else until)) }}
{%- endmacro %}

{#- A row whose eventTime is missing or not an ISO-8601 time. -#}
{% macro unreadable_time(d) -%}
{{ d.try_instant('eventtime') }} IS NULL
{%- endmacro %}

{% macro account_filter() -%}
{%- if accounts %}
    AND recipientaccountid IN ({% for a in accounts %}{{ bind(a) }}{% if not loop.last %}, {% endif %}{% endfor %})
{%- endif -%}
{%- if regions %}
    AND awsregion IN ({% for r in regions %}{{ bind(r) }}{% if not loop.last %}, {% endif %}{% endfor %})
{%- endif -%}
{%- endmacro %}

{#- ---- The table's shape (auditor/athena/tableshape.py), when the engine passes one ----
    `shape` is a TableShape in the context (Athena); the local table has every field and
    no shape. -#}

{#- A field the SQL reads that some tables lack: the field, or a typed NULL when the
    table has no such field (the report names it and says what that changes). -#}
{% macro f(path, type='varchar') -%}
{%- if shape is defined and shape is not none and not shape.has(path) -%}
CAST(NULL AS {{ type }})
{%- else -%}
{{ path }}
{%- endif -%}
{%- endmacro %}

{#- One classic partition column as yyyy/MM/dd text: as is when it is text (CloudTrail's
    folders are zero-padded), else zero-padded to `width`. -#}
{% macro part_text(p, width) -%}
{%- if p.is_text -%}{{ p.sql }}{%- else -%}lpad(CAST({{ p.sql }} AS varchar), {{ width }}, '0'){%- endif -%}
{%- endmacro %}

{#- The delivery days first_folder .. upto, as the table's partitions write them, and
    --account/--region where the table partitions by them. TRUE without a day partition
    (the whole LOCATION is read: the dry run and the report say so). -#}
{% macro shape_partition_filter(upto) -%}
{%- set dp = shape.date -%}
{%- if dp is not none and dp.sortable -%}
{%- if dp.is_date_type -%}
{{ dp.sql }} BETWEEN CAST({{ bind(dp.value(first_folder)) }} AS date) AND CAST({{ bind(dp.value(upto)) }} AS date)
{%- else -%}
{{ dp.sql }} BETWEEN {{ bind(dp.value(first_folder)) }} AND {{ bind(dp.value(upto)) }}
{%- endif -%}
{%- elif dp is not none -%}
{{ dp.sql }} IN ({% for v in dp.day_values(first_folder, upto) %}{{ bind(v) }}{% if not loop.last %}, {% endif %}{% endfor %})
{%- elif shape.ymd is not none -%}
concat({{ part_text(shape.ymd[0], 4) }}, '/', {{ part_text(shape.ymd[1], 2) }}, '/', {{ part_text(shape.ymd[2], 2) }}) BETWEEN {{ bind(first_folder) }} AND {{ bind(upto) }}
{%- else -%}
TRUE
{%- endif -%}
{%- if accounts and shape.account is not none %}
    AND {{ shape.account.sql }} IN ({% for a in accounts %}{{ bind(a) }}{% if not loop.last %}, {% endif %}{% endfor %})
{%- endif -%}
{%- if regions and shape.region is not none %}
    AND {{ shape.region.sql }} IN ({% for r in regions %}{{ bind(r) }}{% if not loop.last %}, {% endif %}{% endfor %})
{%- endif -%}
{%- endmacro %}
