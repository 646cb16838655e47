"""Issue 10: the simulator never serves a timestamp later than its clock's now (137 findings had
``event_time > now()``). A whole walk of a generated org over real HTTP, after live changes,
checks every timestamp in every JSON body against the clock read after the response."""

from __future__ import annotations

import re
import time
from datetime import datetime, timezone

import httpx
import pytest

from vigil.simulator import SimulatorServer, SyntheticOrg, build_app, make_key

KEY = "sk-ant-api01-" + "t" * 40
SCOPES = ("read:compliance_activities", "read:compliance_user_data", "read:compliance_org_data")
_TS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?$")


def parse(text: str) -> float:
    dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.timestamp()


def timestamps(body, path="$"):
    """(json path, epoch) of every RFC 3339 / ISO 8601 string in a JSON body."""
    if isinstance(body, dict):
        for k, v in body.items():
            yield from timestamps(v, f"{path}.{k}")
    elif isinstance(body, list):
        for i, v in enumerate(body):
            yield from timestamps(v, f"{path}[{i}]")
    elif isinstance(body, str) and _TS.match(body):
        yield path, parse(body)


class Walker:
    """GETs JSON over real HTTP; records every timestamp later than the clock after the response."""

    def __init__(self, base_url: str, clock=time.time):
        self.http = httpx.Client(base_url=base_url, headers={"x-api-key": KEY}, timeout=60)
        self.clock = clock
        self.future: list[tuple[str, str, float]] = []
        self.checked = 0
        self.requests = 0

    def get(self, path: str, **params):
        r = self.http.get(path, params=params or None)
        now = self.clock()
        self.requests += 1
        assert r.status_code == 200, (path, r.status_code, r.text[:300])
        body = r.json()
        for where, t in timestamps(body):
            self.checked += 1
            if t > now:
                self.future.append((path, where, t - now))
        return body

    def pages_b(self, path: str, limit: int, **params):
        """Page tokens (models B and C): until next_page is null."""
        page = None
        while True:
            body = self.get(path, limit=limit, **params, **({"page": page} if page else {}))
            yield from body["data"]
            page = body.get("next_page")
            if not page:
                return

    def pages_a(self, path: str, limit: int, **params):
        cursor = None
        while True:
            body = self.get(path, limit=limit, **params, **({"after_id": cursor} if cursor else {}))
            yield from body["data"]
            cursor = body["last_id"] or cursor
            if not body["has_more"]:
                return

    def close(self):
        self.http.close()


def walk_everything(w: Walker, org: SyntheticOrg) -> None:
    """Every read endpoint of the API, every object, at maximum page sizes."""
    for o in w.pages_b("/v1/compliance/organizations", 1000):
        w.get(f"/v1/compliance/organizations/{o['uuid']}/settings")
        list(w.pages_b(f"/v1/compliance/organizations/{o['uuid']}/users", 1000))
        for role in w.pages_b(f"/v1/compliance/organizations/{o['uuid']}/roles", 1000):
            w.get(f"/v1/compliance/organizations/{o['uuid']}/roles/{role['id']}")
            list(w.pages_b(f"/v1/compliance/organizations/{o['uuid']}/roles/{role['id']}/permissions", 1000))
    for g in w.pages_b("/v1/compliance/groups", 1000):
        w.get(f"/v1/compliance/groups/{g['id']}")
        list(w.pages_b(f"/v1/compliance/groups/{g['id']}/members", 1000))
    list(w.pages_a("/v1/compliance/activities", 5000))
    for chat in w.pages_a("/v1/compliance/apps/chats", 1000, order_by="updated_at"):
        body = w.get(f"/v1/compliance/apps/chats/{chat['id']}/messages", tool_result_max_chars=-1,
                     tool_use_input_max_chars=-1)
        for m in body["chat_messages"]:
            for f in m.get("files") or []:
                w.get(f"/v1/compliance/apps/chats/files/{f['id']}")
            for g in m.get("generated_files") or []:
                w.get(f"/v1/compliance/apps/chats/generated-files/{g['id']}")
            for a in m.get("artifacts") or []:
                w.get(f"/v1/compliance/apps/artifacts/{a['version_id']}")
    for p in w.pages_b("/v1/compliance/apps/projects", 100):
        w.get(f"/v1/compliance/apps/projects/{p['id']}")
        for att in w.pages_b(f"/v1/compliance/apps/projects/{p['id']}/attachments", 100):
            if att["type"] == "project_doc":
                w.get(f"/v1/compliance/apps/projects/documents/{att['id']}")
                w.get(f"/v1/compliance/apps/projects/documents/{att['id']}/metadata")
            else:
                w.get(f"/v1/compliance/apps/chats/files/{att['id']}")
        list(w.pages_b(f"/v1/compliance/apps/projects/{p['id']}/collaborators", 100))
    for s in w.pages_b("/v1/compliance/apps/sessions/local", 500):
        w.get(f"/v1/compliance/apps/sessions/local/{s['id']}")
        list(w.pages_b(f"/v1/compliance/apps/sessions/local/{s['id']}/messages", 1000, tool_result_max_bytes=-1))
    for s in w.pages_b("/v1/compliance/apps/sessions/remote", 500):
        if s["status"] != "pending":
            list(w.pages_b(f"/v1/compliance/apps/sessions/remote/{s['id']}/messages", 1000))
    list(w.pages_b("/v1/compliance/apps/code/artifacts", 100))


@pytest.mark.parametrize("days", [30, 3])
def test_a_whole_walk_after_live_changes_serves_nothing_from_the_future(days):
    # days=3: project documents used to be spread over up to 8 days after the history's start
    org = SyntheticOrg.generate(seed=31, users=9, chats=45, days=days, huge_file_bytes=1 << 20)
    app = build_app(org, keys=[make_key(KEY, SCOPES)], rpm=1_000_000)
    with SimulatorServer(app) as url:
        admin = httpx.Client(base_url=url, timeout=60)
        # live changes: generated chats (up to 30 turns each), turns on an old chat, a message, a file
        new = admin.post("/_admin/chats", json={"count": 6}).json()["chat_ids"]
        admin.post(f"/_admin/chats/{org.chats[0].id}/messages", json={"turns": 3})
        admin.post(f"/_admin/chats/{new[0]}/messages", json={"text": "one more thing"})
        admin.post(f"/_admin/chats/{org.chats[1].id}/files", json={"format": "csv"})
        # sessions, sites and posture
        admin.post("/_admin/local_sessions", json={"count": 3})
        admin.post(f"/_admin/local_sessions/{org.local_sessions[0].id}/messages",
                   json={"messages": [{"role": "user", "text": "and now?"}]})
        admin.post("/_admin/remote_sessions", json={"count": 2, "agent": True})
        pending = next(s for s in org.remote_sessions if s.status == "pending")
        admin.post(f"/_admin/remote_sessions/{pending.id}/status", json={"status": "active"})
        art = admin.post("/_admin/code_artifacts", json={"read_mode": "org"}).json()["artifact_id"]
        admin.post(f"/_admin/code_artifacts/{art}/versions", json={"read_mode": "public", "upload_seconds": 5})
        admin.post("/_admin/settings", json={"settings": {"public_projects_enabled": True}})
        admin.post("/_admin/api_keys", json={"name": "late key"})
        admin.close()
        w = Walker(url)
        try:
            walk_everything(w, org)
        finally:
            w.close()
    assert w.checked > 500
    assert not w.future, f"{len(w.future)} timestamps after now, e.g. {w.future[:5]}"
