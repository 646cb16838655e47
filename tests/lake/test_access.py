"""vigil.lake.open / frame / resolve: the lake from a notebook, by connector, path or config."""

from __future__ import annotations

import pandas as pd

import vigil.lake
from vigil import connector
from vigil.connector import ConnectorRecord
from vigil.lake import Lake

ORG = "344408a7-2f0b-414a-a80c-0a156b94a21d"


def _lake(root) -> Lake:
    lake = Lake(str(root))
    lake.land({"findings": [{"finding_id": f"f{i}", "infotype": "EMAIL_ADDRESS", "severity": "medium"}
                            for i in range(3)]})
    return lake


def test_open_and_frame_by_connector_path_and_config(tmp_path, monkeypatch):
    monkeypatch.setenv("VIGIL_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    _lake(tmp_path / "acme-lake")
    connector.save(ConnectorRecord(name="acme", org_id=ORG, lake_root=str(tmp_path / "acme-lake")))

    con = vigil.lake.open("acme")
    assert con.execute("SELECT count(*) FROM findings").fetchone() == (3,)
    con.close()
    df = vigil.lake.frame("SELECT infotype, count(*) AS n FROM findings GROUP BY ALL", "acme")
    assert isinstance(df, pd.DataFrame) and df.to_dict("records") == [{"infotype": "EMAIL_ADDRESS", "n": 3}]

    assert vigil.lake.resolve(str(tmp_path / "acme-lake")).root_url == str(tmp_path / "acme-lake")
    cfg = tmp_path / "vigil.toml"
    cfg.write_text('[connector]\nname = "acme"\n')
    assert vigil.lake.frame("SELECT count(*) AS n FROM findings", config=cfg).n[0] == 3
    # No target: the default connector if saved, else ./data (an empty lake still has its views).
    assert vigil.lake.frame("SELECT count(*) AS n FROM incidents").n[0] == 0
