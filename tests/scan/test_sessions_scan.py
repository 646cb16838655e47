"""Sessions, Claude Code sites, the directory and posture in scans of a simulated org (plain
Python, no Prefect): coverage, recall against the simulator's ground truth, the ledger's account
of everything not inspected, forward increments after admin changes, and failures that heal."""

from __future__ import annotations

import base64
import json
import random
from collections import Counter, defaultdict
from datetime import timedelta

import httpx
import pytest

from vigil.detect import Engine
from vigil.posture import changes_since
from vigil.scan.runner import SEVERITY_ORDER
from vigil.simulator import SyncASGITransport
from vigil.simulator.sessions import SERVER_MAX_BYTES
from vigil.synth import values

from tests.scan.test_scan_e2e import assert_finished

# CPU-bound and self-contained: runs in the `waits` stream after its clock-bound tests, so the two
# streams end together (docs/testing.md, "Balancing the streams").
pytestmark = pytest.mark.late

MIN_RECALL = 0.95
SESSION_KINDS = ("local_session_message", "remote_session_message", "code_artifact_version")
SURFACES = {"cowork", "claude_code", "cowork_remote"}


@pytest.fixture(scope="module")
def covered():
    return {r.infotype for r in Engine.load(b"k" * 32).rules}


@pytest.fixture
def scanned(make_sim):
    """A historical scan of an org with chats, projects, sessions of every surface and sites."""
    sim = make_sim(seed=51, users=14, chats=30, local_sessions=14, remote_sessions=8, code_artifacts=6)
    summary = sim.scan("historical", days=30)
    return sim, summary


def recall_by_kind(sim, covered):
    """``{kind: (planted, found)}`` over planted values of infotypes the engine has rules for,
    matching a finding of the same infotype in the same object (version for sites)."""
    found = defaultdict(set)
    for r in sim.rows("SELECT object_kind, object_id, object_version, infotype, locator, start FROM findings "
                      "WHERE session_id IS NOT NULL OR object_kind = 'code_artifact_version'"):
        version = r["object_version"] if r["object_kind"] == "code_artifact_version" else None
        found[(r["object_kind"], r["object_id"], version, r["infotype"])].add((r["locator"], r["start"]))
    planted = Counter((g.object_kind, g.object_id, g.version, g.infotype)
                      for g in sim.org.ground_truth(kinds="sessions") if g.infotype in covered)
    out = defaultdict(lambda: [0, 0])
    for key, n in planted.items():
        out[key[0]][0] += n
        out[key[0]][1] += min(n, len(found[key]))
    return {kind: tuple(v) for kind, v in out.items()}


def expected_ledger(org):
    """What the ledger must say about every session message and site version the API lists:
    ``{(kind, id, version): (status, reason)}`` (reason None for fully scanned)."""
    out = {}
    for s in org.local_sessions:
        kept = set(org.retained_calls(s))
        for ci, msg, _ in org.sessions.local_messages(s):
            if ci not in kept:
                continue
            prov = msg.get("provenance") or {}
            if prov.get("type") == "content_unavailable":
                out[("local_session_message", msg["id"], None)] = ("skipped", prov["reason"])
            elif prov.get("type") == "synthetic_marker":
                out[("local_session_message", msg["id"], None)] = ("skipped", "synthetic_marker")
            else:
                out[("local_session_message", msg["id"], None)] = ("scanned", _partial(msg))
    for s in org.remote_sessions:
        if s.status == "pending":
            out[("remote_session", s.id, "*")] = ("skipped", "pending")
            continue
        for _, msg, _ in org.sessions.remote_messages(s):
            state = ("skipped", "content_unavailable") if msg.get("content_unavailable") else ("scanned", _partial(msg))
            out[("remote_session_message", msg["id"], None)] = state
    now = org.clock()
    for a in org.code_artifacts:
        for v in a.retained():
            if not org.version_ready(v, now):
                out[("code_artifact_version", a.id, v.id)] = ("skipped", "uploading")
            else:
                out[("code_artifact_version", a.id, v.id)] = ("scanned", "truncated" if v.oversize else None)
    return out


def _partial(msg):
    """What the API cuts or replaces in a message served at the server maximum."""
    blocks = msg.get("content") or []
    if any(_tool_bytes(b) > SERVER_MAX_BYTES for b in blocks):
        return "truncated"
    if any(b.get("truncated") and b["type"] == "text" for b in blocks):
        return "binary_not_shown"
    return None


def _tool_bytes(block):
    if block["type"] == "tool_use":
        return len(block["input"].encode())
    if block["type"] == "tool_result":
        return max((len(i.get("text", "").encode()) for i in block.get("content") or ()), default=0)
    return 0


def test_historical_scan_covers_sessions_of_every_surface_and_sites(scanned, covered):
    sim, summary = scanned
    assert_finished(summary)
    kinds = {r["object_kind"] for r in sim.rows("SELECT DISTINCT object_kind FROM findings")}
    assert {"message", "project_instructions", "local_session_message", "remote_session_message",
            "code_artifact_version"} <= kinds
    surfaces = {r["product_surface"] for r in sim.rows(
        "SELECT DISTINCT product_surface FROM findings WHERE session_id IS NOT NULL")}
    assert SURFACES <= surfaces

    # Sites: recall of planted values (the scan reads every version whole).
    recall = recall_by_kind(sim, covered)
    planted, found = recall["code_artifact_version"]
    assert planted > 20 and found / planted >= MIN_RECALL, recall
    # Sessions: every message holding a planted value reached inspection (the scan's part), and
    # findings match them (the detection engine's part; test_session_recall_reaches_the_target).
    inspected = {(r["object_kind"], r["object_id"]) for r in sim.rows(
        "SELECT object_kind, object_id FROM objects WHERE status = 'scanned'")}
    for g in sim.org.ground_truth(kinds="sessions"):
        assert (g.object_kind, g.object_id) in inspected, g
    for kind in ("local_session_message", "remote_session_message"):
        planted, found = recall[kind]
        assert planted > 20 and found / planted >= MIN_RECALL, recall

    # No duplicates: one finding per (object, place, infotype), and one landed copy of each.
    dupes = sim.rows('SELECT object_key, locator, start, "end", infotype, count(*) n FROM findings '
                     'GROUP BY ALL HAVING n > 1')
    assert dupes == []
    assert sim.rows("SELECT count(*) n FROM findings_all")[0]["n"] == sim.rows("SELECT count(*) n FROM findings")[0]["n"]

    # Session findings say where they come from.
    rows = sim.rows("SELECT session_id, product_surface, tool_name, author_role, content_verification, "
                    "user_id, user_email, message_id FROM findings WHERE session_id IS NOT NULL")
    assert all(r["session_id"].startswith(("clls_", "cse_")) and r["message_id"] for r in rows)
    assert {"Bash", "Read"} <= {r["tool_name"] for r in rows}
    assert {"verified", "client_asserted"} <= {r["content_verification"] for r in rows}
    assert {"user", "assistant"} <= {r["author_role"] for r in rows}
    assert all(r["user_id"] and r["user_email"] for r in rows)  # e-mails filled from the directory

    # Site findings carry the artifact, version, name and read mode; a secret in a public site is critical.
    sites = sim.rows("SELECT object_id, object_version, file_name, read_mode, exposure, category, severity "
                     "FROM findings WHERE object_kind = 'code_artifact_version'")
    assert all(r["object_id"].startswith("cart_") and r["object_version"] and r["file_name"] and r["read_mode"]
               for r in sites)
    public = [r for r in sites if r["read_mode"] == "public"]
    assert public and all(r["exposure"] == "public" for r in public)
    assert all(r["severity"] == "critical" for r in public if r["category"] == "credential")
    assert any(r["severity"] != "critical" for r in sites if r["read_mode"] != "public"
               and r["category"] == "credential")


def test_session_recall_reaches_the_target(scanned, covered):
    sim, _ = scanned
    recall = recall_by_kind(sim, covered)
    for kind in ("local_session_message", "remote_session_message"):
        planted, found = recall[kind]
        assert found / planted >= MIN_RECALL, recall


def test_the_ledger_explains_every_session_message_and_site_version(scanned):
    sim, _ = scanned
    got = {(r["object_kind"], r["object_id"], r["object_version"]): (r["status"], r["reason"]) for r in sim.rows(
        "SELECT object_kind, object_id, object_version, status, reason FROM objects WHERE object_kind IN "
        "('local_session_message', 'remote_session_message', 'code_artifact_version', 'remote_session')")}
    pending = {(k, i) for (k, i, v), state in got.items() if k == "remote_session" and state[0] == "skipped"}
    expected = expected_ledger(sim.org)
    for key, state in expected.items():
        if key[2] == "*":
            assert (key[0], key[1]) in pending and got[next(k for k in got if k[:2] == key[:2])] == state
        else:
            assert got.get(key) == state, key
    reasons = Counter(state[1] for state in got.values())
    for reason in ("not_captured", "cmek_key_revoked", "retention_elapsed", "oversize", "content_unavailable",
                   "pending", "synthetic_marker", "truncated"):
        assert reasons[reason] >= 1, reasons
    # Every session message the run saw has a session event; every site version too.
    events = {r["object_key"] for r in sim.rows("SELECT object_key FROM session_events")}
    ledger = {r["object_key"] for r in sim.rows(
        "SELECT object_key FROM objects WHERE object_kind IN ('local_session_message', "
        "'remote_session_message', 'code_artifact_version')")}
    assert events == ledger


def test_directory_and_posture_are_landed(scanned):
    sim, summary = scanned
    org = sim.org
    users = {r["user_id"]: r for r in sim.rows("SELECT * FROM users WHERE active")}
    assert set(users) == {u.id for u in org.users}
    assert all(users[u.id]["email"] == u.email and users[u.id]["organization_role"] == u.role for u in org.users)
    groups = {r["group_id"]: r["name"] for r in sim.rows("SELECT group_id, name FROM groups WHERE active")}
    assert groups == {g.id: g.name for g in org.groups}
    members = {(r["group_id"], r["user_id"]) for r in sim.rows("SELECT group_id, user_id FROM group_members")}
    assert members == {(g.id, org.users[i].id) for g in org.groups for i, _ in g.members}
    # Findings join the directory on user_id.
    joined = sim.rows("SELECT count(*) n, count(u.user_id) j FROM findings f LEFT JOIN users u USING (user_id) "
                      "WHERE f.user_id IS NOT NULL")[0]
    assert joined["n"] == joined["j"] > 0
    snapshots = sim.rows("SELECT org_id, settings_count, scan_run_id FROM posture_snapshots")
    linked = {o.uuid for o in org.org_units() if o.kind != "parent"}
    assert {s["org_id"] for s in snapshots} == linked and all(s["settings_count"] > 0 for s in snapshots)
    assert sim.rows("SELECT count(*) n FROM posture_changes")[0]["n"] == 0  # the first snapshot is the baseline
    # A second scan with nothing changed lands no directory row again and no posture change.
    again = sim.scan("forward")
    assert again.counts["posture_changes"] == 0
    for table in ("users", "groups", "group_members"):
        assert sim.rows(f"SELECT count(*) n FROM {table}_all WHERE scan_run_id = '{again.run_id}'")[0]["n"] == 0
    assert sim.rows(f"SELECT count(*) n FROM posture_snapshots WHERE scan_run_id = '{again.run_id}'")[0]["n"] == 2


def test_directory_refresh_minutes_spares_the_directory_requests_of_frequent_scans(scanned):
    """The watch scans every minute: with ``directory.refresh_minutes`` the directory (one request
    per group for its members) is read again only once the lake's copy is that old."""
    sim, _ = scanned

    def directory_requests(run):
        before = len(sim.chaos.log)
        summary = run()
        paths = [path for _, path, _ in sim.chaos.log[before:]]
        return summary, (sum("/groups" in p for p in paths), sum(p.endswith("/users") for p in paths))

    every, (groups_every, users_every) = directory_requests(lambda: sim.scan("forward"))
    assert groups_every == 1 + len(sim.org.groups)  # the groups, then each group's members
    spared, (groups_spared, users_spared) = directory_requests(
        lambda: sim.scan("forward", directory={"refresh_minutes": 60}))
    assert groups_spared == 0 and users_spared == users_every - 1  # the org check still lists users
    assert spared.counts["directory_fresh"] == 1 and spared.status == "completed"
    # The lake's copy is what scope by group and the session owners use: it is still there.
    assert sim.rows("SELECT count(*) n FROM users WHERE active")[0]["n"] == len(sim.org.users)
    # Historical scans always read it.
    _, (groups_historical, _) = directory_requests(
        lambda: sim.scan("historical", days=1, directory={"refresh_minutes": 60}))
    assert groups_historical == groups_every


def test_forward_scan_after_admin_changes_inspects_only_the_new_content(scanned):
    sim, first = scanned
    org = sim.org
    sim.settings["sessions"] = {"local_reread_minutes": 0}  # re-read the trailing window every scan
    idle = sim.scan("forward")
    assert idle.counts["objects_scanned"] == 0 and idle.counts["findings"] == 0
    assert idle.status == "completed"

    local = next(s for s in org.local_sessions if s.surface == "claude_code" and org.retained_calls(s))
    token = values.generate("GITHUB_TOKEN", random.Random(1))
    new_local = org.add_local_session_messages(local.id, [
        {"role": "assistant", "tool_use": {"name": "Bash", "input": json.dumps({"command": "cat .env"})}},
        {"role": "user", "tool_result": {"name": "Bash", "text": f"GITHUB_TOKEN={token}\n"},
         "plants": [("GITHUB_TOKEN", token)]}])
    email = "dana.whitfield@example-partner.com"
    remote = org.add_remote_session(user=org.users[2].id, messages=[
        {"role": "user", "text": f"forward the contract to {email} please", "plants": [("EMAIL_ADDRESS", email)]}])
    site = next(a for a in org.code_artifacts if a.read_mode != "public" and a.retained())
    stripe = values.generate("STRIPE_API_KEY", random.Random(2))
    version = org.add_code_artifact_version(
        site.id, content=f"<script>const stripe = Stripe('{stripe}');</script>\n", read_mode="public",
        plants=[("STRIPE_API_KEY", stripe)])
    org.update_settings({"claude_ai_chat_sharing_enabled": True,
                         "data_retention_periods": {"all": {"type": "fixed", "timescale": "month", "duration": 12}}})
    with httpx.Client(transport=SyncASGITransport(sim.app), base_url="http://sim") as admin:
        key = admin.post("/_admin/api_keys", json={"name": "SIEM export 2"}).json()["id"]

    after = sim.scan("forward")
    assert_finished(after)
    run = after.run_id
    landed = {(r["object_kind"], r["object_id"], r["object_version"]) for r in sim.rows(
        f"SELECT object_kind, object_id, object_version FROM objects WHERE scan_run_id = '{run}' "
        "AND object_kind NOT IN ('local_session', 'remote_session')")}
    remote_messages = {m["id"] for _, m, _ in org.sessions.remote_messages(org.remote_session(remote))}
    assert landed == ({("local_session_message", m, None) for m in new_local}
                      | {("remote_session_message", m, None) for m in remote_messages}
                      | {("code_artifact_version", site.id, version)})
    assert sim.rows(f"SELECT 1 FROM findings WHERE message_id = '{new_local[1]}' AND infotype = 'GITHUB_TOKEN' "
                    "AND tool_name = 'Bash' AND product_surface = 'claude_code'")
    assert sim.rows(f"SELECT 1 FROM findings WHERE session_id = '{remote}' AND infotype = 'EMAIL_ADDRESS' "
                    "AND product_surface = 'cowork_remote'")
    leak = sim.rows(f"SELECT severity, exposure, read_mode FROM findings WHERE object_id = '{site.id}' "
                    f"AND object_version = '{version}' AND infotype = 'STRIPE_API_KEY'")
    assert leak == [{"severity": "critical", "exposure": "public", "read_mode": "public"}]

    listed = changes_since(sim.lake, first.started_at)
    changes = {(c["org_id"], c["setting"], c["change"]) for c in listed}
    claude_ai, console = org.claude_org.uuid, org.console_org.uuid
    # The keys are the parent's: every linked organization lists them.
    assert changes == {(claude_ai, "claude_ai_chat_sharing_enabled", "turned_on"),
                       (claude_ai, "data_retention_periods", "shortened"),
                       (claude_ai, f"api_key:{key}", "key_created"), (console, f"api_key:{key}", "key_created")}
    assert after.counts["posture_changes"] == len(listed) == 4
    assert all(c["scan_run_id"] == run and c["previous_taken_at"] < c["detected_at"] for c in listed)
    assert changes_since(sim.lake, after.finished_at + timedelta(seconds=1)) == []
    # Nothing inspected earlier was inspected again.
    earlier = {r["object_key"] for r in sim.rows(
        f"SELECT object_key FROM objects WHERE scan_run_id IN ('{first.run_id}', '{idle.run_id}')")}
    again = {r["object_key"] for r in sim.rows(f"SELECT object_key FROM objects WHERE scan_run_id = '{run}'")}
    assert not earlier & again


def test_forward_scans_read_new_local_sessions_at_once_and_grown_ones_at_the_next_full_walk(scanned):
    sim, _ = scanned
    org = sim.org
    full = sim.scan("forward")  # the first forward scan re-reads every session of its window
    listed = full.counts["local_sessions_seen"]
    recent = [s for s in org.local_sessions if org.local_created(s) and org.clock() - org.local_created(s) < 3 * 86400]
    old = recent[0]  # created in the trailing window (7 days), before the last walk
    grown = org.add_local_session_messages(old.id, [{"role": "user", "text": "one more question"}])
    new = org.add_local_session(user=org.users[1].id, messages=[{"role": "user", "text": "hello"}])

    cheap = sim.scan("forward")  # within the re-read interval: only sessions created since the last walk
    assert cheap.counts["local_sessions_seen"] == 1 < listed
    landed = {r["object_id"] for r in sim.rows(f"SELECT object_id FROM objects WHERE scan_run_id = "
                                               f"'{cheap.run_id}' AND object_kind = 'local_session_message'")}
    new_messages = {m["id"] for _, m, _ in org.sessions.local_messages(org.local_session(new))}
    assert landed == new_messages

    store = sim.lake.checkpoints("forward", org_id=org.parent.uuid)
    state = store.load()
    state["local_sessions"]["last_full"] = "2000-01-01T00:00:00Z"  # the re-read interval has passed
    store.save(state)
    reread = sim.scan("forward")
    in_window = [s for s in org.local_sessions if org.local_created(s)
                 and org.clock() - org.local_created(s) < 7 * 86400]
    assert reread.counts["local_sessions_seen"] == len(in_window) > 1
    landed = {r["object_id"] for r in sim.rows(f"SELECT object_id FROM objects WHERE scan_run_id = "
                                               f"'{reread.run_id}' AND object_kind = 'local_session_message'")}
    assert landed == set(grown)


def test_making_a_site_public_reinspects_its_published_version(scanned):
    sim, _ = scanned
    org = sim.org
    # A site not public whose published version holds a secret the rules rate below critical.
    site = published = None
    for a in org.code_artifacts:
        version = org.published_version(a, org.clock())
        if a.read_mode != "public" and version is not None and sim.rows(
                f"SELECT 1 FROM findings WHERE object_id = '{a.id}' AND object_version = '{version.id}' "
                "AND category = 'credential' AND severity <> 'critical'"):
            site, published = a, version
            break
    assert site is not None
    before = sim.rows(f"SELECT finding_id, severity FROM findings WHERE object_id = '{site.id}' "
                      f"AND object_version = '{published.id}' AND category = 'credential'")
    assert any(SEVERITY_ORDER[r["severity"]] > 0 for r in before)
    org.set_code_artifact_read_mode(site.id, "public")
    run = sim.scan("forward")
    assert run.counts["code_artifacts_reinspected"] == 1
    after = {r["finding_id"]: r for r in sim.rows(
        f"SELECT finding_id, severity, exposure FROM findings WHERE object_id = '{site.id}' "
        f"AND object_version = '{published.id}' AND category = 'credential'")}
    assert set(after) == {r["finding_id"] for r in before}  # the same findings, now public
    assert all(r["severity"] == "critical" and r["exposure"] == "public" for r in after.values())


def test_a_version_still_uploading_is_skipped_and_read_later(scanned):
    sim, _ = scanned
    org = sim.org
    site = next(a for a in org.code_artifacts if a.retained())
    secret = values.generate("GITHUB_TOKEN", random.Random(3))
    version = org.add_code_artifact_version(site.id, content=f"token: {secret}\n", upload_seconds=3600,
                                            plants=[("GITHUB_TOKEN", secret)])
    first = sim.scan("forward")
    assert first.status == "completed_with_skips" and first.skipped["uploading"] == 1 and first.retry_later == 1
    assert sim.rows(f"SELECT reason FROM objects WHERE object_version = '{version}'") == [{"reason": "uploading"}]
    next(v for v in site.versions if v.id == version).available_at = None  # the upload completes
    done = sim.scan("forward")
    assert done.status == "completed" and done.counts["objects_scanned"] == 1
    assert sim.rows(f"SELECT status, attempts FROM objects WHERE object_version = '{version}'") == \
        [{"status": "scanned", "attempts": 2}]
    assert sim.rows(f"SELECT 1 FROM findings WHERE object_version = '{version}' AND infotype = 'GITHUB_TOKEN'")


@pytest.mark.parametrize("kind,fault", [("local", "500"), ("remote", "500"), ("local", "retention")])
def test_a_session_transcript_that_keeps_failing_is_skipped_and_healed(make_sim, kind, fault):
    clean = make_sim(seed=52, users=8, chats=6, local_sessions=8, remote_sessions=5, code_artifacts=1)
    clean.scan("historical", days=30)
    org = clean.org
    now = org.clock()
    if kind == "local":  # older than the forward scan's trailing window: the retry source heals it
        target = next(s for s in org.local_sessions
                      if org.local_created(s) and now - org.local_created(s) > 8 * 86400
                      and any(g.object_kind == "local_session_message" for g in org.ground_truth(kinds="sessions")
                              if g.object_id in {m["id"] for _, m, _ in org.sessions.local_messages(s)}))
    else:
        target = next(s for s in org.remote_sessions if s.status != "pending")
    sim = make_sim(org=org)
    if fault == "500":
        sim.chaos.fail_object(target.id, "500")
    else:  # the persistent 503 "cannot currently evaluate retention overrides for this session"
        org.set_local_session_retention_error(target.id, True)
    first = sim.scan("historical", days=30)
    assert first.status == "completed_with_skips" and first.skipped["unavailable"] == 1
    container = f"{kind}_session"
    assert sim.rows(f"SELECT status, reason, attempts FROM objects WHERE object_kind = '{container}' "
                    f"AND object_id = '{target.id}'") == [{"status": "skipped", "reason": "unavailable", "attempts": 1}]
    assert not sim.rows(f"SELECT 1 FROM findings WHERE session_id = '{target.id}'")

    sim.chaos.heal()
    if fault == "retention":
        org.set_local_session_retention_error(target.id, False)
    healed = sim.scan("forward")
    assert healed.status == "completed" and not healed.retry_later
    if kind == "local":
        assert healed.pages["session_retries"] >= 1
    assert sim.content_rows() == clean.content_rows() | {"objects": sim.content_rows()["objects"]}
    got, want = sim.content_rows()["objects"], clean.content_rows()["objects"]
    containers = {r for r in got if r[1] == container and r[2] == target.id}
    assert containers and all(r[4] == "scanned" for r in containers)
    assert got - containers == want - {r for r in want if r[1] == container and r[2] == target.id}


def test_an_expired_local_session_cursor_restarts_the_walk(make_sim):
    clean = make_sim(seed=53, users=6, chats=4, local_sessions=9, remote_sessions=1, code_artifacts=1)
    clean.scan("historical", days=30, session_page_size=3)
    sim = make_sim(org=clean.org)

    class Crash(Exception):
        pass

    def crash(source, page, summary):
        if source == "local_sessions" and page == 1:
            raise Crash()

    with pytest.raises(Crash):
        sim.scan("historical", days=30, session_page_size=3, on_page=crash)
    store = sim.lake.checkpoints(sim.lake.checkpoint_namespaces("historical", org_id=sim.org.parent.uuid)[0],
                                 org_id=sim.org.parent.uuid)
    state = store.load()
    token = state["local_sessions"]["page"]
    body = json.loads(base64.urlsafe_b64decode(token[5:] + "=" * (-len(token[5:]) % 4)))
    body["w"] -= 25 * 3600  # the walk began more than a day ago: the API refuses the token
    state["local_sessions"]["page"] = "page_" + base64.urlsafe_b64encode(
        json.dumps(body, separators=(",", ":")).encode()).decode().rstrip("=")
    store.save(state)

    resumed = sim.scan("historical", days=30, session_page_size=3)
    assert resumed.counts["cursor_restarted"] == 1
    assert sim.content_rows() == clean.content_rows()
