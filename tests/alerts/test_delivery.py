"""Alerts to every destination kind, against real loopback servers (HTTP and SMTP)."""

from __future__ import annotations

import json
import random

import pytest
from prefect.blocks.notifications import CustomWebhookNotificationBlock, MicrosoftTeamsWebhook, SlackWebhook
from prefect_email import EmailServerCredentials
from werkzeug import Response

from tasks.alert_blocks import resolve_senders
from vigil.alerts import pipeline, signing
from vigil.alerts.messages import LISTED
from vigil.config import ConfigError
from vigil.incidents import set_status
from vigil.lake import Lake, finding_id, object_key

from .conftest import HEC_TOKEN, WEBHOOK_SECRET, alert_config, finding, keys

TEAMS_PATH = "/workflows/abc/triggers/manual/paths/invoke"


@pytest.fixture
def blocks(httpserver, smtp, monkeypatch):
    """Prefect blocks (built in memory, pointing at the loopback servers) by (type, name)."""
    monkeypatch.setenv("VIGIL_TEST_WEBHOOK", WEBHOOK_SECRET)
    monkeypatch.setenv("VIGIL_TEST_HEC", HEC_TOKEN)
    host, port, _ = smtp
    made = {
        ("slack", "sec-slack"): SlackWebhook(url=httpserver.url_for("/slack")),
        ("teams", "sec-teams"): MicrosoftTeamsWebhook(
            url=httpserver.url_for(TEAMS_PATH) + "?api-version=2016-06-01&sp=%2Ftriggers&sv=1.0&sig=abc"),
        ("email", "smtp"): EmailServerCredentials(smtp_server=host, smtp_port=port, smtp_type="INSECURE"),
        ("custom_webhook", "ops-hook"): CustomWebhookNotificationBlock(
            name="ops", url=httpserver.url_for("/custom"),
            json_data={"title": "{{subject}}", "text": "{{body}}", "token": "{{token}}"},
            secrets={"token": "custom-secret"}),
    }

    def load(kind, name):
        if (kind, name) not in made:
            raise LookupError(name)
        return made[(kind, name)]
    return load


def _serve(httpserver, *, hook_status=lambda n: 200):
    """Stand-ins for Slack, Teams, the webhook, HEC and a custom webhook; record every request."""
    hits = {"hook": 0}

    def hook(request):
        hits["hook"] += 1
        return Response("", status=hook_status(hits["hook"]))
    httpserver.expect_request("/slack", method="POST").respond_with_data("ok")
    httpserver.expect_request(TEAMS_PATH, method="POST").respond_with_data("", status=202)
    httpserver.expect_request("/hook", method="POST").respond_with_handler(hook)
    httpserver.expect_request("/services/collector/event", method="POST").respond_with_json(
        {"text": "Success", "code": 0})
    httpserver.expect_request("/custom", method="POST").respond_with_data("")


def _bodies(httpserver, path):
    return [(req, resp) for req, resp in httpserver.log if req.path == path]


def _with_urls(cfg, httpserver):
    """Point the webhook and HEC destinations of ``cfg`` at the loopback server."""
    dests = dict(cfg.alerts.destinations)
    from dataclasses import replace
    if "hook" in dests:
        dests["hook"] = replace(dests["hook"], url=httpserver.url_for("/hook"))
    if "hec" in dests:
        dests["hec"] = replace(dests["hec"], url=httpserver.url_for("/"))
    return replace(cfg.alerts, destinations=dests)


def test_a_burst_is_one_message_per_destination(lake, httpserver, smtp, blocks):
    _serve(httpserver)
    lake.land({"findings": keys(30)})
    alerts = _with_urls(alert_config(lake), httpserver)
    counts = pipeline.update_incidents(lake, alerts)
    assert (counts["incidents_new"], counts["alerts_queued"]) == (60, 150)  # all + keys; 30 x 5
    report = pipeline.deliver_alerts(lake, alerts, resolve_senders(alerts, load=blocks))
    assert report.sent == 150 and report.waiting == 0 and not report.failed

    [(slack, _)] = _bodies(httpserver, "/slack")
    payload = slack.get_json()
    assert payload["text"] == "vigil: 30 new incidents (30 critical)"
    sections = [b for b in payload["blocks"] if b["type"] == "section"]
    assert len(sections) == LISTED + 1 and "… and 10 more: 10 AWS_CREDENTIALS" in sections[-1]["text"]["text"]
    assert "<https://claude.ai/chat/fp-chat-0|open chat>" in json.dumps(payload)

    [(teams, _)] = _bodies(httpserver, TEAMS_PATH)
    card = teams.get_json()["attachments"][0]["content"]
    assert card["type"] == "AdaptiveCard" and card["body"][0]["text"].startswith("vigil: 30 new incidents")

    [(hook, _)] = _bodies(httpserver, "/hook")
    body = hook.get_data()
    doc = json.loads(body)
    assert doc["count"] == 30 and len({i["incident_id"] for i in doc["incidents"]}) == 30
    assert hook.headers[signing.IDEMPOTENCY_HEADER] == doc["idempotency_key"]
    assert signing.verify(WEBHOOK_SECRET.encode(), body, hook.headers[signing.TIMESTAMP_HEADER],
                          hook.headers[signing.SIGNATURE_HEADER])
    assert not signing.verify(b"wrong", body, hook.headers[signing.TIMESTAMP_HEADER],
                              hook.headers[signing.SIGNATURE_HEADER])
    assert not signing.verify(WEBHOOK_SECRET.encode(), body.replace(b"AKIA", b"AKIB"),
                              hook.headers[signing.TIMESTAMP_HEADER], hook.headers[signing.SIGNATURE_HEADER])

    [(hec, _)] = _bodies(httpserver, "/services/collector/event")
    assert hec.headers["Authorization"] == f"Splunk {HEC_TOKEN}" and hec.headers["X-Splunk-Request-Channel"]
    events = [json.loads(line) for line in hec.get_data().decode().splitlines()]
    assert len(events) == 30
    assert {(e["sourcetype"], e["index"], e["source"]) for e in events} == {("vigil:incident", "dlp", "vigil")}
    assert all(isinstance(e["time"], float) and e["event"]["masked"].startswith("AKIA") and
               e["event"]["fingerprint"].startswith("fp-") and e["event"]["idempotency_key"] for e in events)

    [mail] = smtp[2].messages
    text = mail.content.decode()
    assert mail.rcpt_tos == ["soc@example.com"] and "Subject: vigil: 30 new incidents" in text
    assert f"Message-ID: <{doc['idempotency_key']}" not in text  # each destination has its own key
    assert "@vigil.alerts>" in text

    # nothing new: no alert queued, no request sent
    before = len(httpserver.log)
    assert pipeline.update_incidents(lake, alerts)["alerts_queued"] == 0
    again = pipeline.deliver_alerts(lake, alerts, resolve_senders(alerts, load=blocks))
    assert again.sent == 0 and len(httpserver.log) == before and len(smtp[2].messages) == 1


def test_custom_webhook_block_renders_its_template(lake, httpserver, blocks):
    _serve(httpserver)
    lake.land({"findings": keys(3)})
    cfg = alert_config(lake, destinations={"ops": {"type": "custom_webhook", "block": "ops-hook"}})
    pipeline.update_incidents(lake, cfg.alerts)
    report = pipeline.deliver_alerts(lake, cfg.alerts, resolve_senders(cfg.alerts, load=blocks))
    assert report.sent == 3
    [(req, _)] = _bodies(httpserver, "/custom")
    doc = req.get_json()
    assert doc["title"] == "vigil: 3 new incidents (3 critical)" and doc["token"] == "custom-secret"
    assert doc["text"].count("AWS_CREDENTIALS AKIA") == 3


def test_no_raw_value_reaches_any_destination(lake, httpserver, smtp, blocks):
    """Findings from the real detection engine; the planted values must appear in no payload."""
    from vigil.detect import Engine
    from vigil.synth import values

    engine = Engine.load(fingerprint_key=b"\x07" * 32)
    rng = random.Random(11)
    raw, rows = [], []
    for n, infotype in enumerate(["AWS_CREDENTIALS", "GITHUB_TOKEN", "US_SOCIAL_SECURITY_NUMBER",
                                  "CREDIT_CARD_NUMBER", "STRIPE_API_KEY", "OPENAI_API_KEY"]):
        value = values.generate(infotype, rng)
        text = f"please keep this safe: {value} thanks"
        for f in engine.scan(text):
            raw.append(f.raw(text))
            row = finding(f.fingerprint, chat=f"raw-{n}", title=f"about {f.raw(text)}", obj=f"m-{n}",
                          start=f.start, infotype=f.infotype, severity=f.severity,
                          likelihood=f.likelihood, masked=f.masked)
            row.update(context=f.context, detector=f.detector,
                       finding_id=finding_id("message", f"m-{n}", None, "text", f.detector, f.start, f.end),
                       object_key=object_key("message", f"m-{n}", None),
                       category="credential" if f.severity == "critical" else "financial")
            rows.append(row)
    assert len(raw) >= 6
    lake.land({"findings": rows})
    _serve(httpserver)
    cfg = alert_config(lake, policies=[{"name": "everything", "destinations": ["slack", "teams", "hook", "hec", "mail"]}])
    alerts = _with_urls(cfg, httpserver)
    pipeline.update_incidents(lake, alerts)
    report = pipeline.deliver_alerts(lake, alerts, resolve_senders(alerts, load=blocks))
    assert report.sent == 5 * len({r["fingerprint"] for r in rows})
    payloads = [req.get_data().decode() for req, _ in httpserver.log]
    payloads += [m.content.decode() for m in smtp[2].messages]
    payloads += [r["payload_json"] for r in lake.query("SELECT payload_json FROM alert_outbox").to_pylist()]
    assert len(payloads) > 5
    titles = " ".join(lake.query("SELECT chat_title FROM findings").column("chat_title").to_pylist())
    assert all(value in titles for value in raw)  # the values are in the lake's chat titles
    for value in raw:
        for piece in {value, value.replace("-", ""), value.splitlines()[0]}:
            assert all(piece not in p for p in payloads), "a raw value reached a destination"


def test_outage_keeps_alerts_queued_then_delivers_oldest_first(lake, httpserver, blocks):
    down = {"on": True}
    _serve(httpserver, hook_status=lambda n: 503 if down["on"] else 200)
    cfg = alert_config(lake, batch=5, destinations={"hook": {"type": "webhook", "url": "https://x.example.com",
                                                             "secret_source": "env:VIGIL_TEST_WEBHOOK"}})
    alerts = _with_urls(cfg, httpserver)
    senders = resolve_senders(alerts, load=blocks)

    lake.land({"findings": keys(5, prefix="early")})
    pipeline.update_incidents(lake, alerts)
    first = pipeline.deliver_alerts(lake, alerts, senders)
    assert first.sent == 0 and first.waiting == 5 and first.destinations["hook"].error == "HTTP 503"
    failed_key = json.loads(_bodies(httpserver, "/hook")[0][0].get_data())["idempotency_key"]

    lake.land({"findings": keys(3, prefix="late", minutes=60)})
    pipeline.update_incidents(lake, alerts)
    second = pipeline.deliver_alerts(lake, alerts, senders)
    assert second.waiting == 8 and second.destinations["hook"].oldest_waiting is not None
    pending = lake.query("SELECT fingerprint, status, failures, last_error FROM alerts").to_pylist()
    # the older message failed twice; the newer one was never tried (it must not overtake it)
    assert {(p["fingerprint"].split("-")[0], p["status"], p["failures"], p["last_error"]) for p in pending} == {
        ("early", "pending", 2, "HTTP 503"), ("late", "pending", 0, None)}
    assert "x.example.com" not in json.dumps(pending) and WEBHOOK_SECRET not in json.dumps(pending)

    down["on"] = False
    third = pipeline.deliver_alerts(lake, alerts, senders)
    assert third.sent == 8 and third.waiting == 0
    delivered = [json.loads(req.get_data()) for req, resp in _bodies(httpserver, "/hook") if resp.status_code == 200]
    assert [d["count"] for d in delivered] == [5, 3]
    assert delivered[0]["idempotency_key"] == failed_key  # the same message, retried
    assert {i["fingerprint"].split("-")[0] for i in delivered[0]["incidents"]} == {"early"}
    assert {i["fingerprint"].split("-")[0] for i in delivered[1]["incidents"]} == {"late"}


def _run_with_failure(tmp_path, httpserver, blocks, fail_request: int | None):
    """25 alerts in messages of 10; the ``fail_request``-th request answers 500 once."""
    httpserver.clear()
    _serve(httpserver, hook_status=lambda n: 500 if n == fail_request else 200)
    lake = Lake(str(tmp_path / f"lake-{fail_request}"))
    lake.land({"findings": keys(25)})
    cfg = alert_config(lake, batch=10, destinations={"hook": {"type": "webhook", "url": "https://x.example.com",
                                                              "secret_source": "env:VIGIL_TEST_WEBHOOK"}})
    alerts = _with_urls(cfg, httpserver)
    pipeline.update_incidents(lake, alerts)
    senders = resolve_senders(alerts, load=blocks)
    attempts = [pipeline.deliver_alerts(lake, alerts, senders)]
    if attempts[0].failed:  # what a task retry does: run delivery again
        attempts.append(pipeline.deliver_alerts(lake, alerts, senders))
    received = [json.loads(req.get_data()) for req, resp in _bodies(httpserver, "/hook") if resp.status_code == 200]
    return attempts, received


def test_a_retry_after_a_partial_send_sends_nothing_twice(tmp_path, httpserver, blocks):
    attempts, received = _run_with_failure(tmp_path, httpserver, blocks, fail_request=2)
    assert [a.sent for a in attempts] == [10, 15] and attempts[0].waiting == 15
    _, clean = _run_with_failure(tmp_path, httpserver, blocks, fail_request=None)
    ids = [i["alert_id"] for doc in received for i in doc["incidents"]]
    assert len(ids) == len(set(ids)) == 25
    assert [(d["idempotency_key"], [i["alert_id"] for i in d["incidents"]]) for d in received] == \
           [(d["idempotency_key"], [i["alert_id"] for i in d["incidents"]]) for d in clean]


def test_false_positives_do_not_alert(lake, httpserver, blocks):
    _serve(httpserver)
    lake.land({"findings": keys(3)})
    cfg = alert_config(lake, destinations={"hook": {"type": "webhook", "url": "https://x.example.com",
                                                    "secret_source": "env:VIGIL_TEST_WEBHOOK"}})
    alerts = _with_urls(cfg, httpserver)
    pipeline.update_incidents(lake, alerts)
    inc = lake.query("SELECT incident_id FROM incidents WHERE policy = 'all' AND fingerprint = 'fp-000'").to_pylist()[0]
    set_status(lake, inc["incident_id"], status="false_positive", note="test key", who="alice")
    report = pipeline.deliver_alerts(lake, alerts, resolve_senders(alerts, load=blocks))
    assert (report.sent, report.suppressed) == (2, 1)
    [(req, _)] = _bodies(httpserver, "/hook")
    assert {i["fingerprint"] for i in json.loads(req.get_data())["incidents"]} == {"fp-001", "fp-002"}

    # the suppressed value shows up again, under a new policy: nothing is queued for it
    lake.land({"findings": [finding("fp-000", chat="elsewhere", minutes=90)]})
    cfg2 = alert_config(lake, policies=[{"name": "keys2", "categories": ["credential"], "destinations": ["hook"]}],
                        destinations={"hook": {"type": "webhook", "url": "https://x.example.com",
                                               "secret_source": "env:VIGIL_TEST_WEBHOOK"}})
    counts = pipeline.update_incidents(lake, _with_urls(cfg2, httpserver))
    assert counts["alerts_skipped_suppressed"] == 1 and counts["alerts_queued"] == 3 - 1


def test_missing_blocks_and_secrets_name_the_key(lake, blocks, monkeypatch):
    cfg = alert_config(lake, destinations={"slack": {"type": "slack", "block": "no-such-block"}})
    with pytest.raises(ConfigError) as err:
        resolve_senders(cfg.alerts, load=blocks)
    assert err.value.key == "alerts.destinations.slack.block" and "SlackWebhook" in err.value.problem
    monkeypatch.delenv("VIGIL_TEST_HEC")
    cfg = alert_config(lake, destinations={"hec": {"type": "splunk_hec", "url": "https://s.example.com",
                                                   "token_source": "env:VIGIL_TEST_HEC"}})
    with pytest.raises(ConfigError) as err:
        resolve_senders(cfg.alerts, load=blocks)
    assert err.value.key == "alerts.destinations.hec.token_source"
