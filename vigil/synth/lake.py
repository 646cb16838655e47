"""A synthetic lake of findings, coverage and scan runs, for benchmarks and report tests.

``generate_lake(lake, findings=1_000_000)`` writes months of scan output the way scans would
have landed it (one Parquet file per table and landing day, through the lake's own writer), with
the shapes that make reports and incidents hard: a few leaked values repeated thousands of times
(a Zipf law over values), a long tail of values seen once, busy and quiet users, chats with many
findings, projects, every infotype of the built-in rules, skipped objects and rate-limited runs.
Vectorised with numpy: a million findings take seconds. Values are stand-ins: ``masked`` and
``fingerprint`` look like the real ones but no raw value exists anywhere.

``create_standin_incidents(con)`` builds an ``incidents`` table with the column contract of
docs/export.md by grouping findings by fingerprint. It is a stand-in for tests and benchmarks
only, not vigil's incident logic.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from vigil.lake import Lake
from vigil.lake.schemas import TABLES
from vigil.lake.writer import new_file_name, partition_dir, write_parquet

OBJECT_KINDS = np.array(["message", "file", "project_document", "artifact_version", "chat"])
OBJECT_KIND_P = np.array([0.62, 0.2, 0.06, 0.06, 0.06])
SKIP_REASONS = np.array(["too_large", "type_excluded", "encrypted", "corrupt", "unsupported", "timeout"])
SKIP_REASON_P = np.array([0.3, 0.35, 0.1, 0.1, 0.1, 0.05])
CATEGORY_WEIGHT = {"pii": 5.0, "financial": 2.0, "health": 1.0, "credential": 1.5, "custom": 0.5}
TRICKY_TITLES = ["<script>alert('x')</script>", "[red]urgent[/red] keys", "Q3 plan & \"budget\" <draft>",
                 "</td></tr><tr><td>injected", "| pipe | title |"]
FILE_NAMES = np.array(["credentials.txt", "customers.xlsx", "payroll.csv", "notes.md", "deploy.env",
                       "contract.pdf", "patients.docx", "export.json", "backup.sql", "slides.pptx"])


@dataclass
class GeneratedLake:
    """What ``generate_lake`` wrote."""

    findings: int
    fingerprints: int
    users: int
    chats: int
    objects: int
    scan_runs: int
    days: int
    now: datetime


def _hex_ids(prefix: str, n: int, width: int = 32) -> np.ndarray:
    return np.array([hashlib.sha256(f"{prefix}{i}".encode()).hexdigest()[:width] for i in range(n)], dtype=object)


def _zipf_p(n: int, a: float) -> np.ndarray:
    p = 1.0 / np.arange(1, n + 1) ** a
    return p / p.sum()


def _ts(now: datetime, seconds_ago: np.ndarray) -> pa.Array:
    micros = int(now.timestamp() * 1_000_000) - (seconds_ago * 1_000_000).astype(np.int64)
    return pa.array(micros, type=pa.timestamp("us", tz="UTC"))


def _rules() -> list[tuple[str, str, str, str]]:
    from vigil.detect.rules import load_builtin_rules  # noqa: PLC0415 - heavy import, only here

    return [(r.infotype, r.category, r.severity, r.id) for r in load_builtin_rules()]


def synthetic_findings(n: int, *, days: int = 90, users: int = 2_000, chats: int = 60_000,
                       projects: int = 300, repeat: float = 7.0, seed: int = 7,
                       now: datetime | None = None) -> pa.Table:
    """``n`` findings rows (the lake's ``findings`` schema, ``landed_at`` included).

    About ``n / repeat`` distinct values, drawn by a Zipf law: the most pasted value appears
    thousands of times, most values once or twice. 80% of a value's occurrences come from one
    "home" user (the person who keeps pasting the same key).
    """
    now = now or datetime.now(timezone.utc).replace(microsecond=0)
    rng = np.random.default_rng(seed)
    rules = _rules()
    rule_w = np.array([CATEGORY_WEIGHT.get(c, 1.0) * (0.5 if s == "critical" else 1.0) for _, c, s, _ in rules])
    n_values = max(1, int(n / repeat))
    value_rule = rng.choice(len(rules), size=n_values, p=rule_w / rule_w.sum())
    value_of = rng.choice(n_values, size=n, p=_zipf_p(n_values, 1.05))
    user_p = _zipf_p(users, 0.8)
    home_user = rng.choice(users, size=n_values, p=user_p)
    own = rng.random(n) < 0.8
    user_of = np.where(own, home_user[value_of], rng.choice(users, size=n, p=user_p))
    per_user = max(1, chats // users)
    chat_of = user_of + users * rng.integers(0, per_user, size=n)
    project_of = np.where(chat_of % 5 < 2, (chat_of * 7919) % projects, -1)
    rule_of = value_rule[value_of]
    kind_of = rng.choice(len(OBJECT_KINDS), size=n, p=OBJECT_KIND_P)
    object_of = rng.integers(0, max(1, int(n * 0.6)), size=n)

    age = rng.random(n) ** 0.8 * days * 86_400.0  # more recent content is more frequent
    scan_delay = np.minimum(rng.exponential(1_800.0, size=n), age)
    event_s, scanned_s = age, age - scan_delay
    landed_s = np.maximum(scanned_s - 1.0, 0.0)

    infotype = np.array([r[0] for r in rules], dtype=object)[rule_of]
    category = np.array([r[1] for r in rules], dtype=object)[rule_of]
    severity = np.array([r[2] for r in rules], dtype=object)[rule_of]
    detector = np.array([r[3] for r in rules], dtype=object)[rule_of]
    fingerprints = _hex_ids("value", n_values)
    masked_values = np.array([f"{'*' * 8}{fp[:4]}" for fp in fingerprints], dtype=object)
    chat_ids = np.array([f"claude_chat_{i:08d}" for i in range(per_user * users)], dtype=object)
    chat_urls = np.array([f"https://claude.ai/chat/{i:08d}-0000-4000-8000-{i:012d}"
                          for i in range(per_user * users)], dtype=object)
    titles = np.array([TRICKY_TITLES[i % len(TRICKY_TITLES)] if i % 997 == 0 else f"Chat {i}"
                       for i in range(per_user * users)], dtype=object)
    emails = np.array([f"user{i:05d}@example.com" for i in range(users)], dtype=object)
    kinds = OBJECT_KINDS.astype(object)[kind_of]
    object_ids = np.array([f"obj_{i:09d}" for i in object_of], dtype=object)
    object_keys = np.array([hashlib.md5(f"{k}{o}".encode()).hexdigest() for k, o in zip(kinds, object_ids)],
                           dtype=object)
    is_file = kind_of == 1
    has_project = project_of >= 0
    finding_ids = np.array([hashlib.sha256(f"f{seed}:{i}".encode()).hexdigest()[:32] for i in range(n)],
                           dtype=object)
    masked = masked_values[value_of]
    context = np.array([f"... here is the value {m} for the deploy ..." for m in masked], dtype=object)

    def opt(mask: np.ndarray, values: np.ndarray) -> pa.Array:
        return pa.array(np.where(mask, values, None).tolist(), type=pa.string())

    columns = {
        "finding_id": pa.array(finding_ids.tolist(), pa.string()),
        "org_id": pa.array(["00000000-0000-4000-8000-000000000001"] * n, pa.string()),
        "chat_id": pa.array(chat_ids[chat_of].tolist(), pa.string()),
        "chat_title": pa.array(titles[chat_of].tolist(), pa.string()),
        "message_id": pa.array([f"msg_{i}" for i in object_of], pa.string()),
        "author_role": pa.array(np.where(rng.random(n) < 0.85, "user", "assistant").tolist(), pa.string()),
        "model": pa.array(["claude-sonnet-4-5"] * n, pa.string()),
        "file_id": opt(is_file, object_ids),
        "file_name": opt(is_file, FILE_NAMES.astype(object)[object_of % len(FILE_NAMES)]),
        "project_id": opt(has_project, np.array([f"claude_proj_{p:04d}" for p in project_of], dtype=object)),
        "project_name": opt(has_project, np.array([f"Project {p}" for p in project_of], dtype=object)),
        "user_id": pa.array([f"user_{u:05d}" for u in user_of], pa.string()),
        "user_email": pa.array(emails[user_of].tolist(), pa.string()),
        "chat_url": pa.array(chat_urls[chat_of].tolist(), pa.string()),
        "deleted_at": pa.nulls(n, pa.timestamp("us", tz="UTC")),
        "object_key": pa.array(object_keys.tolist(), pa.string()),
        "object_kind": pa.array(kinds.tolist(), pa.string()),
        "object_id": pa.array(object_ids.tolist(), pa.string()),
        "object_version": pa.array(np.where(is_file, "md5", "").tolist(), pa.string()),
        "locator": pa.array(np.where(is_file, "page:1", "text").tolist(), pa.string()),
        "start": pa.array(rng.integers(0, 5_000, size=n), pa.int64()),
        "end": None,
        "infotype": pa.array(infotype.tolist(), pa.string()),
        "category": pa.array(category.tolist(), pa.string()),
        "detector": pa.array(detector.tolist(), pa.string()),
        "likelihood": pa.array(np.where(rng.random(n) < 0.7, "VERY_LIKELY", "LIKELY").tolist(), pa.string()),
        "severity": pa.array(severity.tolist(), pa.string()),
        "masked": pa.array(masked.tolist(), pa.string()),
        "fingerprint": pa.array(fingerprints[value_of].tolist(), pa.string()),
        "context": pa.array(context.tolist(), pa.string()),
        "event_time": _ts(now, event_s),
        "scanned_at": _ts(now, scanned_s),
        "scan_run_id": pa.array([f"forward-{int(s // 900):06d}" for s in scanned_s], pa.string()),  # 15-min runs
        "landed_at": _ts(now, landed_s),
    }
    columns["end"] = pc.add(columns["start"], pa.scalar(20, pa.int64()))
    return pa.table(columns, schema=TABLES["findings"].schema)


def synthetic_objects(findings: pa.Table, *, clean_ratio: float = 1.5, skipped_ratio: float = 0.06,
                      seed: int = 7) -> pa.Table:
    """The coverage ledger: every object with findings, clean objects and skipped ones."""
    rng = np.random.default_rng(seed + 1)
    con = duckdb.connect()
    con.register("f", findings)
    with_findings = con.sql("""
        SELECT object_key, any_value(object_kind) AS object_kind, any_value(object_id) AS object_id,
               any_value(object_version) AS object_version, 'scanned' AS status, NULL::VARCHAR AS reason,
               count(*)::BIGINT AS findings_count, min(scanned_at) AS scanned_at, min(landed_at) AS landed_at,
               any_value(user_email) AS user_email
        FROM f GROUP BY object_key""").to_arrow_table()
    con.close()
    n_with = with_findings.num_rows
    n_clean, n_skip = int(n_with * clean_ratio), int(n_with * skipped_ratio)
    extra = n_clean + n_skip
    landed = with_findings.column("landed_at").to_numpy()
    pick = rng.integers(0, max(1, n_with), size=extra)
    status = np.array(["scanned"] * n_clean + ["skipped"] * n_skip, dtype=object)
    reason = np.array([None] * n_clean + SKIP_REASONS.astype(object)[
        rng.choice(len(SKIP_REASONS), size=n_skip, p=SKIP_REASON_P)].tolist(), dtype=object)
    kinds = OBJECT_KINDS.astype(object)[rng.choice(len(OBJECT_KINDS), size=extra, p=OBJECT_KIND_P)]
    extra_tbl = pa.table({
        "object_key": pa.array(_hex_ids("clean", extra).tolist(), pa.string()),
        "object_kind": pa.array(kinds.tolist(), pa.string()),
        "object_id": pa.array([f"clean_{i:09d}" for i in range(extra)], pa.string()),
        "object_version": pa.array([""] * extra, pa.string()),
        "status": pa.array(status.tolist(), pa.string()),
        "reason": pa.array(reason.tolist(), pa.string()),
        "findings_count": pa.array(np.zeros(extra, dtype=np.int64)),
        "scanned_at": pa.array(landed[pick], pa.timestamp("us", tz="UTC")),
        "landed_at": pa.array(landed[pick], pa.timestamp("us", tz="UTC")),
        "user_email": pa.array(with_findings.column("user_email").to_numpy(zero_copy_only=False)[pick].tolist(),
                               pa.string()),
    })
    both = pa.concat_tables([with_findings.cast(extra_tbl.schema), extra_tbl])
    schema = TABLES["objects"].schema
    return pa.table({f.name: both.column(f.name) if f.name in both.column_names else pa.nulls(both.num_rows, f.type)
                     for f in schema}, schema=schema)


def synthetic_scan_runs(days: int, now: datetime, *, every_minutes: int = 15, seed: int = 7) -> pa.Table:
    """One forward run every ``every_minutes`` for ``days``, with API requests and some 429s."""
    rng = np.random.default_rng(seed + 2)
    n = days * 24 * 60 // every_minutes
    started_s = np.arange(n)[::-1] * every_minutes * 60.0 + 60.0
    duration = rng.gamma(2.0, 20.0, size=n)
    requests = rng.poisson(45, size=n) + (rng.random(n) < 0.02) * rng.poisson(900, size=n)
    status = np.where(rng.random(n) < 0.01, "failed", "completed")
    schema = TABLES["scan_runs"].schema
    cols = {
        # the run that started k intervals ago lands the findings scanned in that interval
        "scan_run_id": pa.array([f"forward-{int(s // (every_minutes * 60)):06d}" for s in started_s], pa.string()),
        "run_type": pa.array(["forward"] * n, pa.string()),
        "status": pa.array(status.tolist(), pa.string()),
        "started_at": _ts(now, started_s),
        "finished_at": _ts(now, started_s - duration),
        "objects_scanned": pa.array(rng.poisson(30, size=n), pa.int64()),
        "objects_skipped": pa.array(rng.poisson(2, size=n), pa.int64()),
        "requests_used": pa.array(requests, pa.int64()),
        "rate_limited_429": pa.array(np.where(requests > 500, rng.poisson(6, size=n), rng.poisson(0.05, size=n)),
                                     pa.int64()),
        "retries": pa.array(rng.poisson(0.2, size=n), pa.int64()),
        "duration_s": pa.array(duration, pa.float64()),
        "landed_at": _ts(now, started_s - duration),
    }
    return pa.table({f.name: cols.get(f.name, pa.nulls(n, f.type)) for f in schema}, schema=schema)


def write_by_landing_day(lake: Lake, table_name: str, table: pa.Table) -> int:
    """Write ``table`` into the lake, one file per ``landed_at`` day (as scans leave it after
    compaction). Returns the number of files."""
    day = pc.strftime(table.column("landed_at"), format="%Y-%m-%d")
    files = 0
    for value in sorted(set(day.to_pylist())):
        part = table.filter(pc.equal(day, value))
        when = datetime.fromisoformat(value).replace(tzinfo=timezone.utc)
        path = f"{partition_dir(lake.storage, table_name, when)}/{new_file_name('compact', when)}"
        write_parquet(lake.storage, path, part)
        files += 1
    return files


def generate_lake(lake: Lake, findings: int = 1_000_000, *, days: int = 90, seed: int = 7,
                  now: datetime | None = None, **shape: int) -> GeneratedLake:
    """Write synthetic findings, objects and scan runs into ``lake`` (see the module docstring)."""
    now = now or datetime.now(timezone.utc).replace(microsecond=0)
    f = synthetic_findings(findings, days=days, seed=seed, now=now, **shape)
    o = synthetic_objects(f, seed=seed)
    r = synthetic_scan_runs(days, now, seed=seed)
    for name, table in (("findings", f), ("scan_runs", r), ("objects", o)):
        write_by_landing_day(lake, name, table)
    stats = duckdb.connect()
    stats.register("f", f)
    fps, users, chats = stats.execute(
        "SELECT count(DISTINCT fingerprint), count(DISTINCT user_id), count(DISTINCT chat_id) FROM f").fetchall()[0]
    stats.close()
    return GeneratedLake(findings=f.num_rows, fingerprints=fps, users=users, chats=chats,
                         objects=o.num_rows, scan_runs=r.num_rows, days=days, now=now)


STATUSES = ("open", "acknowledged", "false_positive", "resolved")


def create_standin_incidents(con: duckdb.DuckDBPyConnection, name: str = "incidents") -> int:
    """A stand-in ``incidents`` table (one row per fingerprint and infotype) in ``con``.

    Statuses are spread deterministically by id (70% open, 10% each other status) so reports
    have every state to show. Returns the number of incidents.
    """
    con.execute(f"DROP VIEW IF EXISTS {name}")  # a lake connection has the real incidents view
    con.execute(f"""
        CREATE OR REPLACE TABLE {name} AS
        WITH g AS (
            SELECT fingerprint, infotype, any_value(category) AS category,
                   CASE max(CASE severity WHEN 'critical' THEN 4 WHEN 'high' THEN 3 WHEN 'medium' THEN 2 ELSE 1 END)
                        WHEN 4 THEN 'critical' WHEN 3 THEN 'high' WHEN 2 THEN 'medium' ELSE 'low' END AS severity,
                   any_value(masked) AS masked, min(event_time) AS first_seen, max(event_time) AS last_seen,
                   count(*)::BIGINT AS occurrences, count(DISTINCT user_id)::BIGINT AS users,
                   count(DISTINCT chat_id)::BIGINT AS chats, count(DISTINCT project_id)::BIGINT AS projects,
                   arg_max(chat_url, event_time) AS chat_url, arg_max(object_key, event_time) AS object_key,
                   max(landed_at) AS updated_at
            FROM findings GROUP BY fingerprint, infotype)
        SELECT md5('incident' || fingerprint || infotype) AS incident_id, 'default' AS policy,
               fingerprint, infotype, category, severity, masked, first_seen, last_seen, occurrences,
               users, chats, projects,
               CASE WHEN hash(fingerprint) % 10 < 7 THEN 'open' WHEN hash(fingerprint) % 10 = 7 THEN 'acknowledged'
                    WHEN hash(fingerprint) % 10 = 8 THEN 'false_positive' ELSE 'resolved' END AS status,
               CASE WHEN hash(fingerprint) % 10 = 7 THEN 'secops@example.com' END AS assignee,
               CASE WHEN hash(fingerprint) % 10 = 8 THEN 'test key from the docs' END AS notes,
               chat_url, object_key, updated_at
        FROM g
    """)
    return con.execute(f"SELECT count(*) FROM {name}").fetchall()[0][0]
