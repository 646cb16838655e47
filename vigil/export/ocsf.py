"""vigil rows as OCSF events, built by DuckDB (one JSON object per row, nulls left out).

Findings become **Data Security Finding** events (class_uid 2006, category Findings) and
incidents **Incident Finding** events (class_uid 2005) of OCSF schema ``OCSF_VERSION``; no
profile is applied. docs/export.md has the attribute-by-attribute mapping and why incidents use
the Incident Finding class rather than the incident profile.

The mapping is SQL so that a million findings turn into JSON inside DuckDB's vectorised engine:
Python only moves finished lines. ``json_merge_patch('{}', …)`` drops null members (RFC 7396),
so an absent value is left out rather than written as ``null``, which OCSF's types reject.
Elements of arrays are cleaned one by one (a merge patch does not descend into arrays).
"""

from __future__ import annotations

from collections.abc import Mapping

import duckdb

import vigil
from vigil.lake.views import sql_literal

OCSF_VERSION = "1.7.0"
PRODUCT_NAME = "vigil"
DATA_SOURCE = "Anthropic Compliance API"

FINDING_CLASS = (2006, "Data Security Finding")
INCIDENT_CLASS = (2005, "Incident Finding")
CATEGORY = (2, "Findings")
ACTIVITIES = {"create": (1, "Create"), "update": (2, "Update"), "close": (3, "Close")}

# vigil value -> (OCSF enum id, caption). Anything else maps to 99 "Other" with the vigil value
# as the caption, as OCSF asks for source values it has no id for.
SEVERITY = {"low": (2, "Low"), "medium": (3, "Medium"), "high": (4, "High"), "critical": (5, "Critical")}
PRIORITY = {"low": (1, "Low"), "medium": (2, "Medium"), "high": (3, "High"), "critical": (4, "Critical")}
CONFIDENCE = {"VERY_UNLIKELY": (1, "Low"), "UNLIKELY": (1, "Low"), "POSSIBLE": (2, "Medium"),
              "LIKELY": (3, "High"), "VERY_LIKELY": (3, "High")}
DATA_CATEGORY = {"credential": (6, "Security"), "pii": (1, "Personal"), "national_id": (1, "Personal"),
                 "health": (1, "Personal"), "financial": (3, "Financial")}
INCIDENT_STATUS = {"open": (1, "New"), "acknowledged": (2, "In Progress"),
                   "resolved": (4, "Resolved"), "false_positive": (5, "Closed")}
CLOSED_STATUSES = ("resolved", "false_positive")
FALSE_POSITIVE_VERDICT = (1, "False Positive")
FINDING_STATUS = (1, "New")
DATA_AT_REST = (1, "Data at-Rest")  # vigil reads stored chats and files, after the fact
DSPM = (12, "Data Security Posture Management")  # continuous discovery over a SaaS data store
REGEX_ANALYTIC = (8, "Regular Expressions")
RULE_ANALYTIC = (1, "Rule")
FILE_REGULAR = (1, "Regular File")
OBSERVABLE_EMAIL, OBSERVABLE_URL, OBSERVABLE_FILE_NAME = 5, 6, 7

# OCSF's email_t pattern: an address that does not match it is left out rather than exported
# as an event the schema rejects.
EMAIL_PATTERN = r"^[a-zA-Z0-9!#$%&'*+-/=?^_`{|}~.]+@[a-zA-Z0-9-]+\.[a-zA-Z0-9-.]+$"
RELATED_FINDINGS_PER_INCIDENT = 20
"""Occurrences listed in an incident's ``finding_info_list`` (newest first); ``count`` has them all."""


def _case(column: str, mapping: Mapping[str, tuple[int, str]], *, default_id: int = 99) -> tuple[str, str]:
    """SQL expressions (id, caption) mapping ``column`` through ``mapping``."""
    whens_id = " ".join(f"WHEN {sql_literal(k)} THEN {v[0]}" for k, v in mapping.items())
    whens_cap = " ".join(f"WHEN {sql_literal(k)} THEN {sql_literal(v[1])}" for k, v in mapping.items())
    unknown_id = f"CASE WHEN {column} IS NULL THEN 0 ELSE {default_id} END"
    unknown_cap = f"coalesce({column}, 'Unknown')"
    return (f"(CASE {column} {whens_id} ELSE {unknown_id} END)",
            f"(CASE {column} {whens_cap} ELSE {unknown_cap} END)")


def _clean(struct_sql: str) -> str:
    """JSON of a struct with its null members (at every object level) left out."""
    return f"json_merge_patch('{{}}', to_json({struct_sql}))"


def _ms(column: str) -> str:
    return f"epoch_ms({column})"


def _email(column: str) -> str:
    return f"(CASE WHEN regexp_full_match({column}, {sql_literal(EMAIL_PATTERN)}) THEN {column} END)"


def _web_url(column: str) -> str:
    """Only http(s) links are exported as URLs."""
    return f"(CASE WHEN regexp_matches({column}, '^https?://') THEN {column} END)"


def _user(uid: str, email: str) -> str:
    """An OCSF user object, or NULL when neither id nor address is known."""
    return (f"(CASE WHEN {uid} IS NOT NULL OR {_email(email)} IS NOT NULL THEN "
            f"{{'uid': {uid}, 'email_addr': {_email(email)}, 'name': {email}}} END)")


def _product() -> str:
    return (f"{{'name': {sql_literal(PRODUCT_NAME)}, 'vendor_name': {sql_literal(PRODUCT_NAME)}, "
            f"'version': {sql_literal(vigil.__version__)}}}")


def _class_fields(cls: tuple[int, str], activity: tuple[str, str] | None = None) -> str:
    """class/category/activity/type members; ``activity`` = (id SQL, caption SQL) or Create."""
    act_id, act_name = activity or (str(ACTIVITIES["create"][0]), sql_literal(ACTIVITIES["create"][1]))
    return (f"'class_uid': {cls[0]}, 'class_name': {sql_literal(cls[1])}, "
            f"'category_uid': {CATEGORY[0]}, 'category_name': {sql_literal(CATEGORY[1])}, "
            f"'activity_id': {act_id}, 'activity_name': {act_name}, "
            f"'type_uid': {cls[0] * 100} + {act_id}, "
            f"'type_name': {sql_literal(cls[1] + ': ')} || {act_name}")


def _observables(*items: tuple[int, str, str]) -> str:
    """A list of observables (type_id, name, value SQL), leaving out those without a value."""
    elements = ", ".join(
        f"CASE WHEN {value} IS NOT NULL THEN {{'name': {sql_literal(name)}, 'type_id': {type_id}, "
        f"'value': {value}}} END" for type_id, name, value in items)
    return f"list_filter([{elements}], lambda o: o IS NOT NULL)"


def finding_title(alias: str = "f") -> str:
    """SQL of a short finding title: ``AWS_CREDENTIALS in message of chat "Deploy notes"``."""
    where = (f"coalesce(' of chat \"' || {alias}.chat_title || '\"', "
             f"' of project \"' || {alias}.project_name || '\"', '')")
    return f"({alias}.infotype || ' in ' || coalesce({alias}.object_kind, 'content') || {where})"


def finding_info_sql(alias: str = "f") -> str:
    """SQL of the OCSF ``finding_info`` object of a findings row."""
    return f"""{{
        'uid': {alias}.finding_id,
        'title': {finding_title(alias)},
        'types': list_filter([{alias}.infotype, {alias}.category], lambda t: t IS NOT NULL),
        'created_time': {_ms(f'{alias}.scanned_at')},
        'first_seen_time': {_ms(f'{alias}.event_time')},
        'last_seen_time': {_ms(f'{alias}.event_time')},
        'src_url': {_web_url(f'{alias}.chat_url')},
        'data_sources': [{sql_literal(DATA_SOURCE)}],
        'analytic': {{'uid': {alias}.detector, 'name': {alias}.detector,
                      'type_id': {REGEX_ANALYTIC[0]}, 'type': {sql_literal(REGEX_ANALYTIC[1])}}}
    }}"""


def finding_event_sql(alias: str = "f", logged_time: str | None = None, with_context: bool = True) -> str:
    """SQL expression: the Data Security Finding event (JSON text) of a ``findings`` row.

    ``logged_time`` is a timestamp SQL expression for ``metadata.logged_time`` (default: the
    row's ``landed_at``); ``with_context`` adds the masked surrounding text under ``unmapped``.
    """
    a = alias
    sev_id, sev = _case(f"{a}.severity", SEVERITY)
    conf_id, conf = _case(f"upper({a}.likelihood)", CONFIDENCE)
    cat_id, cat = _case(f"{a}.category", DATA_CATEGORY)
    logged = logged_time or f"{a}.landed_at"
    context = f"{a}.context" if with_context else "NULL::VARCHAR"
    resource = _clean(f"""{{
        'uid': {a}.object_key,
        'name': coalesce({a}.file_name, {a}.chat_title, {a}.project_name, {a}.object_id),
        'type': {a}.object_kind,
        'owner': {_user(f'{a}.user_id', f'{a}.user_email')},
        'group': CASE WHEN {a}.project_id IS NOT NULL OR {a}.project_name IS NOT NULL
                      THEN {{'uid': {a}.project_id, 'name': {a}.project_name, 'type': 'project'}} END,
        'data': {{'object_id': {a}.object_id, 'object_version': nullif({a}.object_version, ''),
                  'chat_id': {a}.chat_id, 'message_id': {a}.message_id, 'locator': {a}.locator}}
    }}""")
    return _clean(f"""{{
        {_class_fields(FINDING_CLASS)},
        'time': {_ms(f'{a}.scanned_at')},
        'severity_id': {sev_id}, 'severity': {sev},
        'confidence_id': {conf_id}, 'confidence': {conf},
        'status_id': {FINDING_STATUS[0]}, 'status': {sql_literal(FINDING_STATUS[1])},
        'is_alert': {a}.severity IN ('high', 'critical'),
        'count': 1,
        'message': {a}.infotype || ' (' || coalesce({a}.severity, 'unknown severity') || ') found in '
                   || coalesce({a}.object_kind, 'content') || ' of ' || coalesce({a}.user_email, 'an unknown user'),
        'metadata': {{
            'version': {sql_literal(OCSF_VERSION)}, 'product': {_product()},
            'uid': {a}.finding_id, 'correlation_uid': {a}.fingerprint,
            'log_name': 'findings', 'logged_time': {_ms(logged)}, 'tenant_uid': {a}.org_id
        }},
        'finding_info': {finding_info_sql(a)},
        'data_security': {{
            'category_id': {cat_id}, 'category': {cat},
            'data_lifecycle_state_id': {DATA_AT_REST[0]}, 'data_lifecycle_state': {sql_literal(DATA_AT_REST[1])},
            'detection_system_id': {DSPM[0]}, 'detection_system': {sql_literal(DSPM[1])},
            'detection_pattern': {a}.detector,
            'pattern_match': {a}.masked,
            'classifier_details': {{'type': {sql_literal(REGEX_ANALYTIC[1])}, 'name': {a}.detector,
                                    'uid': {a}.detector}},
            'src_url': {_web_url(f'{a}.chat_url')}
        }},
        'actor': CASE WHEN {_user(f'{a}.user_id', f'{a}.user_email')} IS NOT NULL
                      THEN {{'user': {_user(f'{a}.user_id', f'{a}.user_email')}}} END,
        'resources': [{resource}],
        'file': CASE WHEN {a}.file_name IS NOT NULL
                     THEN {{'name': {a}.file_name, 'uid': {a}.file_id, 'type_id': {FILE_REGULAR[0]},
                            'type': {sql_literal(FILE_REGULAR[1])}}} END,
        'observables': {_observables((OBSERVABLE_EMAIL, 'actor.user.email_addr', _email(f'{a}.user_email')),
                                     (OBSERVABLE_URL, 'finding_info.src_url', _web_url(f'{a}.chat_url')),
                                     (OBSERVABLE_FILE_NAME, 'file.name', f'{a}.file_name'))},
        'unmapped': {{'vigil': {{
            'infotype': {a}.infotype, 'category': {a}.category, 'severity': {a}.severity,
            'likelihood': {a}.likelihood, 'fingerprint': {a}.fingerprint, 'masked': {a}.masked,
            'context': {context}, 'object_kind': {a}.object_kind, 'locator': {a}.locator,
            'start': {a}.start, 'end': {a}."end", 'author_role': {a}.author_role, 'model': {a}.model,
            'chat_id': {a}.chat_id, 'chat_title': {a}.chat_title, 'project_id': {a}.project_id,
            'project_name': {a}.project_name, 'deleted_at': strftime({a}.deleted_at, '%Y-%m-%dT%H:%M:%S.%fZ'),
            'scan_run_id': {a}.scan_run_id
        }}}}
    }}""")


def _count(column: str, column_type: str) -> str:
    """``users``/``chats``/``projects`` may be counts or lists: the count either way."""
    return f"len({column})" if column_type.endswith("[]") or column_type.startswith("LIST") else f"{column}"


def incident_event_sql(columns: Mapping[str, str], alias: str = "i", related: str = "r",
                       created_after: str | None = None) -> str:
    """SQL expression: the Incident Finding event (JSON text) of an ``incidents`` row.

    ``columns`` maps the incidents relation's column names to DuckDB types (``users``, ``chats``
    and ``projects`` may be counts or lists). ``related`` is an alias with a ``infos`` column: the
    incident's occurrences as a list of ``finding_info`` JSON values (may be NULL).
    ``created_after`` (timestamp SQL): an open incident first seen after it is a *Create*,
    earlier ones an *Update*; without it every open incident is a *Create*. Resolved and false
    positive incidents are *Close*.
    """
    a = alias
    sev_id, sev = _case(f"{a}.severity", SEVERITY)
    pri_id, pri = _case(f"{a}.severity", PRIORITY)
    st_id, st = _case(f"{a}.status", INCIDENT_STATUS)
    closed = f"{a}.status IN ({', '.join(sql_literal(s) for s in CLOSED_STATUSES)})"
    is_new = "TRUE" if created_after is None else f"{a}.first_seen > {created_after}"
    act_id = (f"(CASE WHEN {closed} THEN {ACTIVITIES['close'][0]} WHEN {is_new} "
              f"THEN {ACTIVITIES['create'][0]} ELSE {ACTIVITIES['update'][0]} END)")
    act_name = (f"(CASE WHEN {closed} THEN {sql_literal(ACTIVITIES['close'][1])} WHEN {is_new} "
                f"THEN {sql_literal(ACTIVITIES['create'][1])} ELSE {sql_literal(ACTIVITIES['update'][1])} END)")
    users = _count(f"{a}.users", columns.get("users", "BIGINT"))
    chats = _count(f"{a}.chats", columns.get("chats", "BIGINT"))
    projects = _count(f"{a}.projects", columns.get("projects", "BIGINT"))
    fallback_info = _clean(f"""{{'uid': {a}.incident_id, 'title': {a}.infotype || ' ' || coalesce({a}.masked, ''),
                                 'types': list_filter([{a}.infotype, {a}.category], lambda t: t IS NOT NULL),
                                 'first_seen_time': {_ms(f'{a}.first_seen')},
                                 'last_seen_time': {_ms(f'{a}.last_seen')}}}""")
    return _clean(f"""{{
        {_class_fields(INCIDENT_CLASS, (act_id, act_name))},
        'time': {_ms(f'coalesce({a}.updated_at, {a}.last_seen)')},
        'start_time': {_ms(f'{a}.first_seen')}, 'end_time': {_ms(f'{a}.last_seen')},
        'severity_id': {sev_id}, 'severity': {sev},
        'priority_id': {pri_id}, 'priority': {pri},
        'status_id': {st_id}, 'status': {st},
        'verdict_id': CASE WHEN {a}.status = 'false_positive' THEN {FALSE_POSITIVE_VERDICT[0]} END,
        'verdict': CASE WHEN {a}.status = 'false_positive' THEN {sql_literal(FALSE_POSITIVE_VERDICT[1])} END,
        'count': {a}.occurrences,
        'desc': {a}.infotype || ' value ' || coalesce({a}.masked, '') || ': ' || {a}.occurrences || ' occurrence(s), '
                || coalesce({users}::VARCHAR, '?') || ' user(s), ' || coalesce({chats}::VARCHAR, '?') || ' chat(s)',
        'message': {a}.infotype || ' incident (' || coalesce({a}.severity, 'unknown severity') || ', '
                   || coalesce({a}.status, 'unknown status') || ')',
        'src_url': {_web_url(f'{a}.chat_url')},
        'assignee': CASE WHEN {a}.assignee IS NOT NULL AND {a}.assignee <> ''
                         THEN {{'name': {a}.assignee, 'email_addr': {_email(f'{a}.assignee')}}} END,
        'assignee_group': {{'name': coalesce({a}.policy, {sql_literal(PRODUCT_NAME)}), 'type': 'vigil policy'}},
        'comment': nullif({a}.notes, ''),
        'metadata': {{
            'version': {sql_literal(OCSF_VERSION)}, 'product': {_product()},
            'uid': {a}.incident_id || ':' || coalesce(CAST({_ms(f'{a}.updated_at')} AS VARCHAR), '0'),
            'correlation_uid': {a}.incident_id,
            'log_name': 'incidents'
        }},
        'finding_info_list': coalesce({related}.infos, [{fallback_info}]),
        'observables': {_observables((OBSERVABLE_URL, 'src_url', _web_url(f'{a}.chat_url')))},
        'unmapped': {{'vigil': {{
            'incident_id': {a}.incident_id, 'policy': {a}.policy, 'fingerprint': {a}.fingerprint,
            'infotype': {a}.infotype, 'category': {a}.category, 'severity': {a}.severity,
            'masked': {a}.masked, 'status': {a}.status, 'users': {a}.users, 'chats': {a}.chats,
            'projects': {a}.projects, 'object_key': {a}.object_key
        }}}}
    }}""")


def related_infos_sql(incidents: str, findings: str = "findings",
                      per_incident: int = RELATED_FINDINGS_PER_INCIDENT) -> str:
    """SQL of a relation (fingerprint, infotype, infos): each selected incident's newest
    occurrences as ``finding_info`` JSON values. ``incidents`` is a relation with the incidents
    to export."""
    return f"""
        SELECT f.fingerprint, f.infotype,
               list({_clean(finding_info_sql('f'))} ORDER BY f.event_time DESC, f.finding_id)[1:{int(per_incident)}] AS infos
        FROM {findings} AS f
        SEMI JOIN {incidents} AS sel ON f.fingerprint = sel.fingerprint AND f.infotype = sel.infotype
        GROUP BY f.fingerprint, f.infotype
    """


def relation_columns(con: duckdb.DuckDBPyConnection, relation: str) -> dict[str, str]:
    """Column name -> DuckDB type of a table or view (empty when it does not exist)."""
    try:
        rows = con.execute(f"DESCRIBE {relation}").fetchall()
    except duckdb.CatalogException:
        return {}
    return {r[0]: str(r[1]) for r in rows}
