"""`vigil init` writes a config that loads and designates the saved connector."""

from __future__ import annotations

from typer.testing import CliRunner

from vigil import connector
from vigil.config import load_config
from vigil.connector import ConnectorRecord
from vigil.scan.setup import load_run_settings

ORG = "344408a7-2f0b-414a-a80c-0a156b94a21d"


def test_init_writes_a_config_for_the_saved_connector(tmp_path, monkeypatch):
    monkeypatch.setenv("VIGIL_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    connector.save(ConnectorRecord(name="acme", org_id=ORG, lake_root=str(tmp_path / "lake"),
                                   evidence=str(tmp_path / "ev")))
    import vigil.cli.connector  # noqa: F401 - a second command keeps typer in multi-command mode
    import vigil.cli.init  # noqa: F401 - registers the command
    from vigil.cli.app import app

    res = CliRunner().invoke(app, ["init", "--name", "acme"])
    assert res.exit_code == 0, res.output
    text = (tmp_path / "vigil.toml").read_text()
    assert 'name = "acme"' in text and ORG in text and "# " in text
    cfg = load_config(tmp_path / "vigil.toml")
    settings = load_run_settings(config=cfg)
    assert settings.org_id == ORG and settings.binding.lake_root == str(tmp_path / "lake")
    assert settings.binding.evidence == str(tmp_path / "ev")

    again = CliRunner().invoke(app, ["init", "--name", "acme"])
    assert again.exit_code == 1 and "exists" in again.output
    missing = CliRunner().invoke(app, ["init", "--name", "nope"])
    assert missing.exit_code == 1 and "no connector named 'nope'" in missing.output
