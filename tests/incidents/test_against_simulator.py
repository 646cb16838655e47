"""Incidents from a real scan of the simulator (plain Python, no Prefect): the same key pasted
into three chats by three users is one incident, linked to claude.ai, and its alert carries the
masked value only."""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

from vigil.alerts import pipeline
from vigil.alerts.senders import WebhookSender
from vigil.config import parse_config
from vigil.incidents import refresh_incidents
from vigil.synth import values

sys.path.insert(0, str(Path(__file__).parents[1]))
from vigil_test_support import load_conftest  # noqa: E402

_scan = load_conftest("scan")
_fingerprint_key, make_sim = _scan._fingerprint_key, _scan.make_sim  # fixtures


def test_a_key_pasted_in_three_chats_is_one_incident(make_sim, httpserver):
    sim = make_sim(seed=41, users=6, chats=20)
    sim.scan("historical", days=30)
    key = values.generate("GITHUB_TOKEN", random.Random(3))
    users = [u.email for u in sim.org.users[:3]]
    chats = [sim.org.add_chat(user=u, messages=[{"text": f"ci token for the deploy job: {key}",
                                                 "plants": [["GITHUB_TOKEN", key]]}]) for u in users]
    sim.scan("forward")
    rows = sim.rows(f"SELECT fingerprint, chat_url, object_key FROM findings WHERE chat_id IN "
                    f"({', '.join(repr(c) for c in chats)}) AND infotype = 'GITHUB_TOKEN'")
    assert len(rows) == 3 and len({r["fingerprint"] for r in rows}) == 1
    fingerprint = rows[0]["fingerprint"]

    cfg = parse_config({"alerts": {
        "destinations": {"soc": {"type": "webhook", "url": httpserver.url_for("/hook"),
                                 "secret_source": "env:UNUSED"}},
        "policies": [{"name": "tokens", "infotypes": ["GITHUB_TOKEN"], "destinations": ["soc"]}]}})
    lake = sim.lake
    first = refresh_incidents(lake, cfg.alerts.incident_policies())
    assert refresh_incidents(lake, cfg.alerts.incident_policies()).written == 0
    distinct = sim.rows("SELECT count(DISTINCT fingerprint) AS n FROM findings")[0]["n"]
    assert sim.rows("SELECT count(*) AS n FROM incidents WHERE policy = 'all'")[0]["n"] == distinct
    assert first.new >= distinct  # every value under 'all', plus the tokens policy's
    [inc] = sim.rows(f"SELECT * FROM incidents WHERE policy = 'tokens' AND fingerprint = '{fingerprint}'")
    assert (inc["occurrences"], inc["users"], inc["chats"], inc["category"]) == (3, 3, 3, "credential")
    assert inc["chat_url"] in {r["chat_url"] for r in rows} and inc["chat_url"].startswith("https://claude.ai/")
    assert sim.rows(f"SELECT count(*) AS n FROM objects WHERE object_key = '{inc['object_key']}'")[0]["n"] == 1
    assert key not in json.dumps(inc, default=str)

    httpserver.expect_request("/hook", method="POST").respond_with_data("")
    pipeline.update_incidents(lake, cfg.alerts)
    report = pipeline.deliver_alerts(lake, cfg.alerts, {"soc": WebhookSender(httpserver.url_for("/hook"), b"s")})
    assert report.sent >= 1 and report.waiting == 0
    [(request, _)] = httpserver.log
    body = request.get_data().decode()
    assert fingerprint in body and inc["masked"] in body and key not in body
