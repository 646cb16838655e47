"""Shared fixtures: one small deterministic org served in-process, keys of every kind."""

from __future__ import annotations

import httpx
import pytest

from vigil.simulator import SyncASGITransport, SyntheticOrg, build_app, make_key

NOW = 1787000000.0  # 2026-08-17T21:33:20Z
FULL = "sk-ant-api01-" + "f" * 40
READ = "sk-ant-api01-" + "r" * 40
ACTIVITIES_ONLY = "sk-ant-api01-" + "a" * 40
ADMIN = "sk-ant-admin01-" + "m" * 40
CLAUDE_API = "sk-ant-api03-" + "c" * 40
ALL_SCOPES = ("read:compliance_activities", "read:compliance_user_data", "read:compliance_org_data",
              "delete:compliance_user_data")


def keys():
    return [make_key(FULL, ALL_SCOPES), make_key(READ, ALL_SCOPES[:3]),
            make_key(ACTIVITIES_ONLY, ["read:compliance_activities"]), make_key(ADMIN, ALL_SCOPES)]


class Api:
    """A sync client on an in-process app, with the key as a default header."""

    def __init__(self, app, key=READ):
        self.app = app
        self.transport = SyncASGITransport(app)
        self.http = httpx.Client(transport=self.transport, base_url="http://simulator")
        self.key = key

    def get(self, path, key=None, **params):
        return self.http.get(path, params=params or None, headers={"x-api-key": self.key if key is None else key})

    def request(self, method, path, key=None, **kw):
        return self.http.request(method, path, headers={"x-api-key": self.key if key is None else key}, **kw)

    def close(self):
        self.http.close()
        self.transport.close()


@pytest.fixture(scope="module")
def org():
    return SyntheticOrg.generate(seed=11, users=30, chats=260, days=20, now=NOW, projects=25,
                                 huge_file_bytes=2 * 1024 * 1024)


@pytest.fixture(scope="module")
def api(org):
    client = Api(build_app(org, keys=keys(), rpm=1_000_000))
    yield client
    client.close()


@pytest.fixture(scope="module")
def serve():
    """Factory: an in-process client for a given org (closed at the end of the module)."""
    made = []

    def make(org, **kw):
        client = Api(build_app(org, keys=keys(), rpm=1_000_000, **kw))
        made.append(client)
        return client

    yield make
    for c in made:
        c.close()


@pytest.fixture
def K():
    """The test keys by name."""
    from types import SimpleNamespace

    return SimpleNamespace(FULL=FULL, READ=READ, ACTIVITIES_ONLY=ACTIVITIES_ONLY, ADMIN=ADMIN, CLAUDE_API=CLAUDE_API,
                           ALL_SCOPES=ALL_SCOPES, NOW=NOW)


@pytest.fixture
def fresh():
    """Factory of a private small org and client (for tests that change state); closed after the test."""
    made = []

    def make(seed=5, chats=40, users=8, rpm=1_000_000, **kw):
        org = SyntheticOrg.generate(seed=seed, users=users, chats=chats, days=10, now=NOW, projects=6,
                                    huge_file_bytes=1024 * 1024)
        client = Api(build_app(org, keys=keys(), rpm=rpm, **kw))
        made.append(client)
        return org, client

    yield make
    for c in made:
        c.close()
