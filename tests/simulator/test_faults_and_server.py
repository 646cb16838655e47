"""Fault injection rates and shapes, and the real-socket server (chunked downloads, drops)."""

from __future__ import annotations

import base64
import hashlib
from collections import Counter

import httpx
import pytest

from vigil.simulator import Faults, SimulatorServer, SyntheticOrg, build_app, make_key

KEY = "sk-ant-api01-" + "s" * 40


@pytest.fixture(scope="module")
def small_org():
    return SyntheticOrg.generate(seed=21, users=6, chats=30, days=5, now=1787000000, projects=3,
                                 huge_file_bytes=3 * 1024 * 1024)


def test_fault_rates_within_bounds(fresh):
    faults = Faults(p429=0.1, p500=0.1, p503=0.05, p529=0.05, seed=7)
    org, api = fresh(faults=faults)
    n = 600
    statuses = Counter(api.get("/v1/compliance/organizations").status_code for _ in range(n))
    # binomial bounds, about 4 standard deviations
    assert 30 <= statuses[429] <= 90 and 30 <= statuses[500] <= 90
    assert 10 <= statuses[503] <= 55 and 10 <= statuses[529] <= 55
    assert 270 <= statuses[200] <= 450
    r = next(r for r in (api.get("/v1/compliance/organizations") for _ in range(200)) if r.status_code == 529)
    assert r.json()["error"]["type"] == "overloaded_error" and r.headers["request-id"].startswith("req_")
    assert "anthropic-ratelimit-requests-remaining" in r.headers


def test_final_500_says_do_not_retry(fresh):
    org, api = fresh(faults=Faults(p500_final=1.0))
    r = api.get("/v1/compliance/organizations")
    assert r.status_code == 500 and r.headers["x-should-retry"] == "false"
    org2, api2 = fresh(faults=Faults(p500=1.0))
    assert "x-should-retry" not in api2.get("/v1/compliance/organizations").headers


def test_injected_429_carries_retry_after(fresh):
    org, api = fresh(faults=Faults(p429=1.0))
    r = api.get("/v1/compliance/activities")
    assert r.status_code == 429 and r.headers["retry-after"] == "1"
    assert r.json()["error"]["type"] == "rate_limit_error"


def test_faults_change_through_admin_endpoint(fresh):
    org, api = fresh()
    assert api.get("/v1/compliance/organizations").status_code == 200
    assert api.http.post("/_admin/faults", json={"p503": 1.0}).json()["p503"] == 1.0
    assert api.get("/v1/compliance/organizations").status_code == 503
    api.http.post("/_admin/faults", json={})
    assert api.get("/v1/compliance/organizations").status_code == 200


def test_in_process_drop_and_truncate_raise_protocol_errors(fresh):
    org, api = fresh(faults=Faults(p_drop=1.0))
    with pytest.raises(httpx.RemoteProtocolError):
        api.get("/v1/compliance/organizations")
    api.http.post("/_admin/faults", json={"p_truncate": 1.0})
    with pytest.raises(httpx.RemoteProtocolError):
        api.get("/v1/compliance/organizations")


def test_server_serves_chunked_downloads_with_md5(small_org):
    app = build_app(small_org, keys=[make_key(KEY, ["read:compliance_user_data"])])
    huge = next(f for f in small_org.files.values() if f.variant == "huge")
    plain = next(f for f in small_org.files.values() if f.kind == "chat" and f.variant == "plain" and f.fmt == "pdf")
    with SimulatorServer(app) as url:
        with httpx.Client(base_url=url, headers={"x-api-key": KEY}) as http:
            for f in (plain, huge):
                h = hashlib.md5()
                size = 0
                with http.stream("GET", f"/v1/compliance/apps/chats/files/{f.id}/content") as r:
                    assert r.status_code == 200
                    assert r.headers["transfer-encoding"] == "chunked" and "content-length" not in r.headers
                    for chunk in r.iter_raw():
                        h.update(chunk)
                        size += len(chunk)
                    assert base64.b64decode(r.headers["content-md5"]) == h.digest()
                meta = http.get(f"/v1/compliance/apps/chats/files/{f.id}").json()
                assert meta["md5"] == h.hexdigest() and meta["size_bytes"] == size
            assert size >= 3 * 1024 * 1024  # the oversized file, streamed


def test_server_drops_and_truncates_connections(small_org):
    faults = Faults(p_drop=0.5, p_truncate=0.5, seed=3)
    app = build_app(small_org, keys=[make_key(KEY, ["read:compliance_user_data", "read:compliance_org_data"])],
                    faults=faults)
    f = next(f for f in small_org.files.values() if f.kind == "chat" and f.variant == "plain")
    with SimulatorServer(app) as url:
        with httpx.Client(base_url=url, headers={"x-api-key": KEY}) as http:
            errors = 0
            for path in ["/v1/compliance/organizations"] * 6 + [f"/v1/compliance/apps/chats/files/{f.id}/content"] * 4:
                try:
                    http.get(path)
                except (httpx.RemoteProtocolError, httpx.ReadError):
                    errors += 1
            assert errors == 10
        app.state.sim.faults = Faults()
        with httpx.Client(base_url=url, headers={"x-api-key": KEY}) as http:
            assert http.get("/v1/compliance/organizations").status_code == 200


def test_server_refuses_non_loopback(small_org):
    with pytest.raises(ValueError):
        SimulatorServer(build_app(small_org), host="0.0.0.0")
