"""vigil rows as OCSF events, built by DuckDB (one JSON object per row, nulls left out).

Findings become **Data Security Finding** events (class_uid 2006, category Findings) and
incidents **Incident Finding** events (class_uid 2005) of OCSF schema ``OCSF_VERSION``; no
profile is applied. docs/export.md has the attribute-by-attribute mapping and why incidents use
the Incident Finding class rather than the incident profile.

The mapping is SQL so that a million findings turn into JSON text inside DuckDB's vectorised
engine (``vigil.export.jsonsql``); Python only moves finished lines. An absent value is left
out rather than written as ``null``, which OCSF's types reject.
"""

from __future__ import annotations

from collections.abc import Mapping

import vigil
from vigil.lake.reads import latest_findings_sql
from vigil.export.jsonsql import array, boolean, lit, number, obj, present, sql_string, string, when

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
FILE_REGULAR = (1, "Regular File")
OBSERVABLE_EMAIL, OBSERVABLE_URL = 5, 6

# OCSF's email_t pattern: an address that does not match it is left out rather than exported
# as an event the schema rejects.
EMAIL_PATTERN = r"^[a-zA-Z0-9!#$%&'*+-/=?^_`{|}~.]+@[a-zA-Z0-9-]+\.[a-zA-Z0-9-.]+$"
RELATED_FINDINGS_PER_INCIDENT = 10
"""Occurrences listed in an incident's ``finding_info_list`` (newest first); ``count`` has them all.
Each is the short form (``related_info_sql``): the full finding is its own Data Security Finding
event, which a SIEM joins on ``finding_info.uid``."""


def _case(column: str, mapping: Mapping[str, tuple[int, str]], *, default_id: int = 99) -> tuple[str, str]:
    """JSON SQL (id, caption) mapping ``column`` through ``mapping``: NULL is 0 "Unknown", values
    OCSF has no id for are 99 "Other" with the vigil value as caption."""
    ids = " ".join(f"WHEN {column} = {sql_string(k)} THEN '{v[0]}'" for k, v in mapping.items())
    caps = " ".join(f"WHEN {column} = {sql_string(k)} THEN {lit(v[1])}" for k, v in mapping.items())
    return (f"(CASE WHEN {column} IS NULL THEN '0' {ids} ELSE '{default_id}' END)",
            f"(CASE WHEN {column} IS NULL THEN {lit('Unknown')} {caps} ELSE {string(column)} END)")


def _ms(column: str) -> str:
    return number(f"epoch_ms({column})")


def email_sql(column: str) -> str:
    """``column`` when it is an address OCSF's email_t accepts, else NULL."""
    return f"(CASE WHEN regexp_full_match({column}, {sql_string(EMAIL_PATTERN)}) THEN {column} END)"


def web_url_sql(column: str) -> str:
    """``column`` when it is an http(s) link, else NULL (only web links are exported as URLs)."""
    return f"(CASE WHEN starts_with({column}, 'https://') OR starts_with({column}, 'http://') THEN {column} END)"


def _user(uid: str, email_ok: str, name: str) -> str:
    """An OCSF user object (absent when neither id nor name is known)."""
    return when(f"{uid} IS NOT NULL OR {name} IS NOT NULL",
                obj({"uid": string(uid), "email_addr": string(email_ok), "name": string(name)}))


PRODUCT = lit({"name": PRODUCT_NAME, "vendor_name": PRODUCT_NAME, "version": vigil.__version__})


def _class_members(cls: tuple[int, str], act_id: str | None = None, act_name: str | None = None) -> dict[str, str]:
    """class/category/activity/type members. ``act_id`` / ``act_name`` are plain SQL (an integer
    and a text); the default is Create."""
    act_id = act_id or str(ACTIVITIES["create"][0])
    act_name = act_name or sql_string(ACTIVITIES["create"][1])
    return {
        "class_uid": lit(cls[0]), "class_name": lit(cls[1]),
        "category_uid": lit(CATEGORY[0]), "category_name": lit(CATEGORY[1]),
        "activity_id": present(number(act_id)), "activity_name": present(string(act_name)),
        "type_uid": present(number(f"{cls[0] * 100} + {act_id}")),
        "type_name": present(string(f"{sql_string(cls[1] + ': ')} || {act_name}")),
    }


def _observable(type_id: int, name: str, value_sql: str) -> str:
    return when(f"{value_sql} IS NOT NULL",
                obj({"name": lit(name), "type_id": lit(type_id), "value": string(value_sql)}))


def finding_title(alias: str = "f") -> str:
    """SQL of a short finding title: ``AWS_CREDENTIALS in message of chat "Deploy notes"``."""
    where = (f"coalesce(' of chat \"' || {alias}.chat_title || '\"', "
             f"' of project \"' || {alias}.project_name || '\"', '')")
    return f"({alias}.infotype || ' in ' || coalesce({alias}.object_kind, 'content') || {where})"


def prepared_findings(source: str | None = None) -> str:
    """``source`` (default: the latest copy of each finding) plus the per-row values the mapping
    uses several times (computed once)."""
    source = source or latest_findings_sql()
    return (f"(SELECT *, {email_sql('user_email')} AS ocsf_email, {web_url_sql('chat_url')} AS ocsf_url "
            f"FROM {source})")


def finding_info_sql(a: str = "f") -> str:
    """JSON SQL of the OCSF ``finding_info`` object of a prepared findings row."""
    return obj({
        "uid": present(string(f"{a}.finding_id")),
        "title": string(finding_title(a)),
        "types": array([string(f"{a}.infotype"), string(f"{a}.category")]),
        "created_time": _ms(f"{a}.scanned_at"),
        "first_seen_time": _ms(f"{a}.event_time"),
        "last_seen_time": _ms(f"{a}.event_time"),
        "src_url": string(f"{a}.ocsf_url"),
        "data_sources": lit([DATA_SOURCE]),
        "analytic": obj({"type_id": lit(REGEX_ANALYTIC[0]), "type": lit(REGEX_ANALYTIC[1]),
                         "uid": string(f"{a}.detector"), "name": string(f"{a}.detector")}),
    })


def related_info_sql(a: str = "f") -> str:
    """JSON SQL of the short ``finding_info`` an incident lists for one of its occurrences."""
    return obj({
        "uid": string(f"{a}.finding_id"),
        "title": string(finding_title(a)),
        "first_seen_time": _ms(f"{a}.event_time"),
        "last_seen_time": _ms(f"{a}.event_time"),
        "src_url": string(f"{a}.ocsf_url"),
    })


def finding_event_sql(a: str = "f", logged_time: str | None = None, with_context: bool = True) -> str:
    """JSON SQL: the Data Security Finding event of a row of ``prepared_findings()``.

    ``logged_time`` is a timestamp SQL expression for ``metadata.logged_time`` (default: the
    row's ``landed_at``); ``with_context`` adds the masked surrounding text under ``unmapped``.
    """
    sev_id, sev = _case(f"{a}.severity", SEVERITY)
    conf_id, conf = _case(f"upper({a}.likelihood)", CONFIDENCE)
    cat_id, cat = _case(f"{a}.category", DATA_CATEGORY)
    user = _user(f"{a}.user_id", f"{a}.ocsf_email", f"{a}.user_email")
    # What no OCSF attribute above carries (infotype and category also head finding_info.types).
    vigil_fields = {k: string(f'{a}."{k}"') for k in (
        "infotype", "category", "likelihood", "author_role", "model", "chat_title", "scan_run_id")}
    vigil_fields.update({"start": number(f"{a}.start"), "end": number(f'{a}."end"'),
                         "deleted_at": string(f"strftime({a}.deleted_at, '%Y-%m-%dT%H:%M:%S.%fZ')"),
                         "context": string(f"{a}.context") if with_context else None})
    return obj({
        **_class_members(FINDING_CLASS),
        "time": _ms(f"{a}.scanned_at"),
        "severity_id": present(sev_id), "severity": present(sev),
        "confidence_id": present(conf_id), "confidence": present(conf),
        "status_id": lit(FINDING_STATUS[0]), "status": lit(FINDING_STATUS[1]),
        "is_alert": boolean(f"coalesce({a}.severity IN ('high', 'critical'), false)"),
        "count": lit(1),
        "message": string(f"{a}.infotype || ' (' || coalesce({a}.severity, 'unknown severity') || ') found in ' "
                          f"|| coalesce({a}.object_kind, 'content') || ' of ' || coalesce({a}.user_email, 'an unknown user')"),
        "metadata": obj({
            "version": lit(OCSF_VERSION), "product": PRODUCT,
            "uid": string(f"{a}.finding_id"), "correlation_uid": string(f"{a}.fingerprint"),
            "log_name": lit("findings"), "logged_time": _ms(logged_time or f"{a}.landed_at"),
            "tenant_uid": string(f"{a}.org_id"),
        }),
        "finding_info": finding_info_sql(a),
        "data_security": obj({
            "category_id": present(cat_id), "category": present(cat),
            "data_lifecycle_state_id": lit(DATA_AT_REST[0]), "data_lifecycle_state": lit(DATA_AT_REST[1]),
            "detection_system_id": lit(DSPM[0]), "detection_system": lit(DSPM[1]),
            "detection_pattern": string(f"{a}.detector"),
            "pattern_match": string(f"{a}.masked"),
        }),
        "actor": when(f"{a}.user_id IS NOT NULL OR {a}.user_email IS NOT NULL", obj({"user": user})),
        "resources": array([obj({
            "uid": string(f"{a}.object_key"),
            "name": string(f"coalesce({a}.file_name, {a}.chat_title, {a}.project_name, {a}.object_id)"),
            "type": string(f"{a}.object_kind"),
            "group": when(f"{a}.project_id IS NOT NULL OR {a}.project_name IS NOT NULL",
                          obj({"uid": string(f"{a}.project_id"), "name": string(f"{a}.project_name"),
                               "type": lit("project")})),
            "data": obj({"object_id": string(f"{a}.object_id"),
                         "object_version": string(f"nullif({a}.object_version, '')"),
                         "chat_id": string(f"{a}.chat_id"), "message_id": string(f"{a}.message_id"),
                         "locator": string(f"{a}.locator")}),
        })]),
        "file": when(f"{a}.file_name IS NOT NULL",
                     obj({"name": string(f"{a}.file_name"), "uid": string(f"{a}.file_id"),
                          "type_id": lit(FILE_REGULAR[0]), "type": lit(FILE_REGULAR[1])})),
        "observables": array([_observable(OBSERVABLE_EMAIL, "actor.user.email_addr", f"{a}.ocsf_email"),
                              _observable(OBSERVABLE_URL, "finding_info.src_url", f"{a}.ocsf_url")]),
        "unmapped": obj({"vigil": obj(vigil_fields)}),
    })


def _is_list(column_type: str) -> bool:
    return column_type.endswith("[]") or column_type.startswith("LIST")


def _count(column: str, column_type: str) -> str:
    """``users``/``chats``/``projects`` may be counts or lists: the count either way."""
    return f"len({column})" if _is_list(column_type) else column


def _as_json(column: str, column_type: str) -> str:
    """A count or a list column, as JSON text."""
    return f"CAST(to_json({column}) AS VARCHAR)" if _is_list(column_type) else number(column)


def incident_event_sql(columns: Mapping[str, str], a: str = "i", related: str = "r",
                       created_after: str | None = None) -> str:
    """JSON SQL: the Incident Finding event of an ``incidents`` row.

    ``columns`` maps the incidents relation's column names to DuckDB types (``users``, ``chats``
    and ``projects`` may be counts or lists). ``related`` is an alias with an ``infos`` column:
    the incident's occurrences as JSON array text of ``finding_info`` objects (may be NULL).
    ``created_after`` (timestamp SQL): an open incident first seen after it is a *Create*,
    earlier ones an *Update*; without it every open incident is a *Create*. Resolved and false
    positive incidents are *Close*.
    """
    sev_id, sev = _case(f"{a}.severity", SEVERITY)
    pri_id, pri = _case(f"{a}.severity", PRIORITY)
    st_id, st = _case(f"{a}.status", INCIDENT_STATUS)
    closed = f"coalesce({a}.status IN ({', '.join(sql_string(s) for s in CLOSED_STATUSES)}), false)"
    is_new = "TRUE" if created_after is None else f"coalesce({a}.first_seen > {created_after}, false)"
    act = {k: (str(v[0]), sql_string(v[1])) for k, v in ACTIVITIES.items()}
    act_id = f"(CASE WHEN {closed} THEN {act['close'][0]} WHEN {is_new} THEN {act['create'][0]} ELSE {act['update'][0]} END)"
    act_name = f"(CASE WHEN {closed} THEN {act['close'][1]} WHEN {is_new} THEN {act['create'][1]} ELSE {act['update'][1]} END)"
    counts = {c: _count(f"{a}.{c}", columns.get(c, "BIGINT")) for c in ("users", "chats", "projects")}
    url = web_url_sql(f"{a}.chat_url")
    fallback_info = array([obj({
        "uid": string(f"{a}.incident_id"), "title": string(f"{a}.infotype || ' ' || coalesce({a}.masked, '')"),
        "types": array([string(f"{a}.infotype"), string(f"{a}.category")]),
        "first_seen_time": _ms(f"{a}.first_seen"), "last_seen_time": _ms(f"{a}.last_seen")})])
    is_fp = f"coalesce({a}.status = 'false_positive', false)"
    return obj({
        **_class_members(INCIDENT_CLASS, act_id, act_name),
        "time": _ms(f"coalesce({a}.updated_at, {a}.last_seen)"),
        "start_time": _ms(f"{a}.first_seen"), "end_time": _ms(f"{a}.last_seen"),
        "severity_id": sev_id, "severity": sev,
        "priority_id": pri_id, "priority": pri,
        "status_id": st_id, "status": st,
        "verdict_id": when(is_fp, lit(FALSE_POSITIVE_VERDICT[0])),
        "verdict": when(is_fp, lit(FALSE_POSITIVE_VERDICT[1])),
        "count": number(f"{a}.occurrences"),
        "desc": string(f"{a}.infotype || ' value ' || coalesce({a}.masked, '') || ': ' || {a}.occurrences "
                       f"|| ' occurrence(s), ' || coalesce(CAST({counts['users']} AS VARCHAR), '?') || ' user(s), ' "
                       f"|| coalesce(CAST({counts['chats']} AS VARCHAR), '?') || ' chat(s)'"),
        "message": string(f"{a}.infotype || ' incident (' || coalesce({a}.severity, 'unknown severity') || ', ' "
                          f"|| coalesce({a}.status, 'unknown status') || ')'"),
        "src_url": string(url),
        "assignee": when(f"nullif({a}.assignee, '') IS NOT NULL",
                         obj({"name": string(f"{a}.assignee"), "email_addr": string(email_sql(f"{a}.assignee"))})),
        # OCSF asks for an assignee or an assignee group: the incident's policy is its queue.
        "assignee_group": obj({"name": string(f"coalesce({a}.policy, {sql_string(PRODUCT_NAME)})"),
                               "type": lit("vigil policy")}),
        "comment": string(f"nullif({a}.notes, '')"),
        "metadata": obj({
            "version": lit(OCSF_VERSION), "product": PRODUCT,
            "uid": string(f"{a}.incident_id || ':' || coalesce(CAST(epoch_ms({a}.updated_at) AS VARCHAR), '0')"),
            "correlation_uid": string(f"{a}.incident_id"),
            "log_name": lit("incidents"),
        }),
        "finding_info_list": f"coalesce({related}.infos, {fallback_info})",
        "observables": array([_observable(OBSERVABLE_URL, "src_url", url)]),
        "unmapped": obj({"vigil": obj({
            **{k: string(f"{a}.{k}") for k in ("incident_id", "policy", "fingerprint", "infotype", "category",
                                                "severity", "masked", "status", "object_key")},
            **{c: _as_json(f"{a}.{c}", columns.get(c, "BIGINT")) for c in ("users", "chats", "projects")},
        })}),
    })


def related_infos_sql(incidents: str, findings: str | None = None,
                      per_incident: int = RELATED_FINDINGS_PER_INCIDENT) -> str:
    """SQL of a relation (fingerprint, infotype, infos): each selected incident's newest
    occurrences as a JSON array text of ``finding_info`` objects. ``incidents`` is a relation
    with the incidents to export. Only the kept occurrences are turned into JSON."""
    order = "f.event_time DESC, f.finding_id"
    return f"""
        WITH kept AS (
            SELECT f.* FROM {prepared_findings(findings)} AS f
            SEMI JOIN {incidents} AS sel ON f.fingerprint = sel.fingerprint AND f.infotype = sel.infotype
            QUALIFY row_number() OVER (PARTITION BY f.fingerprint, f.infotype ORDER BY {order}) <= {int(per_incident)})
        SELECT f.fingerprint, f.infotype,
               '[' || string_agg({related_info_sql('f')}, ',' ORDER BY {order}) || ']' AS infos
        FROM kept AS f GROUP BY f.fingerprint, f.infotype
    """
