"""Shared engines for the detection tests (compiled once per session, cache in a temp dir)."""

from __future__ import annotations

import pytest

from vigil.detect import Engine

KEY = bytes(range(32))


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("hs-cache")


@pytest.fixture(scope="session")
def hs_engine(cache_dir) -> Engine:
    return Engine.load(KEY, backend="hyperscan", cache_dir=cache_dir)


@pytest.fixture(scope="session")
def py_engine() -> Engine:
    return Engine.load(KEY, backend="python")
