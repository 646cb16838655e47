"""The watch deployment alerts on chats added while it runs: a real Prefect server and worker,
the ``watch`` deployment of the repository's prefect.yaml switched on, a simulated org served
over HTTP and a webhook receiver on loopback.

Only the interval is shortened (10 s instead of 60); the deployment arrives switched off, as
prefect.yaml has it, and is switched on the way docs/scans.md tells an operator to
(``prefect deployment schedule resume``). The latency at the real interval is measured by
``bench/latency.py``. After the first scheduled run has caught up, three chats with a
planted credential are added; the test waits until the signed webhook has received an alert
for each, then for one more completed run, and checks that:

- each chat was alerted exactly once (one item naming its link, across every webhook call);
- each chat's finding was landed by a scan that started after the chat was created, and every
  flow run of the deployment was created by the scheduler;
- every webhook call carried a valid signature; no scheduled run failed (a run cancelled before it
  started because the previous one was still going is the deployment's ``CANCEL_NEW`` at work).
"""

from __future__ import annotations

import json
import random
import time
from pathlib import Path

import pytest
from werkzeug import Response

from vigil.alerts import signing
from vigil.lake import Lake
from vigil.local_prefect import parse_time, skipped_by_limit, wait_for
from vigil.simulator import SimulatorServer, SyntheticOrg, build_app, default_key
from vigil.synth import values

pytestmark = [pytest.mark.slow, pytest.mark.waits]  # paced by the watch interval

SEED = 47
WATCH = "forward-scan/watch"  # flow name / deployment name
INTERVAL_S = 10           # the watch interval in the deployed copy (prefect.yaml says 60)
HOOK_SECRET = "whsec-watch-test"
INFOTYPES = ("GITHUB_TOKEN", "SLACK_TOKEN", "NPM_TOKEN")
DEADLINE_S = 420          # deploy to the last check; about 100 s on a quiet machine, over 240 s on 2026-12-04


@pytest.fixture
def watched_org(tmp_path, httpserver):
    """A small org served over HTTP, a webhook receiver, and a config with a credential policy."""
    org = SyntheticOrg.generate(seed=SEED, users=4, chats=6, days=2, now=time.time() - 120)
    httpserver.expect_request("/hook", method="POST").respond_with_handler(lambda request: Response("ok"))
    with SimulatorServer(build_app(org, rpm=100_000)) as base_url:
        config = tmp_path / "vigil.toml"
        config.write_text(
            "[connector]\n"
            f'org_id = "{org.parent.uuid}"\nbase_url = "{base_url}"\n'
            'key_source = "env:VIGIL_WATCH_TEST_KEY"\n'
            f'[lake]\nroot = "{tmp_path / "lake"}"\n'
            "[historical]\ndays = 1\n"
            "[rate]\nrpm = 100000\n"
            "[alerts.destinations.hook]\n"
            f'type = "webhook"\nurl = "{httpserver.url_for("/hook")}"\n'
            'secret_source = "env:VIGIL_WATCH_TEST_HOOK_SECRET"\n'
            '[[alerts.policies]]\nname = "keys"\ncategories = ["credential"]\ndestinations = ["hook"]\n')
        yield org, config, Lake(str(tmp_path / "lake"))


def hook_items(httpserver) -> list[dict]:
    """Every alert item the webhook received, in arrival order."""
    return [item for request, _ in httpserver.log if request.path == "/hook"
            for item in json.loads(request.get_data())["incidents"]]


@pytest.mark.timeout(DEADLINE_S + 120)
def test_watch_alerts_each_new_chat_exactly_once(tmp_path, prefect_stack, watched_org, httpserver):
    org, config, lake = watched_org
    stack = prefect_stack
    t_start = time.monotonic()
    deployment = worker = None
    skipped = None
    try:
        deployment = stack.deploy("watch", interval=INTERVAL_S, parameters={"config_path": str(config)})
        assert deployment.api["entrypoint"] == "flows/forward_scan.py:forward_scan"
        assert (deployment.api.get("global_concurrency_limit") or {}).get("limit") == 1, deployment.api
        # a tick while a run is going is cancelled, not queued: queued runs piled up and their
        # retries every 2 s locked the server's SQLite database (docs/testing.md)
        assert (deployment.api.get("concurrency_options") or {}).get("collision_strategy") == "CANCEL_NEW"
        # prefect.yaml deploys the watch switched off; it is switched on as docs/scans.md says
        assert stack.full_name(deployment) == WATCH
        assert [s["active"] for s in stack.schedules(deployment)] == [False]
        stack.resume_schedules(deployment)
        assert [(s["active"], s["schedule"]["interval"]) for s in stack.schedules(deployment)] == [(True, INTERVAL_S)]
        runs = stack.runs(deployment)
        worker = stack.start_worker(deployment.pool, env={
            "VIGIL_WATCH_TEST_KEY": default_key(SEED).secret, "VIGIL_FINGERPRINT_KEY": "6e" * 32,
            "VIGIL_WATCH_TEST_HOOK_SECRET": HOOK_SECRET,
            "VIGIL_HOME": str(tmp_path / "vigil-home")})
        wait_for(runs.completed, 120, "the first watch run to complete", runs.diagnostics)

        rng = random.Random(SEED)
        planted: dict[str, str] = {}  # chat link -> chat id
        for infotype in INFOTYPES:
            secret = values.generate(infotype, rng)
            chat_id = org.add_chat(messages=[{"text": f"the deploy fails with this token: {secret} - why?",
                                              "plants": [[infotype, secret]]}])
            planted[f"https://claude.ai/chat/{org.chat(chat_id).uuid}"] = chat_id

        def all_alerted() -> bool:
            return set(planted) <= {i["chat_url"] for i in hook_items(httpserver)}

        wait_for(all_alerted, DEADLINE_S - (time.monotonic() - t_start), "an alert for each new chat",
                 runs.diagnostics, 2)
        alerted_at = time.time()
        wait_for(lambda: any(parse_time(r["start_time"]).timestamp() > alerted_at for r in runs.completed()),
                 DEADLINE_S - (time.monotonic() - t_start), "one more watch run after the alerts",
                 runs.diagnostics, 2)

        items = hook_items(httpserver)
        for link in planted:
            mine = [i for i in items if i["chat_url"] == link]
            assert len(mine) == 1 and mine[0]["policy"] == "keys", (link, mine)
            assert mine[0]["infotype"] in INFOTYPES and mine[0]["category"] == "credential"
        calls = [r for r, _ in httpserver.log if r.path == "/hook"]
        assert all(signing.verify(HOOK_SECRET.encode(), r.get_data(), r.headers.get(signing.TIMESTAMP_HEADER),
                                  r.headers.get(signing.SIGNATURE_HEADER)) for r in calls)

        for chat_id in planted.values():
            found = lake.query(
                "SELECT f.infotype, r.started_at FROM findings f JOIN scan_runs r USING (scan_run_id) "
                "WHERE f.chat_id = ?", [chat_id]).to_pylist()
            assert len(found) == 1 and found[0]["infotype"] in INFOTYPES, found
            assert found[0]["started_at"].timestamp() > org.chat(chat_id).created, found
        every_run = runs.runs()
        assert every_run and all(r["auto_scheduled"] for r in every_run), runs.diagnostics()
        runs.scheduled()  # raises when a scheduled run failed, crashed or was cancelled but not skipped
        skipped = sum(skipped_by_limit(r) for r in every_run)
    finally:
        alive = stack.stop_worker(worker) if worker else []
        if deployment:
            stack.delete(deployment)
        print(f"watch test: {time.monotonic() - t_start:.0f} s, {skipped} ticks skipped while a run was going")
    assert not alive, f"processes survived the teardown: {alive}"
