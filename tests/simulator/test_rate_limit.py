"""The shared per-org fixed window: headers, 429 with retry-after, what consumes quota, and the
compliance_api_accessed record of each authenticated call."""

from __future__ import annotations

from vigil.simulator import SyncASGITransport, SyntheticOrg, build_app, make_key
from vigil.simulator.ids import ts_z


class Clock:
    def __init__(self, t):
        self.t = t

    def __call__(self):
        return self.t


def setup(rpm=5, t=1_800_000_010.0):
    import httpx

    org = SyntheticOrg.generate(seed=2, users=4, chats=5, days=3, now=1_799_990_000)
    clock = Clock(t)
    keys = [make_key("sk-ant-api01-one", ["read:compliance_activities"]),
            make_key("sk-ant-api01-two", ["read:compliance_activities"]),
            make_key("sk-ant-admin01-adm", ["read:compliance_activities"])]
    transport = SyncASGITransport(build_app(org, keys=keys, rpm=rpm, clock=clock))
    return org, clock, httpx.Client(transport=transport, base_url="http://sim")


def test_window_headers_429_and_reset():
    org, clock, http = setup(rpm=5)
    one = {"x-api-key": "sk-ant-api01-one"}
    two = {"x-api-key": "sk-ant-api01-two"}
    remaining = []
    for i in range(5):
        r = http.get("/v1/compliance/activities", headers=one if i % 2 else two)
        assert r.status_code == 200
        assert r.headers["anthropic-ratelimit-requests-limit"] == "5"
        assert r.headers["anthropic-ratelimit-requests-reset"] == ts_z(1_800_000_060.0)
        remaining.append(int(r.headers["anthropic-ratelimit-requests-remaining"]))
    assert remaining == [4, 3, 2, 1, 0]
    r = http.get("/v1/compliance/activities", headers={"x-api-key": "sk-ant-admin01-adm"})  # same budget
    assert r.status_code == 429
    assert r.headers["retry-after"] == "50"
    assert r.headers["anthropic-ratelimit-requests-remaining"] == "0"
    body = r.json()
    assert body["error"]["type"] == "rate_limit_error"
    assert body["error"]["message"] == (
        "Compliance API rate limit of 5 requests per minute per parent organization has been exceeded. Retry after "
        "the time indicated by the retry-after header. Quote the request-id response header when contacting "
        "Anthropic support.")
    clock.t = 1_800_000_060.5  # next window
    r = http.get("/v1/compliance/activities", headers=one)
    assert r.status_code == 200 and r.headers["anthropic-ratelimit-requests-remaining"] == "4"


def test_401_is_free_and_403_consumes():
    org, clock, http = setup(rpm=3)
    for _ in range(10):
        assert http.get("/v1/compliance/activities", headers={"x-api-key": "bad"}).status_code == 401
    r = http.get("/v1/compliance/apps/chats", headers={"x-api-key": "sk-ant-api01-one"})
    assert r.status_code == 403 and r.headers["anthropic-ratelimit-requests-remaining"] == "2"
    assert http.get("/v1/compliance/activities", headers={"x-api-key": "sk-ant-api01-one"}).status_code == 200
    assert http.get("/v1/compliance/activities", headers={"x-api-key": "sk-ant-api01-one"}).status_code == 200
    assert http.get("/v1/compliance/activities", headers={"x-api-key": "sk-ant-api01-one"}).status_code == 429


def test_every_authenticated_call_is_logged_as_compliance_api_accessed():
    org, clock, http = setup(rpm=100)
    before = len(org.activities)
    http.get("/v1/compliance/activities", headers={"x-api-key": "nope"})              # 401: not logged
    http.get("/v1/compliance/apps/chats", headers={"x-api-key": "sk-ant-api01-one"})  # 403: logged
    r = http.get("/v1/compliance/activities", headers={"x-api-key": "sk-ant-api01-two"},
                 params={"activity_types[]": "compliance_api_accessed", "limit": 10})
    assert len(org.activities) == before + 2
    # the record of a call shows up in later reads, not in its own response
    data = r.json()["data"]
    assert len(data) == 1
    a = data[0]
    assert a["status_code"] == 403 and a["request_method"] == "GET"
    assert a["actor"]["type"] == "api_actor" and a["actor"]["api_key_id"].startswith("apikey_")
    assert a["organization_id"] is None and a["organization_uuid"] is None
    assert a["url"].endswith("/v1/compliance/apps/chats") and a["request_body"] is None
    later = http.get("/v1/compliance/activities", headers={"x-api-key": "sk-ant-api01-two"},
                     params={"activity_types[]": "compliance_api_accessed"}).json()["data"]
    assert later[0]["request_id"] == r.headers["request-id"]


def test_feed_visibility_lag():
    import httpx

    from vigil.simulator import SyncASGITransport, SyntheticOrg, build_app, make_key

    org = SyntheticOrg.generate(seed=2, users=4, chats=5, days=3, now=1_799_990_000)
    clock = Clock(1_800_000_000.0)
    http = httpx.Client(transport=SyncASGITransport(build_app(
        org, keys=[make_key("sk-ant-api01-one", ["read:compliance_activities"])], clock=clock, feed_lag_s=60)),
        base_url="http://sim", headers={"x-api-key": "sk-ant-api01-one"})
    params = {"activity_types[]": "compliance_api_accessed"}
    http.get("/v1/compliance/activities")
    assert http.get("/v1/compliance/activities", params=params).json()["data"] == []
    clock.t += 61
    assert len(http.get("/v1/compliance/activities", params=params).json()["data"]) == 2
