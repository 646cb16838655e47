"""Objects that keep failing: skipped with a reason, never blocking a page, healed by later scans.

Plain Python (no Prefect); the Prefect-retry half of the fault suite is tests/flows/test_faults.py.
The simulator is wrapped in ``Chaos`` (vigil.simulator.chaos) to place failures exactly.
"""

from __future__ import annotations

import pytest

from vigil.lake.ledger import DEFAULT_MAX_ATTEMPTS


def _planted_file(org):
    """(file id, chat id) of a chat attachment with planted values, in a live chat."""
    live = {c.id for c in org.live_chats()}
    for g in org.ground_truth():
        if g.object_kind == "file":
            f = org.files[g.object_id]
            if f.chat is not None and org.chats[f.chat].id in live:
                return g.object_id, org.chats[f.chat].id
    raise AssertionError("no planted file")


@pytest.fixture
def clean(make_sim):
    sim = make_sim(seed=41, users=8, chats=30)
    sim.scan("historical", days=30)
    return sim


def _without(rows: dict[str, set], object_id: str) -> dict[str, set]:
    """Content rows with everything derived from one object (and its chat's ledger row) removed."""
    return {table: {r for r in found if object_id not in r} for table, found in rows.items()}


@pytest.mark.parametrize("fault,reason", [("500", "unavailable"), ("md5", "integrity")])
def test_an_object_that_keeps_failing_is_skipped_and_healed_by_the_next_scan(make_sim, clean, fault, reason):
    file_id, chat_id = _planted_file(clean.org)
    sim = make_sim(org=clean.org)
    sim.chaos.fail_object(file_id, fault)

    first = sim.scan("historical", days=30)
    assert first.status == "completed_with_skips" and first.skipped[reason] == 1
    ledger = sim.rows(f"SELECT status, reason, attempts FROM objects WHERE object_id = '{file_id}'")
    assert ledger == [{"status": "skipped", "reason": reason, "attempts": 1}]
    # The chat is not marked fully inspected; the rest of the page landed as in a clean run.
    assert not sim.rows(f"SELECT 1 FROM objects WHERE object_kind = 'chat' AND object_id = '{chat_id}'")
    assert not sim.rows(f"SELECT 1 FROM findings WHERE object_id = '{file_id}'")
    got, want = sim.content_rows(), clean.content_rows()
    assert got["findings"] == {r for r in want["findings"] if r[2] != file_id}
    assert "integrity" in str(first.failed_skips) or "unavailable" in str(first.failed_skips)

    sim.chaos.heal(file_id)
    healed = sim.scan("forward")
    assert healed.status in ("completed", "completed_with_skips") and not healed.retry_later
    got, want = sim.content_rows(), clean.content_rows()
    assert got == want, _diff(got, want)
    assert sim.rows(f"SELECT attempts FROM objects WHERE object_id = '{file_id}'") == [{"attempts": 2}]


def test_retries_stop_at_the_attempt_limit(make_sim, clean):
    file_id, _chat = _planted_file(clean.org)
    sim = make_sim(org=clean.org)
    sim.chaos.fail_object(file_id, "500")
    sim.scan("historical", days=30)
    for attempt in range(2, DEFAULT_MAX_ATTEMPTS + 1):
        before = sim.chaos.object_requests(file_id)
        run = sim.scan("forward")
        assert sim.chaos.object_requests(file_id) > before, f"attempt {attempt} asked for the file"
        assert run.skipped["unavailable"] == 1
    row = sim.rows(f"SELECT attempts, reason FROM objects WHERE object_id = '{file_id}'")[0]
    assert row == {"attempts": DEFAULT_MAX_ATTEMPTS, "reason": "unavailable"}
    before = sim.chaos.object_requests(file_id)
    settled = sim.scan("forward")
    assert sim.chaos.object_requests(file_id) == before  # given up: no more requests
    assert settled.status == "completed" and not settled.skipped


def test_a_chat_whose_transcript_keeps_failing_is_retried_as_a_whole(make_sim, clean):
    chat = next(c for c in clean.org.live_chats() if c.project is None)
    sim = make_sim(org=clean.org)
    sim.chaos.fail_object(chat.id, "500")
    first = sim.scan("historical", days=30)
    assert first.skipped["unavailable"] == 1
    assert sim.rows(f"SELECT status, reason FROM objects WHERE object_kind = 'chat' "
                    f"AND object_id = '{chat.id}'") == [{"status": "skipped", "reason": "unavailable"}]
    sim.chaos.heal()
    healed = sim.scan("forward")
    assert healed.pages["chat_retries"] >= 1 or healed.counts["chats_fetched"] >= 1
    assert sim.content_rows() == clean.content_rows()


def test_a_project_that_keeps_failing_is_retried(make_sim, clean):
    project = next(p for p in clean.org.projects if not p.hard_deleted and not p.deleted)
    sim = make_sim(org=clean.org)
    sim.chaos.fail_object(f"projects/{project.id}", "500")
    first = sim.scan("historical", days=30)
    assert first.skipped["unavailable"] >= 1
    assert sim.rows(f"SELECT reason FROM objects WHERE object_kind = 'project' "
                    f"AND object_id = '{project.id}'") == [{"reason": "unavailable"}]
    sim.chaos.heal()
    sim.scan("forward")
    got, want = sim.content_rows(), clean.content_rows()
    assert got["findings"] == want["findings"] and got["chat_events"] == want["chat_events"]
    project_rows = {r for r in got["objects"] if r[1] == "project"}
    assert project_rows and all(r[4] == "scanned" for r in project_rows)  # it healed
    assert got["objects"] - project_rows == want["objects"]


def _diff(got, want) -> str:
    """What differs between two ``content_rows`` results (for assertion messages)."""
    return "; ".join(f"{t}: +{sorted(got[t] - want[t])[:3]} -{sorted(want[t] - got[t])[:3]}"
                     for t in got if got[t] != want[t])
