"""End-to-end scans against the simulator (plain Python, no Prefect)."""

from __future__ import annotations

from collections import Counter, defaultdict

import pytest

from vigil.api.errors import ApiError
from vigil.detect import Engine
from vigil.simulator import Faults

MIN_RECALL = 0.95
CONTENT_SKIPS = {"corrupt", "encrypted", "unsupported", "limit_exceeded", "ocr_unavailable", "timeout"}


def assert_finished(summary):
    """Completed, with at most the seeded org's undecodable files skipped (no API failure)."""
    assert summary.status in ("completed", "completed_with_skips"), summary.status
    assert set(summary.failed_skips) <= CONTENT_SKIPS, summary.failed_skips
    assert summary.status == ("completed_with_skips" if summary.failed_skips else "completed")


def test_recall_of_planted_values_per_infotype(make_sim):
    sim = make_sim(seed=21, users=12, chats=80)
    summary = sim.scan("historical", days=30)
    assert_finished(summary)

    found = defaultdict(set)  # (kind, id, infotype) -> distinct hits
    for r in sim.rows("SELECT object_kind, object_id, infotype, locator, start FROM findings"):
        found[(r["object_kind"], r["object_id"], r["infotype"])].add((r["locator"], r["start"]))
    planted = Counter((g.object_kind, g.object_id, g.infotype) for g in sim.org.ground_truth())
    covered = {r.infotype for r in Engine.load(b"k" * 32).rules}

    per_type: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for (kind, oid, infotype), n in planted.items():
        per_type[infotype][0] += n
        per_type[infotype][1] += min(n, len(found[(kind, oid, infotype)]))
    recall = {it: hit / n for it, (n, hit) in per_type.items() if it in covered}
    assert len(recall) >= 30, "the simulator plants most covered infotypes"
    low = {it: round(r, 3) for it, r in recall.items() if r < MIN_RECALL}
    assert not low, f"recall below {MIN_RECALL}: {low}"


def test_scope_filters_exclude_exactly_what_they_should(make_sim, tmp_path):
    sim = make_sim(seed=22, users=10, chats=60)
    org = sim.org
    chats = [c for c in org.live_chats()]
    users = sorted({org.users[c.user].email for c in chats})
    keep_users = users[:4]
    projects = [p for p in org.projects if not p.hard_deleted]
    dropped_project = projects[0]
    summary = sim.scan("historical", days=30,
                       scope={"chats": {"mode": "include", "users": keep_users},
                              "projects": {"mode": "exclude", "names": [dropped_project.name]}},
                       evidence={"target": str(tmp_path / "evidence")})
    assert_finished(summary)

    expected = {c.id for c in chats
                if org.users[c.user].email in keep_users and c.project != dropped_project.id}
    landed = {r["chat_id"] for r in sim.rows("SELECT DISTINCT chat_id FROM chat_events")}
    assert landed == expected
    emails = {r["user_email"] for r in sim.rows(
        "SELECT DISTINCT user_email FROM findings WHERE chat_id IS NOT NULL")}
    assert emails and emails <= set(keep_users)
    assert not sim.rows(f"SELECT * FROM objects WHERE project_id = '{dropped_project.id}'")
    assert not sim.rows(f"SELECT * FROM findings WHERE project_id = '{dropped_project.id}'")
    kept_projects = {r["project_id"] for r in sim.rows(
        "SELECT DISTINCT project_id FROM objects WHERE object_kind = 'project_instructions'")}
    assert kept_projects and dropped_project.id not in kept_projects

    # Evidence: every object with findings was copied under its id; nothing else was.
    with_findings = sim.rows("SELECT object_kind, object_id, evidence_uri FROM objects "
                             "WHERE findings_count > 0 AND object_kind <> 'chat'")
    assert with_findings and all(r["evidence_uri"] for r in with_findings)
    stored = [p for p in (tmp_path / "evidence").rglob("*") if p.is_file()]
    assert len(stored) == len(with_findings)
    assert all(r["object_id"] in r["evidence_uri"] for r in with_findings)


def test_oversized_and_excluded_files_are_skipped_with_their_reason(make_sim):
    sim = make_sim(seed=23, users=10, chats=60, huge_file_bytes=3 * 1024 * 1024)
    types = ["txt", "csv", "json", "md", "py", "docx", "xlsx", "zip", "eml", "html", "yaml"]  # no pdf
    summary = sim.scan("historical", days=30, inspection={"max_file_mb": 2, "file_types": types})
    assert_finished(summary)

    skipped = sim.rows("SELECT object_id, reason, file_name FROM objects WHERE status = 'skipped'")
    too_large = {r["object_id"] for r in skipped if r["reason"] == "too_large"}
    huge = {f.id for f in sim.org.files.values() if f.variant == "huge"}
    assert huge and huge <= too_large
    excluded = [r for r in skipped if r["reason"] == "type_excluded"]
    assert excluded and all(r["file_name"].rsplit(".", 1)[-1].lower() not in types for r in excluded)
    pdfs = {f.id for f in sim.org.files.values() if f.filename.lower().endswith(".pdf")
            and f.variant == "plain"}
    assert pdfs <= {r["object_id"] for r in excluded}
    # Oversized files were recorded from their listed size, never downloaded.
    downloads = [a.fields.get("url", "") for a in sim.org.activities.all()
                 if a.type == "compliance_api_accessed"]
    assert not [u for u in downloads if any(f"{fid}/content" in u for fid in huge)]
    assert summary.skipped["too_large"] >= len(huge)


def test_forward_scan_inspects_only_new_content(make_sim):
    sim = make_sim(seed=24, users=8, chats=30)
    first = sim.scan("historical", days=30)
    idle = sim.scan("forward")
    assert idle.counts["objects_scanned"] == 0 and idle.counts["findings"] == 0
    assert idle.counts["chats_fetched"] == 0

    org = sim.org
    new_chats = org.add_generated_chats(3)
    grown = next(c for c in org.live_chats() if c.id not in new_chats)
    new_message = org.add_message(grown.id, "my card is 4111 1111 1111 1111, call +1 415 555 0100",
                                  plants=[("CREDIT_CARD_NUMBER", "4111 1111 1111 1111")])
    after = sim.scan("forward")
    assert_finished(after)

    run = after.run_id
    messages = {r["object_id"] for r in sim.rows(
        f"SELECT object_id FROM objects WHERE scan_run_id = '{run}' AND object_kind = 'message'")}
    expected = {m["id"] for cid in new_chats for m, _ in org.content.chat_messages(org.chat(cid))}
    assert messages == expected | {new_message}
    chats_fetched = {r["object_id"] for r in sim.rows(
        f"SELECT object_id FROM objects WHERE scan_run_id = '{run}' AND object_kind = 'chat'")}
    assert chats_fetched == set(new_chats) | {grown.id}
    assert sim.rows(f"SELECT infotype FROM findings WHERE message_id = '{new_message}'")
    # The Activity Feed catch-up (before_id = saved first_id) landed the new chats' activities.
    ids = ", ".join(f"'{c}'" for c in new_chats)
    created = {r["claude_chat_id"] for r in sim.rows(
        f"SELECT claude_chat_id FROM activities WHERE type = 'claude_chat_created' AND claude_chat_id IN ({ids})")}
    assert created == set(new_chats)
    window_start = idle.window.start.timestamp()  # where the forward scan's first run began
    before_run = {a.id for a in org.activities.all()
                  if window_start <= a.t < after.started_at.timestamp()}
    landed = {r["activity_id"] for r in sim.rows("SELECT activity_id FROM activities")}
    assert before_run <= landed  # nothing older than the run was missed
    # Nothing inspected earlier was inspected again.
    earlier = {r["object_key"] for r in sim.rows(
        f"SELECT object_key FROM objects WHERE scan_run_id = '{first.run_id}'")}
    again = {r["object_key"] for r in sim.rows(
        f"SELECT object_key FROM objects WHERE scan_run_id = '{run}'")}
    assert not earlier & again


def test_rerun_adds_no_rows(make_sim):
    sim = make_sim(seed=25, users=8, chats=30)
    sim.scan("historical", days=30)
    assert sim.lake.checkpoints("forward", org_id=sim.org.parent.uuid).load() == {}  # historical never moves it
    assert sim.lake.checkpoint_namespaces("historical", org_id=sim.org.parent.uuid)
    before = sim.content_rows()
    counts = sim.table_counts()
    again = sim.scan("historical", days=30)
    assert again.counts["objects_scanned"] == 0 and again.counts["chats_fetched"] == 0
    assert sim.content_rows() == before
    after = sim.table_counts()
    assert {k: after[k] for k in ("findings", "chat_events", "objects")} == \
           {k: counts[k] for k in ("findings", "chat_events", "objects")}


class Crash(Exception):
    pass


def test_killed_run_resumes_to_exactly_the_rows_of_an_uninterrupted_run(make_sim):
    clean = make_sim(seed=26, users=8, chats=50)
    clean.scan("historical", days=30, chat_page_size=10)

    crashed = make_sim(org=clean.org)

    def crash_after_two_chat_pages(source, page, summary):
        if source == "chats" and page == 2:
            raise Crash()

    with pytest.raises(Crash):
        crashed.scan("historical", days=30, chat_page_size=10, on_page=crash_after_two_chat_pages)
    partial = crashed.rows("SELECT count(*) AS n FROM objects WHERE object_kind = 'chat'")[0]["n"]
    assert partial == 20  # two pages of ten chats landed before the crash

    resumed = crashed.scan("historical", days=30, chat_page_size=10)
    assert resumed.counts["chats_seen"] == 30  # only the pages after the crash were walked
    assert crashed.content_rows() == clean.content_rows()
    runs = crashed.rows("SELECT status FROM scan_runs ORDER BY started_at")
    assert [r["status"] for r in runs] == ["failed", resumed.status]


def scan_resuming(sim, kind, attempts=3):
    """A scan, run again when a list request outlasted the client's retries: without Prefect's
    task retries that fails the run, and the next run resumes from the checkpoint (docs/scans.md).
    At a 35% fault rate a list request fails 7 times in a row about once in 1,600."""
    for attempt in range(attempts):
        try:
            return sim.scan(kind, days=30)
        except ApiError as exc:
            if not exc.retryable or attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")


def test_429_and_5xx_storms_change_nothing_in_the_results(make_sim):
    clean = make_sim(seed=27, users=8, chats=30)
    clean.scan("historical", days=30)
    storm = Faults(p429=0.15, p500=0.08, p503=0.05, p529=0.03, p_drop=0.02, p_truncate=0.02, seed=5)
    stormy = make_sim(org=clean.org, faults=storm)
    summary = scan_resuming(stormy, "historical")
    assert summary.status in ("completed", "completed_with_skips")
    # At this fault rate an object can outlast the client's retries: it is skipped, named, and
    # the next forward scans come back for it (CONTENT_SKIPS are the org's undecodable files).
    assert set(summary.failed_skips) <= CONTENT_SKIPS | {"unavailable", "integrity"}
    assert summary.rate_limited > 0 and summary.retries > 0
    for _ in range(4):
        if not stormy.rows("SELECT 1 FROM objects WHERE reason IN ('unavailable', 'integrity')"):
            break
        scan_resuming(stormy, "forward")
    assert stormy.content_rows() == clean.content_rows()
    row = stormy.rows(f"SELECT requests_used, rate_limited_429, retries FROM scan_runs "
                      f"WHERE scan_run_id = '{summary.run_id}'")[0]
    assert row["rate_limited_429"] == summary.rate_limited and row["retries"] == summary.retries
    storm_requests = stormy.rows("SELECT sum(requests_used) AS n FROM scan_runs WHERE run_type = 'historical'")[0]["n"]
    assert storm_requests > clean.rows("SELECT requests_used FROM scan_runs")[0]["requests_used"]



def test_soft_deleted_chats_are_scanned_with_deleted_at_and_links(make_sim):
    sim = make_sim(seed=28, users=6, chats=20)
    org = sim.org
    planted_chats = {org.chats[org.files[g.object_id].chat].id for g in org.ground_truth()
                     if g.object_kind == "file" and org.files[g.object_id].chat is not None}
    victim = next(c for c in org.live_chats() if c.id in planted_chats)
    org.soft_delete_chat(victim.id)
    sim.scan("historical", days=30)
    rows = sim.rows(f"SELECT deleted_at, chat_url, category, object_key FROM findings WHERE chat_id = '{victim.id}'")
    assert rows and all(r["deleted_at"] is not None for r in rows)
    assert all(r["chat_url"] == f"https://claude.ai/chat/{victim.uuid}" for r in rows)
    assert all(r["category"] in ("credential", "pii", "national_id", "financial", "health") for r in rows)
    events = sim.rows(f"SELECT deleted_at FROM chat_events WHERE chat_id = '{victim.id}'")
    assert events and all(e["deleted_at"] is not None for e in events)
    soft_deleted = {c.id for c in org.chats if c.deleted is not None and not c.hard_deleted}
    marked = {r["chat_id"] for r in sim.rows("SELECT DISTINCT chat_id FROM findings WHERE deleted_at IS NOT NULL")}
    assert victim.id in marked and marked <= soft_deleted
    # One column joins a finding to its ledger row and its chat event.
    joined = sim.rows("SELECT count(*) AS n FROM findings f JOIN objects o USING (object_key)")[0]["n"]
    assert joined == sim.rows("SELECT count(*) AS n FROM findings")[0]["n"]
