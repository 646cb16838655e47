"""``latest_findings_sql`` returns exactly what the ``findings`` view returns, without its window."""

from vigil.lake.reads import latest_findings_sql


def rows(lake, sql):
    return sorted(lake.query(f"SELECT finding_id, severity, scan_run_id FROM {sql}").to_pylist(),
                  key=lambda r: r["finding_id"])


def test_latest_copy_matches_the_view_after_replays_and_updates(sample_lake):
    lake, findings = sample_lake
    lake.land({"findings": findings[:10]})                                          # a replayed page
    lake.land({"findings": [dict(f, severity="low", scan_run_id="forward-run-9") for f in findings[5:15]]})
    view = rows(lake, "findings")
    assert len(view) == len(findings)
    assert rows(lake, latest_findings_sql()) == view
    for where in ("scan_run_id = 'forward-run-9'", "scan_run_id = 'forward-run-1'", "severity = 'low'"):
        expected = [r for r in view if _matches(r, where)]
        assert rows(lake, latest_findings_sql(where)) == expected, where
    assert len(rows(lake, latest_findings_sql("scan_run_id = 'forward-run-9'"))) == 10


def _matches(row, where):
    column, value = where.split(" = ")
    return row[column] == value.strip("'")


def test_memory_limit_can_be_applied_again_after_a_spill(sample_lake):
    """An export or report on a connection that already spilled (a flow's second step) works."""
    from vigil.lake.reads import limit_memory

    lake, _ = sample_lake
    con = lake.connect()
    limit_memory(con)
    con.execute("SET memory_limit = '64MB'")
    con.sql("SELECT count(*) FROM (SELECT (range * 7919) % 3000017 AS k, repeat('x', 30) || range AS v "
            "FROM range(3000000) ORDER BY k DESC, v)").fetchall()  # spills to the temp folder
    limit_memory(con)
    assert con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0] != "64.0 MiB"
    con.close()
