{#- Logic shared by every query and both engines. `d` is the dialect macro module. -#}

{#- The grouping key for "who": the role for assumed-role sessions (so sessions of one
    role group together), the logged ARN for users, root and federated users, a readable
    non-ARN key for identities that logged none (an IAM Identity Center user's id is
    onBehalfOf.userId), and 'unknown' with no userIdentity. -#}
{% macro principal_key(d) -%}
CASE
    WHEN useridentity IS NULL THEN 'unknown'
    WHEN useridentity.type = 'AssumedRole'
         AND nullif(useridentity.sessioncontext.sessionissuer.arn, '') IS NOT NULL
        THEN useridentity.sessioncontext.sessionissuer.arn
    WHEN useridentity.type = 'AssumedRole'
         AND {{ d.matches('useridentity.arn', '^arn:[^:]+:sts::[^:]*:assumed-role/[^/]+(/|$)') }}
        THEN {{ d.role_arn_from_session('useridentity.arn') }}
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
END
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
{%- if scheme == 'manual' -%}
concat(year, '/', month, '/', day) BETWEEN {{ bind(first_folder) }} AND {{ bind(upto) }}
{%- else -%}
"timestamp" BETWEEN {{ bind(first_folder) }} AND {{ bind(upto) }}
{%- endif -%}
{%- if accounts and scheme == 'org' %}
    AND account IN ({% for a in accounts %}{{ bind(a) }}{% if not loop.last %}, {% endif %}{% endfor %})
{%- endif -%}
{%- if regions and scheme in ('org', 'manual') %}
    AND region IN ({% for r in regions %}{{ bind(r) }}{% if not loop.last %}, {% endif %}{% endfor %})
{%- endif -%}
{%- endmacro %}

{#- eventTime in [start, until) (`until` defaults to the range end), compared as instants
    in both dialects: '2026-10-01T00:00:00.500Z' is after '2026-10-01T00:00:00Z', though
    it sorts before it as text. The bounds stay bound values. -#}
{% macro time_filter(d, until=none) -%}
{{ d.instant('eventtime') }} >= {{ d.instant(bind(start)) }} AND {{ d.instant('eventtime') }} < {{ d.instant(bind(end if until is none else until)) }}
{%- endmacro %}

{% macro account_filter() -%}
{%- if accounts %}
    AND recipientaccountid IN ({% for a in accounts %}{{ bind(a) }}{% if not loop.last %}, {% endif %}{% endfor %})
{%- endif -%}
{%- if regions %}
    AND awsregion IN ({% for r in regions %}{{ bind(r) }}{% if not loop.last %}, {% endif %}{% endfor %})
{%- endif -%}
{%- endmacro %}
