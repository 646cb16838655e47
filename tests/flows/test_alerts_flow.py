"""Incidents and alerts inside a real Prefect flow: blocks loaded by name from the Prefect
server, the delivery task retried by Prefect after a partial send, and an outage that leaves
alerts waiting for the next run. One test, so Prefect starts once."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from werkzeug import Response

from vigil.alerts import signing
from vigil.config import ConfigError
from vigil.lake import Lake

sys.path.insert(0, str(Path(__file__).parents[1]))
from vigil_test_support import load_conftest  # noqa: E402

HEC_TOKEN, keys = load_conftest("alerts").HEC_TOKEN, load_conftest("alerts").keys

HOOK_SECRET = "whsec-flow-test"


def _config(tmp_path, httpserver, slack_block: str) -> Path:
    path = tmp_path / "vigil.toml"
    path.write_text(f"""
[lake]
root = "{tmp_path / 'lake'}"

[alerts]
max_per_message = 10

[alerts.destinations.slack]
type = "slack"
block = "{slack_block}"

[alerts.destinations.hook]
type = "webhook"
url = "{httpserver.url_for('/hook')}"
secret_source = "prefect-secret:vigil-flow-test-hook-secret"

[alerts.destinations.hec]
type = "splunk_hec"
url = "{httpserver.url_for('/')}"
token_source = "env:VIGIL_FLOW_TEST_HEC"

[[alerts.policies]]
name = "keys"
categories = ["credential"]
destinations = ["slack", "hook", "hec"]
""")
    return path


def test_flow_retries_delivery_without_duplicates_and_queues_through_an_outage(tmp_path, httpserver, monkeypatch):
    from prefect import flow
    from prefect.blocks.notifications import SlackWebhook
    from prefect.blocks.system import Secret

    import tasks.alerts as alert_tasks

    monkeypatch.setenv("VIGIL_FLOW_TEST_HEC", HEC_TOKEN)
    monkeypatch.setattr(alert_tasks, "deliver_alerts", alert_tasks.deliver_alerts.with_options(retry_delay_seconds=0))
    SlackWebhook(url=httpserver.url_for("/slack")).save("vigil-flow-test-slack", overwrite=True)
    Secret(value=HOOK_SECRET).save("vigil-flow-test-hook-secret", overwrite=True)

    hook_calls, hec = {"n": 0}, {"up": False}

    def hook(request):
        hook_calls["n"] += 1
        return Response("", status=500 if hook_calls["n"] == 2 else 200)  # fails after one message

    def collector(request):
        return Response(json.dumps({"text": "Success", "code": 0}) if hec["up"] else "down",
                        status=200 if hec["up"] else 503)

    httpserver.expect_request("/slack", method="POST").respond_with_data("ok")
    httpserver.expect_request("/hook", method="POST").respond_with_handler(hook)
    httpserver.expect_request("/services/collector/event", method="POST").respond_with_handler(collector)
    config = _config(tmp_path, httpserver, "vigil-flow-test-slack")
    lake = Lake(str(tmp_path / "lake"))

    @flow(name="scan-then-alert")
    def scan_then_alert(config_path: str, findings: list[dict]) -> dict:
        if findings:
            lake.land({"findings": findings})  # what a scan does before calling the step
        return alert_tasks.update_incidents_and_alert(config_path, run_id="test-run")

    summary = scan_then_alert(str(config), keys(25))
    assert summary["incidents_new"] == 50 and summary["alerts_queued"] == 75
    # Prefect retried the delivery twice (the hook's 2nd message failed, then HEC stayed down):
    # Slack and the hook each got every alert exactly once; HEC's 25 alerts wait in the outbox.
    assert summary["alerts_waiting"] == 25 and summary["destinations"]["hec"]["error"] == "HTTP 503"
    slack = [json.loads(r.get_data())["text"] for r, _ in httpserver.log if r.path == "/slack"]
    assert slack == ["vigil: 10 new incidents (10 critical)"] * 2 + ["vigil: 5 new incidents (5 critical)"]
    hooks = [(r, resp) for r, resp in httpserver.log if r.path == "/hook"]
    ok = [r for r, resp in hooks if resp.status_code == 200]
    ids = [i["alert_id"] for r in ok for i in json.loads(r.get_data())["incidents"]]
    assert len(hooks) == 4 and len(ok) == 3 and len(ids) == len(set(ids)) == 25
    assert all(signing.verify(HOOK_SECRET.encode(), r.get_data(), r.headers[signing.TIMESTAMP_HEADER],
                              r.headers[signing.SIGNATURE_HEADER]) for r in ok)
    hec_tries = [r for r, _ in httpserver.log if r.path == "/services/collector/event"]
    assert len(hec_tries) == 3  # first attempt and two Prefect retries: the oldest message each time
    assert len({json.loads(r.get_data().splitlines()[0])["event"]["idempotency_key"] for r in hec_tries}) == 1

    # next run: HEC is back; the waiting alerts go out oldest first, nothing else is resent
    hec["up"] = True
    summary = scan_then_alert(str(config), [])
    assert summary["alerts_queued"] == 0 and summary["alerts_sent"] == 25 and summary["alerts_waiting"] == 0
    delivered = [r for r, resp in httpserver.log if r.path == "/services/collector/event" and resp.status_code == 200]
    events = [json.loads(line) for r in delivered for line in r.get_data().splitlines()]
    assert [e["event"]["fingerprint"] for e in events] == [f"fp-{i:03d}" for i in range(25)]
    assert len([r for r, _ in httpserver.log if r.path == "/slack"]) == 3

    # a destination naming a block that Prefect does not have is refused with the key
    bad = _config(tmp_path, httpserver, "no-such-slack-block")
    with pytest.raises(ConfigError) as err:
        alert_tasks.check_alert_destinations(str(bad))
    assert err.value.key == "alerts.destinations.slack.block"
