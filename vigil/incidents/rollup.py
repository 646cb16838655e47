"""Recompute incident aggregates from ``findings`` and land the ones that changed.

Incident id = ``stable_id("incident", policy, fingerprint)``. The aggregate of an incident
(first/last seen, occurrences, users, chats, projects, highest severity, masked value, links of
the first and latest occurrence) is a pure function of the findings carrying its fingerprint,
so it is recomputed, never incremented: a rerun over the same findings computes the same rows,
finds them equal (``content_hash``) to what is landed, and writes nothing.

Which incidents are recomputed: every fingerprint of a finding landed since the previous
refresh (minus ``OVERLAP``, which covers batches still being written when it ran), or everything
when there is no previous refresh or the policy set changed (then incidents no longer matched
are *retired*: landed again with ``occurrences = 0``, hidden by the ``incidents`` view).

Rows stream from DuckDB into one Parquet file (no Python objects per row) under a memory
limit, so a first refresh over a million findings stays within a few hundred MB.
"""

from __future__ import annotations

import logging
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from vigil.detect.model import LIKELIHOODS, SEVERITIES
from vigil.incidents.policy import IncidentPolicy, policies_digest, with_builtin
from vigil.lake import Lake
from vigil.lake.schemas import INCIDENT_ROLLUPS, LANDED_AT
from vigil.lake.writer import PARQUET_COMPRESSION, new_file_name, partition_dir

log = logging.getLogger(__name__)

STATE_NAMESPACE = "incidents"
OVERLAP = timedelta(minutes=15)
DEFAULT_MEMORY_LIMIT = "400MB"
BATCH_ROWS = 64_000
TABLE = "incident_rollups"

_SEV = "list_position([{}], severity)".format(", ".join(f"'{s}'" for s in SEVERITIES))
_LIK = "list_position([{}], likelihood)".format(", ".join(f"'{s}'" for s in LIKELIHOODS))
_SEV_LIST = "[{}]".format(", ".join(f"'{s}'" for s in SEVERITIES))
_LIK_LIST = "[{}]".format(", ".join(f"'{s}'" for s in LIKELIHOODS))
_US = "chr(31)"


@dataclass
class RefreshResult:
    """What one refresh did."""

    mode: str  # "full" or "incremental"
    written: int = 0  # rollup rows landed (new, changed or retired incidents)
    new: int = 0  # incidents that did not exist before
    retired: int = 0
    seconds: float = 0.0
    file: str | None = None
    policies: list[str] = field(default_factory=list)


FINDING_COLUMNS = f"""finding_id, fingerprint, infotype, category, masked, user_email, chat_id,
    project_id, project_name, chat_url, object_key, event_time, scanned_at,
    coalesce({_SEV}, 0) AS sev, coalesce({_LIK}, 0) AS lik,
    (coalesce(epoch_us(event_time), 0)::HUGEINT << 64) + hash(finding_id)::HUGEINT AS okey"""


def latest_copies_sql(table: str, id_column: str, where: str, columns: str, dup_cte: str) -> str:
    """Rows of ``table`` restricted by ``where``, one per id (the latest landed copy).

    Only ids landed more than once (``dup_cte``, by hash: a collision merely sends a row down the
    exact path) pay for the window; the rest stream straight from Parquet. Filtering before
    deduplication is exact because the filters only use columns every copy of a row shares.
    """
    return f"""
        SELECT {columns} FROM {table} WHERE ({where}) AND hash({id_column}) NOT IN (SELECT h FROM {dup_cte})
        UNION ALL
        SELECT {columns} FROM {table} WHERE ({where}) AND hash({id_column}) IN (SELECT h FROM {dup_cte})
        QUALIFY row_number() OVER (PARTITION BY {id_column} ORDER BY landed_at DESC) = 1"""


def duplicates_sql(table: str, id_column: str, where: str) -> str:
    """Hashes of the ids landed more than once among rows matching ``where``."""
    return (f"SELECT hash({id_column}) AS h FROM {table} WHERE {where} "
            f"GROUP BY hash({id_column}) HAVING count(*) > 1")


def matches_sql(policy: IncidentPolicy, objects_cte: str) -> str:
    """The findings of CTE ``f`` that ``policy`` counts, tagged with its name; ``objects_cte``
    holds every finding of the objects involved (for ``min_per_object``)."""
    pred = policy.match.predicate()
    name = policy.name.replace("'", "''")
    sql = f"SELECT '{name}' AS policy, * FROM f WHERE {pred}"
    if policy.match.min_per_object > 1:
        sql += (f" AND object_key IN (SELECT object_key FROM {objects_cte} WHERE {pred} "
                f"GROUP BY object_key HAVING count(DISTINCT fingerprint) >= {int(policy.match.min_per_object)})")
    return sql


_TOP = f"sev::VARCHAR || lik::VARCHAR || infotype || {_US} || coalesce(category, '')"


def rollup_sql(policies: list[IncidentPolicy], scope: str, full: bool) -> str:
    """The query computing every incident whose fingerprint is in ``scope`` and comparing it
    with what is landed: it yields the new and changed incidents (and, on a full refresh,
    the ids of landed incidents that nothing matches any more, flagged ``retired``).

    Built to stream: findings are re-read rather than materialised, most values (seen once) are
    projected straight from their finding, and only values seen several times go through the
    aggregation and the look-up of their first and latest occurrence.
    """
    needs_objects = any(p.match.min_per_object > 1 for p in policies)
    ctes = [f"dup AS MATERIALIZED ({duplicates_sql('findings_all', 'finding_id', scope)})",
            f"f AS NOT MATERIALIZED ({latest_copies_sql('findings_all', 'finding_id', scope, FINDING_COLUMNS, 'dup')})"]
    if needs_objects:
        if full:
            ctes.append("fo AS NOT MATERIALIZED (SELECT * FROM f)")
        else:
            objects = "object_key IN (SELECT object_key FROM f)"
            ctes.append(f"odup AS MATERIALIZED ({duplicates_sql('findings_all', 'finding_id', objects)})")
            ctes.append(f"fo AS NOT MATERIALIZED ("
                        f"{latest_copies_sql('findings_all', 'finding_id', objects, FINDING_COLUMNS, 'odup')})")
    ctes.append("m AS NOT MATERIALIZED (" + "\nUNION ALL ".join(matches_sql(p, "fo") for p in policies) + ")")
    ctes.append("n AS MATERIALIZED (SELECT policy, fingerprint, count(*) AS occurrences FROM m GROUP BY policy, fingerprint)")
    ctes.append("mm AS NOT MATERIALIZED (SELECT m.*, n.occurrences FROM m JOIN n ON n.policy = m.policy AND n.fingerprint = m.fingerprint)")
    ctes.append(f"""single AS NOT MATERIALIZED (
        SELECT policy, fingerprint, 1::BIGINT AS occurrences,
               (user_email IS NOT NULL)::BIGINT AS users, (chat_id IS NOT NULL)::BIGINT AS chats,
               (project_id IS NOT NULL)::BIGINT AS projects, event_time AS first_seen,
               event_time AS last_seen, scanned_at AS first_detected_at, {_TOP} AS top_key,
               masked, user_email AS first_user, chat_url, object_key,
               chat_url AS latest_chat_url, object_key AS latest_object_key
        FROM mm WHERE occurrences = 1)""")
    ctes.append(f"""multi AS MATERIALIZED (
        SELECT policy, fingerprint, count(*) AS occurrences,
               count(DISTINCT user_email) AS users, count(DISTINCT chat_id) AS chats,
               count(DISTINCT project_id) AS projects,
               min(event_time) AS first_seen, max(event_time) AS last_seen,
               min(scanned_at) AS first_detected_at, max({_TOP}) AS top_key,
               min(okey) AS first_key, max(okey) AS last_key
        FROM mm WHERE occurrences > 1 GROUP BY policy, fingerprint)""")
    ctes.append("""multi_details AS NOT MATERIALIZED (
        SELECT g.* EXCLUDE (first_key, last_key), a.masked, a.user_email AS first_user, a.chat_url,
               a.object_key, b.chat_url AS latest_chat_url, b.object_key AS latest_object_key
        FROM multi g JOIN f a ON a.okey = g.first_key JOIN f b ON b.okey = g.last_key)""")
    ctes.append(f"""c AS NOT MATERIALIZED (
        SELECT left(sha256('incident' || {_US} || policy || {_US} || fingerprint), 32) AS incident_id,
               policy, fingerprint,
               split_part(substr(top_key, 3), {_US}, 1) AS infotype,
               nullif(split_part(substr(top_key, 3), {_US}, 2), '') AS category,
               list_extract({_SEV_LIST}, substr(top_key, 1, 1)::INTEGER) AS severity,
               list_extract({_LIK_LIST}, substr(top_key, 2, 1)::INTEGER) AS likelihood,
               masked, first_seen, last_seen, occurrences, users, chats, projects, first_user,
               chat_url, object_key, latest_chat_url, latest_object_key, first_detected_at
        FROM (SELECT * FROM single UNION ALL BY NAME SELECT * FROM multi_details))""")
    ctes.append(f"h AS NOT MATERIALIZED (SELECT *, hash({', '.join(_HASHED)})::VARCHAR AS content_hash FROM c)")
    rollup_scope = "TRUE" if full else scope  # an incident's copies share its fingerprint
    ctes.append(f"""r AS MATERIALIZED (
        SELECT incident_id, arg_max(content_hash, landed_at) AS content_hash,
               arg_max(created_at, landed_at) AS created_at, arg_max(occurrences, landed_at) AS occurrences
        FROM incident_rollups_all WHERE {rollup_scope} GROUP BY incident_id)""")
    columns = ", ".join(f"h.{c}" for c in _OUTPUT[:-3])
    join = "FULL OUTER JOIN" if full else "LEFT JOIN"
    return "WITH " + ",\n".join(ctes) + f"""
        SELECT {columns}, coalesce(r.created_at, $now) AS created_at, h.content_hash, $now AS {LANDED_AT},
               h.incident_id IS NULL AS retired, r.incident_id AS retired_id
        FROM h {join} r ON r.incident_id = h.incident_id
        WHERE CASE WHEN h.incident_id IS NULL THEN r.occurrences > 0
                   ELSE r.incident_id IS NULL OR r.content_hash IS DISTINCT FROM h.content_hash END"""


_OUTPUT = INCIDENT_ROLLUPS.names  # ends with created_at, content_hash, landed_at
_HASHED = [c for c in _OUTPUT[:-3] if c != "incident_id"]


def refresh_incidents(
    lake: Lake,
    policies: list[IncidentPolicy] | tuple[IncidentPolicy, ...] = (),
    *,
    full: bool | None = None,
    now: datetime | None = None,
    memory_limit: str = DEFAULT_MEMORY_LIMIT,
) -> RefreshResult:
    """Bring ``incident_rollups`` up to date with ``findings`` for ``all`` plus ``policies``.

    ``full``: None decides (full on the first refresh or when the policies changed);
    True recomputes every incident; False only fingerprints landed since the last refresh.
    Saves its progress in ``_state/incidents.json`` only after the rows are durable.
    """
    started = time.perf_counter()
    now = now or datetime.now(timezone.utc)
    every = with_builtin(list(policies))
    digest = policies_digest(every)
    store = lake.checkpoints(STATE_NAMESPACE)
    state = store.load()
    since = state.get("findings_until")
    if full is None:
        full = since is None or state.get("policies_digest") != digest
    result = RefreshResult(mode="full" if full else "incremental", policies=[p.name for p in every])
    if not full and since is None:
        raise ValueError("an incremental refresh needs a previous refresh; use full=True")
    with tempfile.TemporaryDirectory(prefix="vigil-incidents-") as spill:
        con = lake.connect()
        try:
            con.execute(f"SET memory_limit = '{memory_limit}'")
            con.execute(f"SET temp_directory = '{spill}'")
            con.execute("SET preserve_insertion_order = false")
            con.execute("SET enable_progress_bar = false")
            scope = "TRUE"
            if not full:
                low = datetime.fromisoformat(since) - OVERLAP
                affected = con.sql(
                    "SELECT DISTINCT fingerprint FROM findings_all WHERE dt >= $day AND landed_at >= $low",
                    params={"day": low.date(), "low": low}).to_arrow_table()
                con.register("_affected", affected)
                scope = "fingerprint IN (SELECT fingerprint FROM _affected)"
            if full or affected.num_rows:
                reader = con.sql(rollup_sql(every, scope, full), params={"now": now}).to_arrow_reader(BATCH_ROWS)
                retired_ids: list[str] = []
                batches = _count_new(_split_retired(reader, retired_ids), now, result)
                if full:
                    batches = _chain_lazy(batches, lambda: _retired_rows(con, retired_ids, now))
                result.file, result.written = _write(lake, batches, now)
                result.retired = len(retired_ids)
        finally:
            con.close()
    if result.file:
        lake.compact_if_needed([TABLE], current_partition=result.file.split("/")[-2])
    store.update(findings_until=now.isoformat(), policies_digest=digest, policies=result.policies)
    result.seconds = round(time.perf_counter() - started, 3)
    log.info("incidents: %s refresh wrote %d rows (%d new, %d retired) in %.1fs", result.mode,
             result.written, result.new, result.retired, result.seconds)
    return result


def _split_retired(reader: pa.RecordBatchReader, retired_ids: list[str]):
    """Yield the rows to land (schema ``INCIDENT_ROLLUPS``); collect the ids to retire."""
    for batch in reader:
        if not batch.num_rows:
            continue
        flags = batch.column(batch.schema.get_field_index("retired"))
        if pc.any(flags).as_py():
            retired_ids.extend(pc.filter(batch.column(batch.schema.get_field_index("retired_id")), flags).to_pylist())
            batch = pc.filter(pa.Table.from_batches([batch]), pc.invert(flags)).combine_chunks().to_batches()
            batch = batch[0] if batch else None
        if batch is not None and batch.num_rows:
            yield _conform(batch)


def _count_new(batches, now: datetime, result: RefreshResult):
    """Pass batches through, counting incidents created by this refresh."""
    stamp = pa.scalar(now, INCIDENT_ROLLUPS.field("created_at").type)
    for batch in batches:
        created = batch.column(INCIDENT_ROLLUPS.get_field_index("created_at"))
        result.new += pc.sum(pc.equal(created, stamp)).as_py() or 0
        yield batch


def _retired_rows(con: duckdb.DuckDBPyConnection, ids: list[str], now: datetime):
    """Landed incidents nothing matches any more, as rows with ``occurrences = 0``."""
    if not ids:
        return
    con.register("_retired_ids", pa.table({"incident_id": pa.array(ids, pa.string())}))
    reader = con.sql(
        f"SELECT * EXCLUDE (dt) REPLACE (0::BIGINT AS occurrences, 'retired' AS content_hash, $now AS {LANDED_AT}) "
        "FROM incident_rollups WHERE incident_id IN (SELECT incident_id FROM _retired_ids)",
        params={"now": now}).to_arrow_reader(BATCH_ROWS)
    for batch in reader:
        if batch.num_rows:
            yield _conform(batch)


def _conform(batch: pa.RecordBatch) -> pa.RecordBatch:
    return pa.RecordBatch.from_arrays(
        [batch.column(batch.schema.get_field_index(fld.name)).cast(fld.type) for fld in INCIDENT_ROLLUPS],
        schema=INCIDENT_ROLLUPS)


def _chain_lazy(first, make_rest):
    yield from first
    yield from make_rest()


def _write(lake: Lake, batches, now: datetime) -> tuple[str | None, int]:
    """Stream ``batches`` into one new rollup file; nothing is written when there is no row."""
    batches = iter(batches)
    first = next(batches, None)
    if first is None:
        return None, 0
    path = f"{partition_dir(lake.storage, TABLE, now)}/{new_file_name('part', now)}"
    rows = 0

    def write(f) -> None:
        nonlocal rows
        with pq.ParquetWriter(f, INCIDENT_ROLLUPS, compression=PARQUET_COMPRESSION) as out:
            for batch in _chain_lazy([first], lambda: batches):
                out.write_batch(batch)
                rows += batch.num_rows

    lake.storage.write_atomic(path, write)
    return path, rows
