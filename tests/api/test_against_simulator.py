"""The client against the simulator: every endpoint, a full walk of an org, faults, the rate limit.

The simulator runs in-process (``SyncASGITransport``; httpx 0.28's ASGITransport is async-only)
or on a loopback socket (``SimulatorServer``) where streaming and dropped connections matter.
"""

from __future__ import annotations

import math
import threading
import time
from collections import Counter

import pytest

from vigil.api import (ApiKey, ComplianceClient, InvalidRequestError, NotFoundError, PermissionDeniedError,
                       RateLimiter, ServerError)
from vigil.api import models as m
from vigil.simulator import Faults, SimulatorServer, SyncASGITransport, SyntheticOrg, build_app, default_key

SEED = 11
CAP = 1024 * 1024  # download cap in these tests; the org holds files over 25 MB


@pytest.fixture(scope="module")
def org():
    return SyntheticOrg.generate(seed=SEED, users=8, chats=40, days=14)


@pytest.fixture(scope="module")
def key(org):
    return default_key(SEED)


@pytest.fixture(scope="module")
def transport(org, key):
    tr = SyncASGITransport(build_app(org, keys=[key], rpm=1_000_000))
    yield tr
    tr.close()


@pytest.fixture(scope="module")
def server_url(org, key):
    with SimulatorServer(build_app(org, keys=[key], rpm=1_000_000)) as url:
        yield url


@pytest.fixture
def client(org, key, transport):
    with ComplianceClient(org.claude_org.uuid, key.secret, base_url="http://127.0.0.1", transport=transport,
                          rpm=1_000_000, sleep=lambda s: None) as c:
        yield c


# --- every endpoint -------------------------------------------------------------------------

def test_directory_endpoints(client, org):
    orgs = list(client.organizations())
    assert {o.uuid for o in orgs} == {o.uuid for o in org.org_units()}
    users = list(client.org_users())
    assert users and all(isinstance(u, m.OrgUser) and u.id.startswith("user_") and u.email for u in users)
    groups = list(client.groups())
    assert groups and client.group(groups[0].id).id == groups[0].id
    members = list(client.group_members(groups[0].id))
    assert all(mb.user_id for mb in members)
    assert all(g.created_at is None or g.created_at.tzinfo is not None for g in groups)  # offset-less -> UTC
    roles = list(client.roles())
    assert roles and client.role(roles[0].id).id == roles[0].id
    assert isinstance(list(client.role_permissions(roles[0].id)), list)
    settings = client.org_settings()
    assert settings.get("organization_id") == org.claude_org.uuid


def test_activity_feed_filters_and_both_org_spellings(client, org):
    acts = list(client.activities(limit=5000))
    assert acts and len({a.id for a in acts}) == len(acts)
    stamps = [a.created_at for a in acts]
    assert stamps == sorted(stamps, reverse=True)                      # newest first
    with_org = next(a for a in acts if a.organization_id)
    assert with_org.organization_tag == org.claude_org.tagged_id and with_org.organization_uuid == org.claude_org.uuid
    chats_only = list(client.activities(activity_types=["claude_chat_created"]))
    assert chats_only and {a.type for a in chats_only} == {"claude_chat_created"}
    asc = list(client.activities(order="asc", created_at_gte=stamps[-1]))
    assert [a.created_at for a in asc] == sorted(a.created_at for a in asc)
    by_tag = list(client.activities(organization_ids=[org.claude_org.tagged_id], limit=5000))
    by_uuid = list(client.activities(organization_ids=[org.claude_org.uuid], limit=5000))
    assert {a.id for a in by_tag} == {a.id for a in by_uuid} != set()


def test_chat_lists_org_wide_and_per_user(client, org):
    by_updated = list(client.chats(order_by="updated_at"))
    assert len(by_updated) == sum(1 for _ in org.live_chats())
    assert [c.updated_at for c in by_updated] == sorted(c.updated_at for c in by_updated)
    user = by_updated[0].user.id
    mine = list(client.chats(user_ids=[user]))
    assert mine and all(c.user.id == user for c in mine)
    project_chat = next((c for c in by_updated if c.project_id), None)
    if project_chat is not None:
        scoped = list(client.chats(user_ids=[project_chat.user.id], project_ids=[project_chat.project_id]))
        assert project_chat.id in {c.id for c in scoped}
    deleted = [c for c in by_updated if c.is_deleted]
    assert len(deleted) == sum(1 for c in org.live_chats() if c.deleted is not None)


def test_chat_messages_and_content_endpoints(client):
    seen_file = seen_gen = seen_art = False
    for chat in client.chats():
        transcript = client.chat_transcript(chat.id)
        assert transcript.id == chat.id and transcript.messages
        for msg in transcript.messages:
            for f in msg.files:
                meta = client.file_metadata(f.id)
                assert chat.id in meta.claude_chat_ids
                dl = client.file_content(f.id, max_bytes=CAP)
                assert dl.too_large or (dl.md5_verified and dl.md5 == meta.md5 and dl.filename == meta.filename)
                seen_file = True
            for g in msg.generated_files:
                meta = client.generated_file_metadata(g.id)
                dl = client.generated_file_content(g.id, max_bytes=CAP)
                assert meta.claude_chat_id == chat.id and dl.md5 == meta.md5
                seen_gen = True
            for a in msg.artifacts:
                meta = client.artifact_metadata(a.version_id)
                dl = client.artifact_content(a.version_id)
                assert meta.md5 == dl.md5 and meta.size_bytes == dl.size and dl.text()
                seen_art = True
        if seen_file and seen_gen and seen_art:
            break
    assert seen_file and seen_gen and seen_art


def test_project_endpoints(client):
    projects = list(client.projects())
    assert projects
    seen = Counter()
    for p in projects:
        detail = client.project(p.id)
        assert detail.id == p.id and detail.instructions is not None
        for att in client.project_attachments(p.id):
            seen[att.type] += 1
            if isinstance(att, m.ProjectDoc):
                doc = client.project_document(att.id)
                meta = client.project_document_metadata(att.id)
                assert doc.content is not None and meta.claude_project_id == p.id
                assert meta.size_bytes == len(doc.content.encode("utf-8"))
            elif isinstance(att, m.ProjectFile):
                dl = client.file_content(att.id, max_bytes=CAP)
                assert dl.too_large or dl.md5_verified
        collaborators = list(client.project_collaborators(p.id))
        assert all(c.role for c in collaborators)
    assert seen["project_doc"] and seen["project_file"]


def test_not_found_and_bad_cursor_are_typed(client):
    with pytest.raises(NotFoundError) as info:
        client.chat_transcript("claude_chat_doesnotexist")
    assert info.value.request_id and info.value.request_id.startswith("req_")
    with pytest.raises(NotFoundError):
        client.project_document("claude_proj_doc_nope")
    with pytest.raises(InvalidRequestError):
        list(client.activities(cursor="activity_invalid123"))
    assert client.stats().retries == 0


# --- pagination against the simulator ---------------------------------------------------------

def test_small_pages_and_resume_match_one_big_page(client):
    whole = [c.id for c in client.chats(order_by="updated_at")]
    pages = list(client.chats(order_by="updated_at", limit=7).pages())
    assert [c.id for p in pages for c in p.records] == whole
    assert len(pages) == math.ceil(len(whole) / 7)
    # resume after page 2 from its checkpoint
    resumed = [c.id for c in client.chats(order_by="updated_at", limit=7, cursor=pages[1].cursor)]
    assert resumed == whole[14:]
    # model B: users a page at a time, resumed from a token
    users = [u.id for u in client.org_users()]
    upages = list(client.org_users(limit=3).pages())
    assert [u.id for p in upages for u in p.records] == users and upages[-1].cursor is None
    assert [u.id for u in client.org_users(limit=3, page=upages[0].cursor)] == users[3:]
    # chat messages paged with after_id
    big = max(client.chats(), key=lambda c: len(client.chat_transcript(c.id).messages))
    full = [x.id for x in client.chat_transcript(big.id).messages]
    assert [x.id for x in client.chat_transcript(big.id, page_size=2).messages] == full
    # activities walked back toward newer records with before_id from a saved first_id
    acts = list(client.activities(limit=5000))
    oldest_page = list(client.activities(limit=5, cursor=acts[10].id, direction="before").pages())[0]
    assert [a.id for a in oldest_page.records] == [a.id for a in acts[5:10]]


# --- a full walk -------------------------------------------------------------------------------

def full_walk(client: ComplianceClient, visits: Counter, cap: int = CAP, downloads: Counter | None = None) -> Counter:
    """The DLP walk of SPEC §15 at maximum page sizes; returns list pages per endpoint."""
    pages: Counter = Counter()
    downloads = Counter() if downloads is None else downloads

    def fetch(dl):
        downloads["too_large" if dl.too_large else "read"] += 1
        downloads["verified"] += bool(dl.md5_verified)

    def walk(kind, pager):
        for page in pager.pages():
            pages[kind] += 1
            yield from page.records

    for o in walk("organizations", client.organizations(limit=1000)):
        visits["organization", o.uuid] += 1
    for u in walk("users", client.org_users(limit=1000)):
        visits["user", u.id] += 1
    for g in walk("groups", client.groups(limit=1000)):
        visits["group", g.id] += 1
        for mb in walk("group_members", client.group_members(g.id, limit=1000)):
            visits["member", g.id, mb.user_id] += 1
    for a in walk("activities", client.activities(limit=5000)):
        visits["activity", a.id] += 1
    for chat in walk("chats", client.chats(order_by="updated_at", limit=1000)):
        visits["chat", chat.id] += 1
        for msg in client.chat_transcript(chat.id).messages:
            visits["message", msg.id] += 1
            for f in msg.files:
                visits["file", f.id] += 1
                fetch(client.file_content(f.id, max_bytes=cap))
            for g in msg.generated_files:
                visits["generated_file", g.id] += 1
                fetch(client.generated_file_content(g.id, max_bytes=cap))
            for a in msg.artifacts:
                visits["artifact_version", a.version_id] += 1
                fetch(client.artifact_content(a.version_id, max_bytes=cap))
    for p in walk("projects", client.projects(limit=100)):
        visits["project", p.id] += 1
        client.project(p.id)
        for att in walk("attachments", client.project_attachments(p.id, limit=100)):
            visits[att.type, att.id] += 1
            if att.type == "project_file":
                fetch(client.file_content(att.id, max_bytes=cap))
            else:
                client.project_document(att.id)
        for col in walk("collaborators", client.project_collaborators(p.id, limit=100)):
            visits["collaborator", p.id, col.type, col.user_id or col.group_id or col.organization_uuid
                   or col.organization_role] += 1
    return pages


def expected_objects(org) -> dict[str, set]:
    chats = list(org.live_chats())
    files = {f.id: f for f in org.files.values() if org.file(f.id, ("chat", "project", "generated"))}
    return {
        "chat": {c.id for c in chats},
        "file": {i for i, f in files.items() if f.kind == "chat"},
        "generated_file": {i for i, f in files.items() if f.kind == "generated"},
        "project_file": {i for i, f in files.items() if f.kind == "project"},
        "artifact_version": {v for v in org.artifacts if org.artifact(v)},
        "project_doc": {d for d in org.docs if org.doc(d)},
        "project": {p.id for p in org.projects if not p.hard_deleted},
    }


def pages_needed(n: int, limit: int) -> int:
    return max(1, math.ceil(n / limit))


def test_full_walk_visits_every_object_once_with_minimum_requests(org, key, server_url):
    visits: Counter = Counter()
    downloads: Counter = Counter()
    cap = 16 * 1024  # small, so real chunked bodies cross it
    with ComplianceClient(org.claude_org.uuid, key.secret, base_url=server_url, rpm=1_000_000) as client:
        pages = full_walk(client, visits, cap=cap, downloads=downloads)
        stats = client.stats()
    assert max(visits.values()) == 1, [k for k, v in visits.items() if v > 1][:5]  # nothing twice
    truth = expected_objects(org)
    for kind, ids in truth.items():
        assert {k[1] for k in visits if k[0] == kind} == ids, kind        # nothing missed
    assert truth["file"] and truth["generated_file"] and truth["artifact_version"] and truth["project_doc"]

    # The minimum the API allows: list pages at maximum page size plus one call per content object.
    groups = [k for k in visits if k[0] == "group"]
    n = Counter(k[0] for k in visits)
    members = Counter(k[1] for k in visits if k[0] == "member")
    att = Counter()
    for p in org.projects:
        if not p.hard_deleted:
            att[p.id] = sum(1 for k in visits if k[0] in ("project_file", "project_doc") and k[1] in
                            set(p.file_ids) | set(p.doc_ids))
    collab = Counter(k[1] for k in visits if k[0] == "collaborator")
    min_pages = (pages_needed(n["organization"], 1000) + pages_needed(n["user"], 1000)
                 + pages_needed(len(groups), 1000) + sum(pages_needed(members[g[1]], 1000) for g in groups)
                 + pages_needed(n["activity"], 5000) + pages_needed(n["chat"], 1000)
                 + pages_needed(n["project"], 100)
                 + sum(pages_needed(att[p], 100) + pages_needed(collab[p], 100) for p in truth["project"]))
    content_calls = (n["chat"] + n["file"] + n["generated_file"] + n["artifact_version"]
                     + n["project"] + n["project_file"] + n["project_doc"])
    minimum = min_pages + content_calls
    assert sum(pages.values()) == min_pages
    assert stats.requests == minimum, (stats.requests, minimum)
    assert stats.retries == 0 and stats.rate_limited == 0
    # bodies over the cap were cut off, not read: each download read at most cap + one chunk
    assert downloads["too_large"] > 0 and downloads["read"] == downloads["verified"] > 0
    assert stats.bytes_downloaded <= sum(downloads.values()) * (cap + 64 * 1024)
    print(f"\nfull walk: {stats.requests} requests = {min_pages} list pages + {content_calls} content calls "
          f"(minimum {minimum}); {downloads['read']} downloads read and MD5-verified, "
          f"{downloads['too_large']} over the {cap}-byte cap; {stats.bytes_downloaded} bytes read")


def test_full_walk_survives_faults_and_only_retries_add_requests(org, key, transport):
    clean = Counter()
    with ComplianceClient(org.claude_org.uuid, key.secret, base_url="http://127.0.0.1", transport=transport,
                          rpm=1_000_000) as c:
        full_walk(c, clean)
        baseline = c.stats().requests
    faults = Faults(p429=0.04, p500=0.04, p503=0.04, p529=0.04, p_drop=0.04, p_truncate=0.04, seed=3)
    tr = SyncASGITransport(build_app(org, keys=[key], rpm=1_000_000, faults=faults))
    clock = Clock()
    faulty = Counter()
    try:
        with ComplianceClient(org.claude_org.uuid, key.secret, base_url="http://127.0.0.1", transport=tr, rpm=1_000_000,
                              sleep=clock.sleep, clock=clock.mono, max_retries=8) as c:
            full_walk(c, faulty)
            stats = c.stats()
    finally:
        tr.close()
    ours = lambda v: {k for k in v if k[0] != "activity"}  # our own calls add activities between walks
    assert ours(faulty) == ours(clean) and max(faulty.values()) == 1
    assert stats.retries > 10 and stats.rate_limited > 0
    # every extra request is a retry: the walk itself needed exactly as many as the clean one
    assert stats.requests - stats.retries == baseline
    assert clock.t > 0


def test_500_marked_final_is_not_retried(org, key):
    app = build_app(org, keys=[key], rpm=1_000_000, faults=Faults(p500_final=1.0))
    tr = SyncASGITransport(app)
    try:
        with ComplianceClient(org.claude_org.uuid, key.secret, base_url="http://127.0.0.1", transport=tr,
                              sleep=lambda s: None) as c:
            with pytest.raises(ServerError) as info:
                list(c.organizations())
            assert info.value.status == 500 and c.stats().requests == 1
    finally:
        tr.close()


def test_missing_scope_is_named(org):
    activities_only = ApiKey("sk-ant-api01-" + "a" * 40)
    from vigil.simulator import make_key
    tr = SyncASGITransport(build_app(org, keys=[make_key(activities_only.reveal(), ["read:compliance_activities"])]))
    try:
        with ComplianceClient(org.claude_org.uuid, activities_only, base_url="http://127.0.0.1", transport=tr) as c:
            assert next(c.activities(limit=1).pages()).request_id
            with pytest.raises(PermissionDeniedError) as info:
                list(c.chats())
            assert info.value.missing_scopes == ["read:compliance_user_data"] and c.stats().requests == 2
    finally:
        tr.close()


# --- the rate limit ---------------------------------------------------------------------------

class Clock:
    """Fake time shared by the simulator (epoch seconds) and the client (monotonic + wall)."""

    def __init__(self):
        self.t = 0.0
        self.epoch = float(int(time.time()) // 60 * 60)
        self.lock = threading.Lock()

    def mono(self):
        return self.t

    def wall(self):
        return self.epoch + self.t

    def sleep(self, s):
        with self.lock:
            self.t += max(s, 0.0)


def test_long_walk_at_the_simulators_budget_sees_no_429(key):
    org = SyntheticOrg.generate(seed=SEED, users=8, chats=40, days=14)  # its own: the fake clock drives it
    clock = Clock()
    tr = SyncASGITransport(build_app(org, keys=[key], rpm=120, clock=clock.wall))
    limiter = RateLimiter(108, clock=clock.mono, sleep=clock.sleep, wall=clock.wall)  # 90% of 120
    try:
        with ComplianceClient(org.claude_org.uuid, key.secret, base_url="http://127.0.0.1", transport=tr,
                              limiter=limiter, sleep=clock.sleep) as c:
            while c.stats().requests < 600:  # ~5.5 simulated minutes of list walking
                list(c.chats(order_by="updated_at", limit=2))
                list(c.org_users(limit=1))
            stats = c.stats()
    finally:
        tr.close()
    assert stats.rate_limited == 0 and stats.retries == 0
    assert stats.requests >= 600 and clock.t >= (stats.requests - 2) / 108 * 60 - 1


def test_client_above_the_budget_is_corrected_by_headers(key):
    org = SyntheticOrg.generate(seed=SEED, users=8, chats=40, days=14)
    clock = Clock()
    tr = SyncASGITransport(build_app(org, keys=[key], rpm=120, clock=clock.wall))
    limiter = RateLimiter(6000, clock=clock.mono, sleep=clock.sleep, wall=clock.wall)  # far above 120
    try:
        with ComplianceClient(org.claude_org.uuid, key.secret, base_url="http://127.0.0.1", transport=tr,
                              limiter=limiter, sleep=clock.sleep) as c:
            while c.stats().requests < 400:
                list(c.org_users(limit=1))
            stats = c.stats()
    finally:
        tr.close()
    # remaining/reset headers hold the client at the server's 120/min: no 429 at all
    assert stats.rate_limited == 0 and stats.requests >= 400 and clock.t >= 2 * 60


def test_client_is_thread_safe(client):
    before = client.stats().requests
    errors = []

    def work():
        try:
            for _ in range(10):
                list(client.organizations())
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and client.stats().requests - before == 40
