"""`vigil scan` from the command line (plain-Python path; the flows are tested in tests/flows)."""

from __future__ import annotations

from typer.testing import CliRunner

from vigil.simulator import SimulatorServer, SyntheticOrg, build_app, default_key


def _app():
    import vigil.cli.scan  # noqa: F401 - registers `scan`
    from vigil.cli.app import app

    return app


def test_scan_commands_run_and_report(tmp_path, monkeypatch):
    org = SyntheticOrg.generate(seed=41, users=5, chats=12, days=30)
    monkeypatch.setenv("ANTHROPIC_COMPLIANCE_API_KEY", default_key(41).secret)
    runner = CliRunner()
    # The seeded oversized code artifact aborts at 256 KiB rather than 16 MiB (as in
    # tests/scan/conftest.py): the same path, without ~20 s of detection on a dense HTML table.
    with SimulatorServer(build_app(org, rpm=100_000, code_artifact_max_bytes=256 * 1024)) as base_url:
        config = tmp_path / "vigil.yaml"
        config.write_text(f"connector:\n  org_id: {org.parent.uuid}\n  base_url: {base_url}\n"
                          f"lake:\n  root: {tmp_path / 'lake'}\nrate:\n  rpm: 100000\n")
        res = runner.invoke(_app(), ["scan", "historical", "--days", "30", "--config", str(config),
                                     "--no-prefect"])
        assert res.exit_code == 0, res.output
        assert "historical scan" in res.output and "completed" in res.output
        assert "findings 0;" not in res.output
        res = runner.invoke(_app(), ["scan", "forward", "--config", str(config), "--no-prefect"])
        assert res.exit_code == 0 and "objects scanned 0" in res.output

    res = runner.invoke(_app(), ["scan", "forward", "--config", str(tmp_path / "missing.toml"),
                                 "--no-prefect"])
    assert res.exit_code == 1 and "cannot read config file" in res.output
    monkeypatch.delenv("ANTHROPIC_COMPLIANCE_API_KEY")
    res = runner.invoke(_app(), ["scan", "forward", "--config", str(config), "--no-prefect"])
    assert res.exit_code == 1 and "ANTHROPIC_COMPLIANCE_API_KEY is not set" in res.output


def test_config_errors_are_reported_before_prefect_is_imported(tmp_path):
    import subprocess
    import sys

    bad = tmp_path / "vigil.toml"
    bad.write_text("[historical]\ndays = 0\n")
    code = ("import sys\nfrom vigil.cli import main\n"
            f"sys.argv = ['vigil', 'scan', 'historical', '--config', {str(bad)!r}]\n"
            "try:\n    main()\nexcept SystemExit as exc:\n    code = exc.code\n"
            "print('prefect imported:', 'prefect' in sys.modules, 'exit:', code)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert "prefect imported: False exit: 1" in out.stdout, out.stdout + out.stderr
    assert "historical.days" in out.stderr and "Traceback" not in out.stderr


def test_progress_is_shown_while_a_scan_runs(make_sim):
    import io

    from vigil.scan.progress import TerminalProgress, subscribed

    sim = make_sim(seed=44, users=6, chats=30)
    stream = io.StringIO()
    with subscribed(TerminalProgress(stream=stream, interval=0, live=False)):
        sim.scan("historical", days=30, chat_page_size=10)
    lines = stream.getvalue().splitlines()
    assert len(lines) >= 4
    assert all("historical scan" in ln and "requests" in ln and "findings" in ln for ln in lines)
    percents = [float(ln.split("%")[0].split()[-1]) for ln in lines]
    assert percents == sorted(percents) and percents[-1] > 50
    assert any("ETA" in ln for ln in lines)
