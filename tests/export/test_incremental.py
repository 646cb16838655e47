"""Incremental OCSF export: each finding reaches the tailed folder or bucket exactly once."""

import json
from datetime import timedelta

import pytest
from typer.testing import CliRunner

from vigil.export import check_lines, export_ocsf_incremental
from vigil.export.stream import LATE_MARGIN, StreamState, default_stream_name
from vigil.lake import Lake


def sent(out):
    """Every exported event under ``out``, as (file, event)."""
    return [(p.name, json.loads(line)) for p in sorted(out.rglob("*.jsonl")) for line in p.read_text().splitlines()]


def uids(out):
    return [e["metadata"]["uid"] for _, e in sent(out)]


def batch(findings, lo, hi):
    return {"findings": findings[lo:hi]}


def test_each_export_sends_only_what_landed_since_the_last(sample_lake, tmp_path, now):
    lake, findings = sample_lake  # the whole sample is already landed once
    out = tmp_path / "siem"
    first = export_ocsf_incremental(lake, str(out), kinds=("findings",))
    assert first.findings == len(findings) and len(first.files) == 1
    assert first.files[0].startswith(str(out / "findings" / f"dt={now:%Y-%m-%d}" / "vigil-ocsf-findings-"))
    again = export_ocsf_incremental(lake, str(out), kinds=("findings",))
    assert (again.findings, again.files) == (0, [])

    extra = [dict(f, finding_id=f["finding_id"][:-4] + "beef") for f in findings[:5]]
    lake.land({"findings": extra})
    third = export_ocsf_incremental(lake, str(out), kinds=("findings",))
    assert third.findings == 5 and len(third.files) == 1
    ids = uids(out)
    assert len(ids) == len(set(ids)) == len(findings) + 5
    assert check_lines([json.dumps(e) for _, e in sent(out)]).ok


def test_a_replayed_page_is_not_sent_again_even_after_compaction(sample_lake, tmp_path):
    lake, findings = sample_lake
    out = tmp_path / "siem"
    export_ocsf_incremental(lake, str(out), kinds=("findings",))
    lake.land(batch(findings, 0, 20))          # a crashed scan replays a page: same ids, newer landed_at
    assert export_ocsf_incremental(lake, str(out), kinds=("findings",)).findings == 0
    lake.land(batch(findings, 20, 40))
    merged = lake.compact()                    # the day's partition now keeps only the latest copies
    assert merged and lake.query("SELECT count(*) FROM findings_all").column(0)[0].as_py() == len(findings)
    assert export_ocsf_incremental(lake, str(out), kinds=("findings",)).findings == 0
    ids = uids(out)
    assert len(ids) == len(set(ids)) == len(findings)


def test_a_batch_visible_late_is_still_sent(sample_lake, tmp_path, now):
    lake, findings = sample_lake
    out = tmp_path / "siem"
    export_ocsf_incremental(lake, str(out), kinds=("findings",))
    cursor = StreamState(lake, default_stream_name(str(out))).load("findings")["cursor"]
    late = [dict(f, finding_id="late" + f["finding_id"][4:]) for f in findings[:3]]
    # stamped a little before the cursor, as a concurrent scan's batch that became visible after the export
    from datetime import datetime
    lake.land({"findings": late}, landed_at=datetime.fromisoformat(cursor) - LATE_MARGIN / 2)
    lake.land({"findings": [dict(findings[3], finding_id="new" + findings[3]["finding_id"][3:])]})
    result = export_ocsf_incremental(lake, str(out), kinds=("findings",))
    assert result.findings == 4
    ids = uids(out)
    assert len(ids) == len(set(ids)) == len(findings) + 4


def test_an_export_that_dies_before_saving_its_cursor_is_redone_into_the_same_file(
        sample_lake, tmp_path, monkeypatch):
    lake, findings = sample_lake
    out = tmp_path / "siem"

    def die(*args, **kwargs):
        raise OSError("disk full while saving the cursor")

    monkeypatch.setattr(StreamState, "commit", die)
    with pytest.raises(OSError):
        export_ocsf_incremental(lake, str(out), kinds=("findings",))
    written = sorted(p.name for p in out.rglob("*.jsonl"))
    assert len(written) == 1
    monkeypatch.undo()
    lake.land({"findings": [dict(findings[0], finding_id="after" + findings[0]["finding_id"][5:])]})
    redo = export_ocsf_incremental(lake, str(out), kinds=("findings",))
    assert any("finishing the export interrupted" in n for n in redo.notes)
    assert sorted(p.name for p in out.rglob("*.jsonl")) == written  # same window, same file
    assert export_ocsf_incremental(lake, str(out), kinds=("findings",)).findings == 1
    ids = uids(out)
    assert len(ids) == len(set(ids)) == len(findings) + 1


def test_since_applies_to_a_streams_first_export_only(sample_lake, tmp_path, now):
    lake, findings = sample_lake
    out = tmp_path / "siem"
    since = now - timedelta(hours=20)
    first = export_ocsf_incremental(lake, str(out), kinds=("findings",), since=since)
    assert first.findings == sum(f["event_time"] >= since for f in findings) < len(findings)
    old = [dict(f, finding_id="old" + f["finding_id"][3:], event_time=now - timedelta(days=300)) for f in findings[:2]]
    lake.land({"findings": old})
    assert export_ocsf_incremental(lake, str(out), kinds=("findings",), since=since).findings == 2


def test_streams_are_independent_and_incidents_follow_updates(with_incidents, tmp_path, now):
    lake, con, findings, incidents = with_incidents
    a, b = tmp_path / "a", tmp_path / "b"
    ra = export_ocsf_incremental(lake, str(a), con=con)
    assert (ra.findings, ra.incidents) == (len(findings), len(incidents))
    assert {f.split("/")[-3] for f in ra.files} == {"findings", "incidents"}
    assert export_ocsf_incremental(lake, str(b), con=con, kinds=("incidents",)).incidents == len(incidents)
    assert export_ocsf_incremental(lake, str(a), con=con).incidents == 0
    target = incidents[0]["incident_id"]
    con.execute("UPDATE incidents SET status = 'false_positive', notes = 'vendor test key', "
                "updated_at = now() WHERE incident_id = ?", [target])
    update = export_ocsf_incremental(lake, str(a), con=con)
    assert (update.findings, update.incidents) == (0, 1)
    events = [e for _, e in sent(a) if e["class_uid"] == 2005]
    latest = [e for e in events if e["unmapped"]["vigil"]["incident_id"] == target]
    assert len(latest) == 2 and sorted(e.get("verdict_id", 0) for e in latest) == [0, 1]
    assert len({e["metadata"]["uid"] for e in events}) == len(events)
    assert check_lines([json.dumps(e) for _, e in sent(a)]).ok


def test_incremental_export_on_s3_with_a_lake_on_s3(s3, now, sample_data):
    import gzip

    import fsspec

    from vigil.export import export_ocsf

    bucket, options = s3
    lake = Lake(f"s3://{bucket}/lake", storage_options=options, compact_threshold=0)
    findings = sample_data.land_sample(lake, now)
    out = f"s3://{bucket}/siem/ocsf"
    assert export_ocsf_incremental(lake, out, storage_options=options, kinds=("findings",)).findings == len(findings)
    lake.land(batch(findings, 0, 10))  # replay
    lake.land({"findings": [dict(findings[0], finding_id="s3new" + findings[0]["finding_id"][5:])]})
    second = export_ocsf_incremental(lake, out, storage_options=options, kinds=("findings",))
    assert second.findings == 1 and second.files[0].startswith(f"s3://{bucket}/siem/ocsf/findings/dt=")
    fs = fsspec.filesystem("s3", **options)
    files = sorted(fs.glob(f"{bucket}/siem/ocsf/findings/dt=*/*.jsonl"))
    lines = [line for f in files for line in fs.cat_file(f).decode().splitlines()]
    ids = [json.loads(x)["metadata"]["uid"] for x in lines]
    assert len(files) == 2 and len(ids) == len(set(ids)) == len(findings) + 1
    assert check_lines(lines).ok
    one_shot = export_ocsf(lake, f"s3://{bucket}/dump/all.jsonl.gz", storage_options=options)
    assert one_shot.files == [f"s3://{bucket}/dump/all.jsonl.gz"]
    assert len(gzip.decompress(fs.cat_file(f"{bucket}/dump/all.jsonl.gz")).splitlines()) == len(findings) + 1


def test_cli_export_and_check(sample_lake, tmp_path):
    import vigil.cli.export  # noqa: F401 - registers the commands
    from vigil.cli.app import app

    lake, findings = sample_lake
    runner = CliRunner()
    out = tmp_path / "all.jsonl"
    res = runner.invoke(app, ["export", "ocsf", "--lake", str(lake.root_url), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert f"{len(findings)} finding event(s), 0 incident event(s)" in res.stderr
    res = runner.invoke(app, ["export", "check", str(out)])
    assert res.exit_code == 0 and f"{len(findings)} event(s) checked against OCSF 1.7.0" in res.stdout
    # The sample has one finding per rule, 3 + i hours old: 30 days holds them all (5 days stopped
    # doing so when the catalogue passed 117 rules).
    res = runner.invoke(app, ["export", "ocsf", "--lake", str(lake.root_url), "--since", "30d", "--only", "findings"])
    assert res.exit_code == 0 and len(res.stdout.splitlines()) == len(findings)
    res = runner.invoke(app, ["export", "ocsf", "--lake", str(lake.root_url), "--since", "50h", "--only", "findings"])
    assert res.exit_code == 0 and len(res.stdout.splitlines()) == 47  # 3 … 49 hours old; 50 h is a boundary
    bad = tmp_path / "bad.jsonl"
    bad.write_text(out.read_text().splitlines()[0].replace('"class_uid":2006', '"class_uid":2006,"x":1') + "\n")
    res = runner.invoke(app, ["export", "check", str(bad)])
    assert res.exit_code == 1 and "1 invalid" in res.stdout and "unknown attribute(s): x" in res.stdout
    res = runner.invoke(app, ["export", "ocsf", "--lake", str(lake.root_url), "--since", "soon"])
    assert res.exit_code == 2 and "30d" in res.output
    res = runner.invoke(app, ["export", "ocsf", "--lake", str(lake.root_url), "--incremental"])
    assert res.exit_code == 1 and "folder or URL prefix" in res.stderr
    res = runner.invoke(app, ["export", "ocsf", "--lake", str(lake.root_url), "--incremental",
                              "--out", str(tmp_path / "tail"), "--gzip"])
    assert res.exit_code == 0 and list((tmp_path / "tail").rglob("*.jsonl.gz"))
