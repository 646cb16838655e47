"""Fixtures for the export tests: a sample lake (every infotype), the incidents test fixture, S3."""

import importlib.util
import pathlib
import sys

import pytest

from vigil.lake import Lake


def load_module(name: str, path: pathlib.Path):
    """Import a helper module of the test tree by path (the test folders are not packages)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


TESTS = pathlib.Path(__file__).resolve().parents[1]
fixtures = load_module("vigil_test_export_fixtures", TESTS / "export" / "fixtures.py")
_s3 = load_module("vigil_test_lake_conftest", TESTS / "lake" / "conftest.py")
s3_endpoint, s3 = _s3.s3_endpoint, _s3.s3


@pytest.fixture
def sample_data():
    """The fixtures module (sample rows and the incidents test fixture)."""
    return fixtures


@pytest.fixture
def now():
    return fixtures.utc_now()


@pytest.fixture
def sample_lake(tmp_path, now):
    """(lake, findings rows) with the sample landed."""
    lake = Lake(tmp_path / "lake", compact_threshold=0)
    return lake, fixtures.land_sample(lake, now)


@pytest.fixture
def with_incidents(sample_lake, now):
    """(lake, connection with the incidents test fixture, findings rows, incident rows)."""
    lake, findings = sample_lake
    con = lake.connect()
    rows = fixtures.incident_rows(findings, now)
    fixtures.create_incident_fixture(con, rows)
    yield lake, con, findings, rows
    con.close()
