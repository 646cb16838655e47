"""How long from a secret pasted into a chat to its alert, with the watch deployment running?

Everything is real and local: the simulator serves a small org over HTTP with the API's budget
(600 requests a minute; vigil's client keeps its default 540), a loopback HTTP server stands in
for the alert webhook (vigil's signed ``webhook`` destination; it records each call's arrival
time and body), and ``vigil.local_prefect`` starts a Prefect server, deploys the ``watch``
deployment of the repository's prefect.yaml with its schedule switched on (its 60 s interval
and every Prefect setting left at their defaults) and starts a process worker.

Once the first scheduled run has caught up (it walks ``historical.days`` = 1 day of the org),
the bench adds a chat with a planted credential every ``--every`` seconds for ``--minutes``
minutes, waits until every chat is alerted (or ``--drain-minutes`` pass), then leaves the watch
idle for ``--idle-minutes`` and counts the API requests it spends. Reported, per planted chat:
creation (the chat's ``created_at`` in the simulator) → finding landed (``findings.landed_at``),
→ incident created (``incidents.created_at``), → alert received by the webhook (matched by the
chat's link in the alert body); and where that time went (schedule, run start-up, scan,
incidents and delivery), read from the Prefect server's flow runs and the lake's ``scan_runs``.

Usage: python bench/latency.py [--minutes 15] [--every 20] [--idle-minutes 5]
Writes bench/results/latency.md and bench/results/latency.json.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from vigil.alerts import signing  # noqa: E402
from vigil.lake import Lake  # noqa: E402
from vigil.local_prefect import LocalPrefect, parse_time, skipped_by_limit, wait_for  # noqa: E402
from vigil.simulator import SimulatorServer, SyntheticOrg, build_app, default_key  # noqa: E402
from vigil.synth import values  # noqa: E402

SERVER_RPM = 600                  # the Compliance API's budget per organization
TARGET_S = 120                    # issue 11: p95 from creation to alert within 2 minutes
HOOK_SECRET = "whsec-latency-bench"
POLICY = "keys"
INFOTYPES = ("GITHUB_TOKEN", "SLACK_TOKEN", "NPM_TOKEN", "STRIPE_API_KEY", "GITLAB_TOKEN")
ID_SEGMENT = re.compile(r"/(?:[0-9a-f]{8}-[0-9a-f-]{27}|[a-z]+(?:_[a-z]+)*_[0-9A-Za-z]{12,})(?=/|$)")  # uuid, claude_chat_01…
PREFECT_SETTINGS = ("PREFECT_WORKER_QUERY_SECONDS", "PREFECT_WORKER_PREFETCH_SECONDS",
                    "PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS",
                    "PREFECT_SERVER_DEPLOYMENTS_CONCURRENCY_SLOT_WAIT_SECONDS")


class ApiCounter:
    """ASGI middleware in front of the simulator: the time and status of every ``/v1`` request."""

    def __init__(self, app):
        self.app = app
        self.calls: list[tuple[float, int, str]] = []

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not scope["path"].startswith("/v1/"):
            return await self.app(scope, receive, send)
        arrived, endpoint = time.time(), ID_SEGMENT.sub("/{id}", scope["path"])

        async def send_and_note(message):
            if message["type"] == "http.response.start":
                self.calls.append((arrived, message["status"], endpoint))
            await send(message)

        await self.app(scope, receive, send_and_note)

    def between(self, start: float, end: float) -> list[tuple[float, int, str]]:
        return [c for c in self.calls if start <= c[0] < end]


class WebhookReceiver:
    """A loopback HTTP server standing in for the alert webhook: records every POST (arrival
    time, parsed body, whether the signature verifies) and answers 200."""

    def __init__(self, secret: bytes):
        self.calls: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                arrived = time.time()
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.calls.append({
                    "arrived": arrived, "body": json.loads(body),
                    "signed": signing.verify(secret, body, self.headers.get(signing.TIMESTAMP_HEADER),
                                             self.headers.get(signing.SIGNATURE_HEADER))})
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> WebhookReceiver:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def first_arrival(self) -> dict[str, float]:
        """Chat link → arrival time of the first alert naming it."""
        seen: dict[str, float] = {}
        for call in self.calls:
            for item in call["body"]["incidents"]:
                seen.setdefault(item["chat_url"], call["arrived"])
        return seen

    def items_per_link(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for call in self.calls:
            for item in call["body"]["incidents"]:
                counts[item["chat_url"]] = counts.get(item["chat_url"], 0) + 1
        return counts


@dataclass
class Planted:
    chat_id: str
    link: str
    infotype: str
    created: float                # the chat's created_at in the simulator (epoch seconds)
    landed: float | None = None   # findings.landed_at
    incident: float | None = None  # incidents.created_at (policy POLICY)
    alerted: float | None = None  # first arrival at the webhook
    scan_run_id: str | None = None
    scan_started: float | None = None
    flow_run_start: float | None = None
    missed_by_runs: int | None = None  # scans that started after the chat was created but did not land it


def quantiles(xs: list[float]) -> dict[str, float | None]:
    """p50, p95 (nearest rank) and max of ``xs``."""
    if not xs:
        return {"n": 0, "p50": None, "p95": None, "max": None}
    s = sorted(xs)

    def rank(p: float) -> float:
        return s[max(0, math.ceil(p * len(s)) - 1)]

    return {"n": len(s), "p50": rank(0.50), "p95": rank(0.95), "max": s[-1]}


def fmt(x: float | None) -> str:
    return "–" if x is None else f"{x:.1f}"


def epoch(value) -> float | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = parse_time(value)
    return value.timestamp()


def write_config(path: Path, org: SyntheticOrg, base_url: str, lake: Path, hook_url: str) -> None:
    path.write_text(
        "[connector]\n"
        f'org_id = "{org.parent.uuid}"\nbase_url = "{base_url}"\n'
        'key_source = "env:VIGIL_LATENCY_KEY"\n'
        f'[lake]\nroot = "{lake}"\n'
        "[historical]\ndays = 1\n"            # what the first forward run walks
        "[alerts.destinations.hook]\n"
        f'type = "webhook"\nurl = "{hook_url}"\nsecret_source = "env:VIGIL_LATENCY_HOOK_SECRET"\n'
        f'[[alerts.policies]]\nname = "{POLICY}"\ncategories = ["credential"]\ndestinations = ["hook"]\n')


def prefect_settings(stack: LocalPrefect) -> dict[str, str]:
    """The Prefect settings that shape the schedule, as the stack's processes see them."""
    shown = stack.cli("config", "view", "--show-defaults").stdout
    found = {}
    for line in shown.splitlines():
        name, _, value = line.partition("=")
        if name.strip() in PREFECT_SETTINGS:
            found[name.strip()] = value.strip().split(" ")[0].strip("'")
    return found


def run_states(stack: LocalPrefect, run_id: str) -> dict[str, float]:
    """State name → first time the run entered it."""
    states = stack.client.get("/flow_run_states/", params={"flow_run_id": run_id}).json()
    seen: dict[str, float] = {}
    for s in sorted(states, key=lambda s: s["timestamp"]):
        seen.setdefault(s["name"], epoch(s["timestamp"]))
    return seen


def machine() -> str:
    try:
        load = "load average %.2f %.2f %.2f" % os.getloadavg()
    except OSError:
        load = "load average unknown"
    mem = "?"
    try:
        with open("/proc/meminfo") as f:
            mem = f"{int(f.readline().split()[1]) / 1024 / 1024:.1f} GiB RAM"
    except OSError:
        pass
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return (f"{cpu}, {os.cpu_count()} cores, {mem}, CPython {platform.python_version()}, "
            f"{platform.platform()}; {load}")


def git_commit() -> str:
    try:
        return subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], text=True,
                              capture_output=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=15, help="how long chats are added (default 15)")
    ap.add_argument("--every", type=float, default=20, help="seconds between two new chats (default 20)")
    ap.add_argument("--drain-minutes", type=float, default=10,
                    help="how long to wait for the last alerts after the last chat (default 10)")
    ap.add_argument("--idle-minutes", type=float, default=5,
                    help="how long the idle watch is observed for its request rate (default 5)")
    ap.add_argument("--users", type=int, default=8)
    ap.add_argument("--chats", type=int, default=40, help="chats of the generated org (over 3 days)")
    ap.add_argument("--feed-lag", type=float, default=60,
                    help="Activity Feed visibility delay of the simulator, s (the API documents ~1 min)")
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "latency.md")
    ap.add_argument("--keep", type=Path, help="work folder to keep (default: a temporary one, removed)")
    args = ap.parse_args()

    command = "python bench/latency.py " + " ".join(sys.argv[1:])
    started_at = datetime.now(timezone.utc)
    machine_at_start = machine()
    workdir = args.keep or Path(tempfile.mkdtemp(prefix="vigil-latency-"))
    workdir.mkdir(parents=True, exist_ok=True)
    org = SyntheticOrg.generate(seed=args.seed, users=args.users, chats=args.chats, days=3, now=time.time() - 120)
    api = ApiCounter(build_app(org, rpm=SERVER_RPM, feed_lag_s=args.feed_lag))
    planted: list[Planted] = []
    marks: dict[str, float] = {}

    with SimulatorServer(api) as base_url, WebhookReceiver(HOOK_SECRET.encode()) as hook, \
            LocalPrefect(workdir, ROOT) as stack:
        config = workdir / "vigil.toml"
        write_config(config, org, base_url, workdir / "lake", hook.url)
        marks["server up"] = time.time()
        deployment = stack.deploy("watch", parameters={"config_path": str(config)})
        stack.resume_schedules(deployment)  # as docs/scans.md says: prefect deployment schedule resume
        schedules = [(s["active"], s["schedule"]["interval"]) for s in stack.schedules(deployment)]
        assert schedules == [(True, 60)], f"the watch deployment's schedules: {schedules}, not on every 60 s"
        settings = prefect_settings(stack)
        runs = stack.runs(deployment)
        stack.start_worker(deployment.pool, env={
            "VIGIL_LATENCY_KEY": default_key(args.seed).secret, "VIGIL_LATENCY_HOOK_SECRET": HOOK_SECRET,
            "VIGIL_FINGERPRINT_KEY": "7f" * 32,
            "VIGIL_HOME": str(workdir / "vigil-home")})
        marks["deployed, worker started"] = time.time()
        print(f"deployed; waiting for the first watch run (logs: {workdir / 'logs'})", flush=True)
        wait_for(runs.completed, 900, "the first watch run to complete", runs.diagnostics, 2)
        marks["first run caught up"] = time.time()

        rng = random.Random(args.seed)
        count = max(1, int(args.minutes * 60 // args.every))
        t0 = time.time()
        for i in range(count):
            time.sleep(max(0.0, t0 + i * args.every - time.time()))
            infotype = INFOTYPES[i % len(INFOTYPES)]
            secret = values.generate(infotype, rng)
            chat_id = org.add_chat(messages=[{"text": f"deploy step {i} fails with this token: {secret} - why?",
                                              "plants": [[infotype, secret]]}])
            chat = org.chat(chat_id)
            planted.append(Planted(chat_id, f"https://claude.ai/chat/{chat.uuid}", infotype, chat.created))
            if i % 5 == 4 or i == count - 1:
                alerted = sum(p.link in hook.first_arrival() for p in planted)
                print(f"{i + 1}/{count} chats added, {alerted} of them alerted", flush=True)
        marks["last chat added"] = time.time()

        links = {p.link for p in planted}
        try:
            wait_for(lambda: links <= set(hook.first_arrival()), args.drain_minutes * 60,
                     "every planted chat to be alerted", interval=2)
        except AssertionError:
            print("drain timed out: some chats were never alerted", flush=True)
        marks["drained"] = idle_from = time.time()
        print(f"drained; observing the idle watch for {args.idle_minutes:g} min", flush=True)
        time.sleep(args.idle_minutes * 60)
        idle_to = marks["idle observed"] = time.time()

        flow_runs = runs.runs()
        states = {r["id"]: run_states(stack, r["id"]) for r in flow_runs if r["start_time"]}
        lake = Lake(str(workdir / "lake"))
        scans = lake.query("SELECT scan_run_id, started_at, finished_at, duration_s, requests_used, status "
                           "FROM scan_runs WHERE run_type = 'forward' ORDER BY started_at").to_pylist()
        findings = lake.query("SELECT chat_id, fingerprint, landed_at, scan_run_id FROM findings "
                              "WHERE chat_id IN (SELECT unnest(?))", [[p.chat_id for p in planted]]).to_pylist()
        incidents = lake.query("SELECT fingerprint, created_at FROM incidents WHERE policy = ?", [POLICY]).to_pylist()
    machine_at_end = machine()

    # -- join: chat -> finding -> scan -> flow run; chat -> incident; chat -> alert
    scan_by_id = {s["scan_run_id"]: s for s in scans}
    incident_at = {i["fingerprint"]: epoch(i["created_at"]) for i in incidents}
    arrivals, per_link = hook.first_arrival(), hook.items_per_link()
    skipped_runs = [r for r in flow_runs if skipped_by_limit(r)]
    run_spans = [(epoch(r["start_time"]), epoch(r["end_time"]) or time.time(), r) for r in flow_runs
                 if r["start_time"] and not skipped_by_limit(r)]
    by_chat: dict[str, list[dict]] = {}
    for f in findings:
        by_chat.setdefault(f["chat_id"], []).append(f)
    for p in planted:
        rows = sorted(by_chat.get(p.chat_id, []), key=lambda f: f["landed_at"])
        if rows:
            first = rows[0]
            p.landed, p.scan_run_id = epoch(first["landed_at"]), first["scan_run_id"]
            p.incident = min((incident_at[f["fingerprint"]] for f in rows if f["fingerprint"] in incident_at), default=None)
            scan = scan_by_id.get(p.scan_run_id)
            if scan:
                p.scan_started = epoch(scan["started_at"])
                p.flow_run_start = next((s for s, e, _ in run_spans if s <= p.scan_started <= e), None)
                p.missed_by_runs = sum(1 for s in scans if p.created < epoch(s["started_at"]) < p.scan_started)
        p.alerted = arrivals.get(p.link)

    def since_created(attr: str) -> list[float]:
        return [getattr(p, attr) - p.created for p in planted if getattr(p, attr) is not None]

    latency = {"creation → finding landed": quantiles(since_created("landed")),
               "creation → incident created": quantiles(since_created("incident")),
               "creation → alert received": quantiles(since_created("alerted"))}
    parts = {
        "creation → start of the scan that landed it": quantiles(
            [p.scan_started - p.created for p in planted if p.scan_started]),
        "scan start → finding landed": quantiles([p.landed - p.scan_started for p in planted if p.scan_started]),
        "finding landed → incident created": quantiles([p.incident - p.landed for p in planted if p.incident and p.landed]),
        "incident created → alert received": quantiles([p.alerted - p.incident for p in planted if p.alerted and p.incident]),
    }
    missed = {"never found": sum(p.landed is None for p in planted),
              "never got an incident": sum(p.incident is None for p in planted),
              "never alerted": sum(p.alerted is None for p in planted),
              "alerted more than once": sum(per_link.get(p.link, 0) > 1 for p in planted),
              "unsigned webhook calls": sum(not c["signed"] for c in hook.calls),
              "landed by a later run than the first to start after creation":
                  sum(1 for p in planted if p.missed_by_runs)}

    # -- the schedule: how runs started and how long they took
    run_rows = []
    for start, end, r in run_spans:
        st = states.get(r["id"], {})
        scan = next((s for s in scans if start <= epoch(s["started_at"]) <= end), None)
        run_rows.append({
            "expected": epoch(r["expected_start_time"]), "pending": st.get("Pending"), "running": start,
            "end": epoch(r["end_time"]), "state": r["state_type"], "held": "AwaitingConcurrencySlot" in st,
            "scan_started": epoch(scan["started_at"]) if scan else None,
            "scan_finished": epoch(scan["finished_at"]) if scan and scan["finished_at"] else None,
            "requests": scan["requests_used"] if scan else None})
    loaded = [r for r in run_rows if r["end"] and marks["first run caught up"] <= r["running"]]
    schedule = {
        "expected start → Running (worker pick-up and process start)": quantiles(
            [r["running"] - r["expected"] for r in loaded]),
        "Pending → Running (flow-run process start)": quantiles(
            [r["running"] - r["pending"] for r in loaded if r["pending"]]),
        "Running → scan started (imports, settings, lease, org check)": quantiles(
            [r["scan_started"] - r["running"] for r in loaded if r["scan_started"]]),
        "scan started → scan finished": quantiles(
            [r["scan_finished"] - r["scan_started"] for r in loaded if r["scan_finished"] and r["scan_started"]]),
        "scan finished → run end (incidents, alerts, artifacts)": quantiles(
            [r["end"] - r["scan_finished"] for r in loaded if r["scan_finished"]]),
        "whole run (Running → end)": quantiles([r["end"] - r["running"] for r in loaded]),
        "gap between consecutive run starts": quantiles(
            [b["running"] - a["running"] for a, b in zip(loaded, loaded[1:])]),
    }
    idle_calls = api.between(idle_from, idle_to)
    idle_runs = [r for r in run_rows if r["running"] and idle_from <= r["running"] < idle_to]
    load_calls = api.between(t0, marks["drained"])
    requests = {
        "idle: API requests per minute": len(idle_calls) / ((idle_to - idle_from) / 60),
        "idle: runs started": len(idle_runs),
        "idle: API requests per run": len(idle_calls) / max(1, len(idle_runs)),
        "while adding chats: API requests per minute": len(load_calls) / max(1e-9, (marks["drained"] - t0) / 60),
        "429 responses (whole bench)": sum(1 for _, status, _ in api.calls if status == 429),
    }
    idle_endpoints = Counter(endpoint for _, _, endpoint in idle_calls)

    # -- write
    alert = latency["creation → alert received"]
    lines = [
        "# Watch deployment latency: creation to finding, incident and alert",
        "",
        f"Run {started_at:%Y-%m-%d %H:%M} UTC; `{command.strip()}`; git {git_commit()}; "
        f"prefect {version('prefect')}.  ",
        f"Machine at the start: {machine_at_start}.  ",
        f"Machine at the end: {machine_at_end}.",
        "",
        f"The `watch` deployment of prefect.yaml (interval 60 s, concurrency limit 1) switched on, on a local "
        f"Prefect server with a process worker; Prefect's schedule settings at their defaults "
        f"({', '.join(f'{k}={v}' for k, v in settings.items())}). Simulator: {args.users} users, {args.chats} chats "
        f"over 3 days, {SERVER_RPM} requests/min, Activity Feed lag {args.feed_lag:g} s; vigil's client at its "
        f"default 540/min; first run walked `historical.days = 1`. After the first run caught up, one chat with a "
        f"planted credential every {args.every:g} s for {args.minutes:g} min ({len(planted)} chats); alerts to vigil's "
        f"signed webhook on a loopback HTTP server (policy `{POLICY}`: category credential).",
        "",
        "## Target",
        "",
        "| target | measured | status |",
        "|---|---:|---|",
        f"| p95 creation → alert received ≤ {TARGET_S} s | {fmt(alert['p95'])} s | "
        f"**{'met' if alert['p95'] is not None and alert['p95'] <= TARGET_S and not missed['never alerted'] else 'not met'}** |",
        f"| every planted secret found and alerted once | {missed['never found']} never found, "
        f"{missed['never alerted']} never alerted, {missed['alerted more than once']} alerted twice | "
        f"**{'met' if not (missed['never found'] or missed['never alerted'] or missed['alerted more than once']) else 'not met'}** |",
        "",
        "## Latency per planted chat (seconds)",
        "",
        "| from the chat's creation to | n | p50 | p95 | max |",
        "|---|---:|---:|---:|---:|",
        *[f"| {k.split('→ ')[1]} | {v['n']} | {fmt(v['p50'])} | {fmt(v['p95'])} | {fmt(v['max'])} |"
          for k, v in latency.items()],
        "",
        "Where it went, per chat:",
        "",
        "| part | n | p50 | p95 | max |",
        "|---|---:|---:|---:|---:|",
        *[f"| {k} | {v['n']} | {fmt(v['p50'])} | {fmt(v['p95'])} | {fmt(v['max'])} |" for k, v in parts.items()],
        "",
        "| count | chats |",
        "|---|---:|",
        *[f"| {k} | {v} |" for k, v in missed.items()],
        "",
        f"## The schedule: {len(loaded)} runs after the first (seconds)",
        "",
        "| part of a run | n | p50 | p95 | max |",
        "|---|---:|---:|---:|---:|",
        *[f"| {k} | {v['n']} | {fmt(v['p50'])} | {fmt(v['p95'])} | {fmt(v['max'])} |" for k, v in schedule.items()],
        "",
        f"Ticks skipped because a run was still going (`CANCEL_NEW`): {len(skipped_runs)}; runs held by the "
        f"concurrency limit (`AwaitingConcurrencySlot`): {sum(r['held'] for r in run_rows)} of "
        f"{len(run_rows)}; runs not completed: {sum(r['state'] != 'COMPLETED' for r in run_rows if r['end'])}.",
        "",
        "## API requests (counted by the simulator)",
        "",
        "| measure | value |",
        "|---|---:|",
        *[f"| {k} | {v:.1f} |" if isinstance(v, float) else f"| {k} | {v} |" for k, v in requests.items()],
        "",
        "Idle requests by endpoint:",
        "",
        "| endpoint | requests | per run |",
        "|---|---:|---:|",
        *[f"| `{k}` | {v} | {v / max(1, len(idle_runs)):.1f} |" for k, v in idle_endpoints.most_common()],
        "",
        "Bench phases (s after the server was up): " + ", ".join(
            f"{k} {v - marks['server up']:.0f}" for k, v in marks.items() if k != "server up") + ".",
        "",
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines))
    args.out.with_suffix(".json").write_text(json.dumps({
        "command": command, "started_at": started_at.isoformat(), "latency": latency, "parts": parts,
        "missed": missed, "schedule": schedule, "requests": requests, "idle_endpoints": idle_endpoints,
        "prefect_settings": settings,
        "chats": [asdict(p) for p in planted], "runs": run_rows,
        "skipped_runs": len(skipped_runs)}, indent=1))
    print("\n".join(lines))
    if not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
