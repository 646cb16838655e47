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
