"""Incidents and triage on an S3 lake (moto's server on loopback)."""

from __future__ import annotations

import sys
from pathlib import Path

from vigil.incidents import refresh_incidents, set_status, suppressed
from vigil.lake import Lake

from .conftest import finding

sys.path.insert(0, str(Path(__file__).parents[1]))
from vigil_test_support import load_conftest  # noqa: E402

s3, s3_endpoint = load_conftest("lake").s3, load_conftest("lake").s3_endpoint  # fixtures


def test_incidents_on_s3(s3):
    bucket, options = s3
    lake = Lake(f"s3://{bucket}/vigil", storage_options=options)
    lake.land({"findings": [finding("fp-a", chat="c1"), finding("fp-a", chat="c2", minutes=3), finding("fp-b")]})
    result = refresh_incidents(lake)
    assert (result.mode, result.new) == ("full", 2)
    assert refresh_incidents(lake).written == 0
    row = lake.query("SELECT * FROM incidents WHERE fingerprint = 'fp-a'").to_pylist()[0]
    assert (row["occurrences"], row["chats"]) == (2, 2)
    set_status(lake, row["incident_id"], status="false_positive", note="test", who="alice")
    assert suppressed(lake).column("fingerprint").to_pylist() == ["fp-a"]
    assert lake.storage.glob(f"{bucket}/vigil/incident_rollups/dt=*/*.parquet")
