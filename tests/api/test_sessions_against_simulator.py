"""The client's session and code-artifact methods against the simulator: a full walk over real
HTTP that reads every planted value, model C pages and resume, byte caps, the typed errors a
scan branches on (expired cursor, sessions unavailable, retention 503, pending session,
rotated version), retries of 503s, truncated downloads and the remote-session budget."""

from __future__ import annotations

import time

import pytest

from vigil.api import (ComplianceClient, CursorExpiredError, LocalSessionsUnavailableError, NotFoundError,
                       RetentionEvaluationError, ServerError, SessionPendingError)
from vigil.api import models as m
from vigil.simulator import Faults, SimulatorServer, SyncASGITransport, SyntheticOrg, build_app, default_key

from tests.api.test_against_simulator import Clock as SharedClock

SEED = 23


class Clock(SharedClock):
    """The shared fake clock, recording every sleep of the client."""

    def __init__(self):
        super().__init__()
        self.sleeps: list[float] = []

    def sleep(self, s):
        self.sleeps.append(s)
        super().sleep(s)


@pytest.fixture(scope="module")
def org():
    return SyntheticOrg.generate(seed=SEED, users=10, chats=6, days=14, now=time.time() - 3600)


@pytest.fixture(scope="module")
def key():
    return default_key(SEED)


@pytest.fixture(scope="module")
def server_url(org, key):
    with SimulatorServer(build_app(org, keys=[key], rpm=1_000_000, code_artifact_max_bytes=400_000)) as url:
        yield url


@pytest.fixture
def make(org, key):
    """Factory: a client on an in-process simulator built with ``app_kw``, on a fake clock."""
    made = []

    def build(target_org=None, max_retries=6, **app_kw):
        clock = Clock()
        app = build_app(target_org or org, keys=[key], rpm=1_000_000, clock=clock.wall, **app_kw)
        tr = SyncASGITransport(app)
        client = ComplianceClient((target_org or org).claude_org.uuid, key.secret, base_url="http://127.0.0.1",
                                  transport=tr, rpm=1_000_000, sleep=clock.sleep, clock=clock.mono,
                                  max_retries=max_retries)
        made.append((client, tr))
        return client, app.state.sim, clock

    yield build
    for client, tr in made:
        client.close()
        tr.close()


def text_at(msg: m.SessionMessage, locator: str) -> str:
    kind, _, pos = locator.partition(":")
    if kind == "text":
        return msg.content[int(pos)].text
    if kind == "tool_use":
        return msg.content[int(pos)].input
    i, j = pos.split("/")
    return msg.content[int(i)].content[int(j)].text


def session_walk(client: ComplianceClient, every_version: bool):
    """What a scan reads: every session transcript, every (or the published) artifact version."""
    messages: dict[str, m.SessionMessage] = {}
    bodies: dict[tuple[str, str], object] = {}
    pending = []
    for s in client.local_sessions():
        for msg in client.local_session_transcript(s.id).messages:
            messages[msg.id] = msg
    for s in client.remote_sessions():
        try:
            for msg in client.remote_session_transcript(s).messages:
                messages[msg.id] = msg
        except SessionPendingError:
            pending.append(s.id)
    for a in client.code_artifacts():
        versions = a.versions if every_version else [v for v in a.versions if v.id == a.published_version_id]
        for v in versions:
            bodies[a.id, v.id] = client.code_artifact_version_content(a.id, v.id)
    return messages, bodies, pending


def test_full_session_walk_over_http_reads_every_planted_value(org, key, server_url):
    with ComplianceClient(org.claude_org.uuid, key.secret, base_url=server_url, rpm=1_000_000,
                          sleep=lambda s: None) as client:
        messages, bodies, pending = session_walk(client, every_version=True)
        stats = client.stats()
    truth = list(org.ground_truth("sessions"))
    found = 0
    for r in truth:
        if r.object_kind == "code_artifact_version":
            dl = bodies[r.object_id, r.version]
            assert not dl.truncated and r.value in dl.text(), r
        else:
            assert r.value in text_at(messages[r.object_id], r.locator), r
        found += 1
    assert found == len(truth) > 50
    n_versions = sum(len(a.retained()) for a in org.code_artifacts)
    truncated = [k for k, dl in bodies.items() if dl.truncated]
    assert len(truncated) == 1 and len(bodies) == n_versions
    assert len(pending) == sum(1 for s in org.remote_sessions if s.status == "pending") == 1
    # the minimum: one list page per endpoint (+1 empty artifact batch page), one transcript call per
    # session, one download per version, and one retry of the aborted oversize stream
    minimum = (1 + len(org.local_sessions)) + (1 + len(org.remote_sessions)) + 2 + n_versions + 1
    assert stats.requests == minimum and stats.retries == 1 and stats.rate_limited == 0
    latest_only = (1 + len(org.local_sessions)) + (1 + len(org.remote_sessions)) + 2 + len(org.code_artifacts)
    print(f"\nsession walk: {stats.requests} requests for {len(org.local_sessions)} local + "
          f"{len(org.remote_sessions)} remote sessions and {n_versions} artifact versions "
          f"({latest_only} when only published versions are read); {stats.bytes_downloaded} bytes downloaded")


def test_messages_models_expose_provenance(make):
    client, sim, _ = make()
    seen, reasons, asserted = set(), set(), 0
    for s in client.local_sessions():
        for msg in client.local_session_transcript(s.id).messages:
            seen.add(msg.verification)
            if msg.unavailable_reason:
                reasons.add(msg.unavailable_reason)
                assert msg.content == []
    assert seen == {"verified", "synthetic_marker", "client_asserted", "unavailable"}
    assert reasons == {"not_captured", "cmek_key_revoked", "retention_elapsed", "oversize"}
    remote = list(client.remote_sessions())
    agent = next(s for s in remote if s.agent_id)
    assert agent.user is None and agent.owner_id == agent.started_by_user.id and agent.is_remote
    failed = next(s for s in remote if s.status == "failed")
    assert any(x.unavailable_reason == "content_unavailable" for x in client.remote_session_transcript(failed).messages)
    arts = list(client.code_artifacts())
    assert any(a.is_public for a in arts) and all(v.created_at is not None for a in arts for v in a.versions)


def test_byte_caps_are_sent_and_validated(make, org):
    client, _, _ = make()
    s = next(x for x in org.local_sessions if "huge" in x.features)
    full = client.local_session_transcript(s.id).messages
    assert sum(x.truncated for x in full) == 1  # only the result over the server maximum
    small = list(client.local_session_messages(s.id, tool_result_max_bytes=50, tool_use_input_max_bytes=50))
    assert sum(x.truncated for x in small) > 1
    for bad in (0, -2, True, "10"):
        with pytest.raises(ValueError):
            client.local_session_messages(s.id, tool_result_max_bytes=bad)
        with pytest.raises(ValueError):
            client.remote_session_messages("cse_01x", tool_use_input_max_bytes=bad)
    with pytest.raises(ValueError):
        client.local_sessions(created_at_gte="2026-08-02T00:00:00Z", created_at_lt="2026-08-01T00:00:00Z")
    with pytest.raises(ValueError):
        client.remote_sessions(user_ids=[f"user_{i}" for i in range(11)])
    with pytest.raises(ValueError):
        client.code_artifacts(user_ids=[f"user_{i}" for i in range(201)])
    assert client.stats().requests == 2


def test_model_c_pages_and_resume(make, org):
    client, _, _ = make(session_page_bytes=1500)
    s = next(x for x in org.local_sessions if "long" in x.features)
    pages = list(client.local_session_messages(s.id, limit=1000).pages())
    ids = [x.id for p in pages for x in p.records]
    assert len(pages) > 2 and pages[-1].cursor is None and not pages[-1].has_more
    assert all(p.envelope["session"]["id"] == s.id for p in pages)
    assert [x.id for x in client.local_session_messages(s.id, page=pages[0].cursor)] == ids[len(pages[0]):]
    listed = list(client.local_sessions(limit=2).pages())
    assert [x.id for p in listed for x in p.records] == [x.id for x in client.local_sessions()]


def test_an_expired_cursor_raises_a_typed_error_and_a_restart_works(make, org):
    client, _, clock = make()
    s = next(x for x in org.local_sessions if "long" in x.features)
    pages = client.local_session_messages(s.id, limit=2).pages()
    first = next(pages)
    listed = next(client.local_sessions(limit=1).pages()).cursor  # a checkpoint of a list walk
    clock.t += 24 * 3600 + 1
    with pytest.raises(CursorExpiredError) as info:
        next(pages)
    assert info.value.status == 400 and "Restart the walk" in info.value.message
    with pytest.raises(CursorExpiredError):
        list(client.local_sessions(limit=1, page=listed))
    assert [x.id for x in client.local_session_messages(s.id, limit=2)][:2] == [x.id for x in first.records]


def test_local_session_errors_the_scan_branches_on(make, org):
    client, sim, _ = make()
    sim.local_sessions_available = False
    with pytest.raises(LocalSessionsUnavailableError):
        list(client.local_sessions())
    assert isinstance(LocalSessionsUnavailableError("x"), NotFoundError)
    sim.local_sessions_available = True
    blocked = org.local_sessions[1]
    blocked.retention_error = True
    try:
        before = client.stats().requests
        with pytest.raises(RetentionEvaluationError):
            client.local_session_transcript(blocked.id)
        assert client.stats().requests - before == 1  # persistent: not retried now
        with pytest.raises(NotFoundError):
            client.local_session("clls_01doesnotexist")
    finally:
        blocked.retention_error = False


def test_transient_local_503s_are_retried(make, org):
    client, _, _ = make(faults=Faults(p_local_503=0.3, seed=4), max_retries=10)
    walked = {s.id: len(client.local_session_transcript(s.id).messages) for s in client.local_sessions()}
    assert len(walked) == len(org.local_sessions) and client.stats().retries > 0


def test_a_version_uploading_is_retried_until_ready_and_rotation_is_a_404(make):
    target = SyntheticOrg.generate(seed=SEED, users=10, chats=2, days=14, now=time.time() - 3600)
    client, sim, clock = make(target)
    a = target.code_artifacts[0]
    vid = target.add_code_artifact_version(a.id, content="<p>ops: jane.roe@example.com</p>\n",
                                           plants=[("EMAIL_ADDRESS", "jane.roe@example.com")], upload_seconds=5)
    dl = client.code_artifact_version_content(a.id, vid)
    assert "jane.roe@example.com" in dl.text() and dl.md5_verified and clock.t >= 5
    assert client.stats().retries >= 2  # 503 while in flight, backed off 1 s, 2 s, ...
    gone = target.add_code_artifact_version(a.id, abandoned=True)
    short, _, _ = make(target, max_retries=2)
    with pytest.raises(ServerError) as info:
        short.code_artifact_version_content(a.id, gone)
    assert info.value.status == 503 and short.stats().requests == 3
    churn = next(x for x in target.code_artifacts if len(x.versions) > 20)
    with pytest.raises(NotFoundError):
        client.code_artifact_version_content(churn.id, churn.versions[0].id)


def test_a_stream_aborted_twice_is_reported_truncated(make, org):
    client, _, _ = make(code_artifact_max_bytes=200_000)
    a = next(x for x in org.code_artifacts if any(v.oversize for v in x.versions))
    v = next(v for v in a.versions if v.oversize)
    dl = client.code_artifact_version_content(a.id, v.id)
    assert dl.truncated and not dl.too_large and dl.md5 is None and dl.md5_verified is None
    assert 0 < dl.size <= 200_000 and dl.content.startswith(b"<!doctype html>")
    assert client.stats().requests == 2 and "truncated=True" in repr(dl)
    capped = client.code_artifact_version_content(a.id, v.id, max_bytes=10_000)
    assert capped.too_large and not capped.truncated  # the cap is reached before the abort


def test_a_pending_remote_session_is_a_typed_error(make, org):
    client, _, _ = make()
    pending = next(s for s in client.remote_sessions() if s.status == "pending")
    with pytest.raises(SessionPendingError) as info:
        client.remote_session_transcript(pending)
    assert info.value.status == 404 and isinstance(info.value, NotFoundError)
    with pytest.raises(NotFoundError) as plain:  # by id alone the client cannot know it is pending
        client.remote_session_transcript(pending.id)
    assert not isinstance(plain.value, SessionPendingError)


def test_repeated_remote_429s_back_off_exponentially(make, org):
    client, _, clock = make(remote_rpm=3, max_retries=8)
    sessions = [s for s in client.remote_sessions() if s.status != "pending"]
    for _ in range(3):
        for s in sessions:
            assert client.remote_session_transcript(s).messages
    stats = client.stats()
    assert stats.rate_limited > 0 and stats.retries == stats.rate_limited
    assert max(clock.sleeps) > 2  # retry-after: 1 repeated -> backed off exponentially
    assert clock.t >= 60 * ((3 * len(sessions) + 1) // 3 - 1)  # no more than 3 remote calls a minute
    assert len(list(client.local_sessions())) == len(org.local_sessions)  # the shared budget only


def test_directory_and_settings_models_show_a_posture_change(make, org):
    target = SyntheticOrg.generate(seed=SEED, users=10, chats=2, days=14, now=time.time() - 3600)
    client, sim, _ = make(target)
    before = client.org_settings()
    assert before.organization_id == target.claude_org.uuid and before.value("public_projects_enabled") is False
    assert {k.is_active for k in before.api_keys} == {True, False} and before.value("no_such_setting", 7) == 7
    target.update_settings({"claude_ai_chat_sharing_enabled": True,
                            "data_retention_periods": {"all": {"type": "fixed", "timescale": "day", "duration": 30}}})
    after = client.org_settings()
    changed = {k for k, v in after.as_dict().items() if before.as_dict().get(k) != v}
    assert changed == {"claude_ai_chat_sharing_enabled", "data_retention_periods"}
    groups = {g.name: g for g in client.groups()}
    members = {mb.user_id for mb in client.group_members(groups["Engineering"].id)}
    users = {u.id: u for u in client.org_users()}
    assert members and members <= set(users)
    role = groups["Claude Code Pilot"].roles[0]
    assert [p.action for p in client.role_permissions(role)] == ["claude_code"]
    with pytest.raises(NotFoundError):
        client.org_settings(target.parent.uuid)
