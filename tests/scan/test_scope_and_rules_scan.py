"""Scope by directory group over chats, sessions and sites, and the organization's own rules in
every scan (plain Python, against the simulator)."""

from __future__ import annotations

import pytest

from vigil.scan.directory import ScopeGroupError
from vigil.scan.report import summary_markdown, summary_text
from vigil.scan.rules import load_rule_set


def _owned(org, member_ids):
    """Chats, local and remote sessions and sites owned by the given user ids."""
    users = org.users
    chats = {c.id for c in org.live_chats() if users[c.user].id in member_ids}
    local = {s.id for s in org.local_sessions if s.user is not None and users[s.user].id in member_ids
             and org.retained_calls(s)}
    remote = {s.id for s in org.remote_sessions
              if users[s.user if s.user is not None else s.started_by].id in member_ids}
    sites = {a.id for a in org.code_artifacts if a.owner is not None and users[a.owner].id in member_ids}
    return chats, local, remote, sites


@pytest.mark.parametrize("mode", ["include", "exclude"])
def test_scope_by_group_applies_to_chats_sessions_and_sites(make_sim, mode):
    sim = make_sim(seed=61, users=16, chats=30, local_sessions=10, remote_sessions=6, code_artifacts=5)
    org = sim.org
    group = next(g for g in org.groups if g.name == "Engineering")
    members = {org.users[i].id for i, _ in group.members}
    everyone = {u.id for u in org.users}
    scoped = members if mode == "include" else everyone - members
    summary = sim.scan("historical", days=30, scope={"chats": {"mode": mode, "groups": ["engineering"]}})
    assert summary.status in ("completed", "completed_with_skips")

    chats, local, remote, sites = _owned(org, scoped)
    assert chats and local and remote
    assert {r["chat_id"] for r in sim.rows("SELECT DISTINCT chat_id FROM chat_events")} == chats
    sessions = {r["session_id"] for r in sim.rows("SELECT DISTINCT session_id FROM session_events "
                                                  "WHERE session_id IS NOT NULL")}
    assert sessions <= local | remote and sessions >= {s for s in local | remote
                                                       if s not in _pending(org)}
    assert {r["object_id"] for r in sim.rows(
        "SELECT DISTINCT object_id FROM session_events WHERE event_kind = 'code_artifact_version'")} == sites
    owners = {r["user_id"] for r in sim.rows("SELECT DISTINCT user_id FROM findings WHERE chat_id IS NOT NULL "
                                             "OR session_id IS NOT NULL OR object_kind = 'code_artifact_version'")}
    assert owners and owners <= scoped


def _pending(org):
    return {s.id for s in org.remote_sessions if s.status == "pending"}


def test_an_unknown_group_stops_the_scan_with_its_name(make_sim):
    sim = make_sim(seed=62, users=8, chats=6, local_sessions=2, remote_sessions=1, code_artifacts=1)
    with pytest.raises(ScopeGroupError, match="'Marketing'"):
        sim.scan("historical", days=30, scope={"chats": {"mode": "exclude", "groups": ["Marketing"]}})
    assert sim.rows("SELECT status FROM scan_runs") == [{"status": "failed"}]
    assert not sim.rows("SELECT 1 FROM chat_events")  # nothing was inspected without its scope


def test_a_custom_rule_from_the_config_finds_values_in_every_scan(make_sim, tmp_path):
    sim = make_sim(seed=63, users=8, chats=10, local_sessions=3, remote_sessions=2, code_artifacts=2)
    org = sim.org
    chat = org.add_chat(messages=[{"text": "new badge for EMP-482913 please, and EMP-000417 too"}])
    session = org.add_local_session(messages=[{"role": "user", "text": "look up employee EMP-771204"}])
    rules = tmp_path / "acme-rules.yaml"
    rules.write_text("detectors:\n  - id: acme-employee-id\n    infotype: ACME_EMPLOYEE_ID\n"
                     "    pattern: '\\bEMP-\\d{6}\\b'\n    severity: high\n")
    config = sim.config_file(tmp_path / "vigil.toml", '[detection]\nrules = ["acme-rules.yaml"]\n')

    first = sim.scan("historical", days=30, config_path=config)
    found = sim.rows("SELECT chat_id, session_id, masked, category, severity FROM findings "
                     "WHERE infotype = 'ACME_EMPLOYEE_ID' ORDER BY masked")
    assert {r["chat_id"] for r in found if r["chat_id"]} == {chat}
    assert {r["session_id"] for r in found if r["session_id"]} == {session}
    assert len(found) == 3 and all(r["category"] == "custom" and r["severity"] == "high" for r in found)
    assert all("482913" not in r["masked"] for r in found)
    version = load_rule_set([str(rules)]).version
    assert sim.rows(f"SELECT rules_version FROM scan_runs WHERE scan_run_id = '{first.run_id}'") == \
        [{"rules_version": version}]
    assert not first.rules_changed

    same = sim.scan("forward", config_path=config)
    assert same.rules_version == version and not same.rules_changed
    rules.write_text(rules.read_text().replace("severity: high", "severity: critical"))
    changed = sim.scan("forward", config_path=config)
    assert changed.rules_changed and changed.previous_rules_version == version != changed.rules_version
    assert f"was {version}" in summary_text(changed) and f"was `{version}`" in summary_markdown(changed)
