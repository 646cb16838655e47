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
    with SimulatorServer(build_app(org, rpm=100_000)) as base_url:
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
