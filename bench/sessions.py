"""Benchmark of sessions, Claude Code sites, the directory and posture in scans (see
bench/results/sessions.md).

For a simulated org served in-process (rate limit lifted), measures:
- recall of the simulator's planted values per kind (local / remote session messages, site
  versions), counting a value found when a finding of its infotype is in its object;
- the requests each scan spends per endpoint family, against the minimum a correct scan needs;
- duplicates (findings landed twice at one place);
for a historical scan, an idle forward scan and a forward scan after admin changes (a new local
message, a new remote session, a site version made public, a settings change).

Usage: python bench/sessions.py [--local 200] [--remote 80] [--sites 40] [--seed 7]
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import random
import re
import tempfile
import time
from collections import Counter, defaultdict
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FAMILIES = [  # (label, path pattern), first match wins
    ("organization check + directory", r"/organizations/[^/]+/users|/groups"),
    ("posture", r"/organizations(/[^/]+/settings)?$"),
    ("activities", r"/activities"),
    ("projects", r"/apps/projects"),
    ("chats and their files", r"/apps/chats|/apps/artifacts"),
    ("local sessions", r"/apps/sessions/local"),
    ("remote sessions", r"/apps/sessions/remote"),
    ("code artifacts", r"/apps/code/artifacts"),
]


def family(path: str) -> str:
    path = path.split("?")[0].removeprefix("/v1/compliance")
    return next((label for label, pattern in FAMILIES if re.search(pattern, path)), "other")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--local", type=int, default=200)
    ap.add_argument("--remote", type=int, default=80)
    ap.add_argument("--sites", type=int, default=40)
    ap.add_argument("--chats", type=int, default=50)
    ap.add_argument("--users", type=int, default=40)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "sessions.md"))
    args = ap.parse_args()
    os.environ.setdefault("VIGIL_FINGERPRINT_KEY", "42" * 32)

    from vigil.config import parse_config
    from vigil.detect import Engine
    from vigil.lake import Lake
    from vigil.scan.run import open_run
    from vigil.scan.runner import run_scan
    from vigil.scan.setup import load_run_settings
    from vigil.simulator import SyncASGITransport, SyntheticOrg, build_app, default_key
    from vigil.simulator.chaos import Chaos
    from vigil.synth import values

    t0 = time.perf_counter()
    org = SyntheticOrg.generate(seed=args.seed, users=args.users, chats=args.chats, days=30,
                                local_sessions=args.local, remote_sessions=args.remote, code_artifacts=args.sites)
    generate_s = time.perf_counter() - t0
    os.environ["BENCH_SIM_KEY"] = default_key(org.seed).secret
    chaos = Chaos(build_app(org, rpm=1_000_000))
    transport = SyncASGITransport(chaos)
    tmp = tempfile.mkdtemp(prefix="vigil-bench-sessions-")
    cfg = parse_config({"connector": {"org_id": org.parent.uuid, "base_url": "http://127.0.0.1:9",
                                      "key_source": "env:BENCH_SIM_KEY"},
                        "lake": {"root": f"{tmp}/lake"}, "rate": {"rpm": 1_000_000}})
    lake = Lake(f"{tmp}/lake")

    def scan(kind: str, reread_every_scan: bool = False) -> dict:
        start = len(chaos.log)
        t = time.perf_counter()
        config = cfg.with_overrides({"sessions.local_reread_minutes": 0}) if reread_every_scan else cfg
        with open_run(load_run_settings(config=config), kind, days=30 if kind == "historical" else None,
                      transport=transport, client_options={"sleep": lambda s: None}) as run:
            run_scan(run)
        per = Counter(family(path) for _, path, _ in chaos.log[start:])
        return {"summary": run.summary, "wall": time.perf_counter() - t, "per": per}

    historical = scan("historical")
    first = scan("forward")  # the first forward scan reads every session of its window
    idle = scan("forward")  # within the re-read interval: sessions created since the last walk
    rng = random.Random(args.seed)
    local = next(s for s in org.local_sessions if org.retained_calls(s)
                 and time.time() - org.local_created(s) < 86400)  # resumed within the trailing window
    token = values.generate("GITHUB_TOKEN", rng)
    org.add_local_session_messages(local.id, [{"role": "user", "text": f"export GITHUB_TOKEN={token}",
                                               "plants": [("GITHUB_TOKEN", token)]}])
    org.add_remote_session(messages=[{"role": "user", "text": "status of the Q3 export?"}])
    site = next(a for a in org.code_artifacts if a.read_mode != "public")
    key = values.generate("STRIPE_API_KEY", rng)
    org.add_code_artifact_version(site.id, content=f"<script>Stripe('{key}')</script>\n", read_mode="public",
                                  plants=[("STRIPE_API_KEY", key)])
    org.update_settings({"claude_ai_chat_sharing_enabled": True})
    changed = scan("forward")
    reread = scan("forward", reread_every_scan=True)  # what the hourly full re-read costs

    covered = {r.infotype for r in Engine.load(b"k" * 32).rules}
    found = defaultdict(set)
    for r in lake.query("SELECT object_kind, object_id, object_version, infotype, locator, start FROM findings "
                        "WHERE session_id IS NOT NULL OR object_kind = 'code_artifact_version'").to_pylist():
        version = r["object_version"] if r["object_kind"] == "code_artifact_version" else None
        found[(r["object_kind"], r["object_id"], version, r["infotype"])].add((r["locator"], r["start"]))
    planted = Counter((g.object_kind, g.object_id, g.version, g.infotype) for g in org.ground_truth(kinds="sessions"))
    recall: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])  # planted, found, planted of uncovered types
    missed: dict[str, Counter] = defaultdict(Counter)
    for k, n in planted.items():
        if k[3] not in covered:
            recall[k[0]][2] += n
            continue
        hit = min(n, len(found[k]))
        recall[k[0]][0] += n
        recall[k[0]][1] += hit
        if hit < n:
            missed[k[0]][k[3]] += n - hit
    dupes = lake.query('SELECT count(*) AS n FROM (SELECT object_key, locator, start, "end", infotype FROM findings '
                       'GROUP BY ALL HAVING count(*) > 1)').to_pylist()[0]["n"]

    s = historical["summary"].counts
    groups = lake.query("SELECT count(*) AS n FROM groups").to_pylist()[0]["n"]
    versions = lake.query("SELECT count(*) AS n FROM objects WHERE object_kind = 'code_artifact_version' "
                          f"AND scan_run_id = '{historical['summary'].run_id}'").to_pylist()[0]["n"]
    minimum = {
        "organization check + directory": 1 + math.ceil(args.users / 1000) + 1 + groups,
        "posture": 1 + 2,
        "local sessions": max(1, math.ceil(s["local_sessions_seen"] / 500)) + s["local_sessions_fetched"],
        "remote sessions": max(1, math.ceil(s["remote_sessions_seen"] / 500)) + s["remote_sessions_fetched"],
        "code artifacts": max(1, math.ceil(s["code_artifacts_seen"] / 100)) + versions,
    }
    lines = [
        "# Sessions, Claude Code sites, directory and posture in scans",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores (shared), Python {platform.python_version()}. "
        f"Date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC.",
        f"Command: `.venv/bin/python bench/sessions.py --local {args.local} --remote {args.remote} --sites "
        f"{args.sites} --chats {args.chats} --users {args.users} --seed {args.seed}` (simulator in-process, "
        "rate limit lifted, plain-Python scans; org generated in {:.1f} s).".format(generate_s),
        "",
        "## Recall of planted values (historical scan)",
        "",
        "| kind | planted (covered infotypes) | found | recall | missed by infotype | planted, infotype without a rule |",
        "|---|---:|---:|---:|---|---:|",
    ]
    for kind in ("local_session_message", "remote_session_message", "code_artifact_version"):
        n, hit, uncovered = recall[kind]
        miss = ", ".join(f"{t} {c}" for t, c in missed[kind].most_common()) or "-"
        lines.append(f"| {kind} | {n} | {hit} | {hit / n:.3f} | {miss} | {uncovered} |")
    lines += ["", f"Duplicate findings (same object, place and infotype twice): {dupes}.", "",
              "## Requests per endpoint family", "",
              "Forward scans: the first one (re-reads every local session of its window), an idle one within the "
              "re-read interval, one after the admin changes (a message added to a local session resumed in the "
              "last day, a new remote session, a site version made public, chat sharing turned on), and a full "
              "re-read of the 7-day window (what `local_reread_minutes` spaces out).", "",
              "| family | historical | minimum | first forward | idle forward | after changes | full re-read |",
              "|---|---:|---:|---:|---:|---:|---:|"]
    runs = (historical, first, idle, changed, reread)
    for label, _ in FAMILIES:
        cells = [str(r["per"][label]) for r in runs]
        lines.append(f"| {label} | {cells[0]} | {minimum.get(label, '')} | {' | '.join(cells[1:])} |")
    lines += ["| **total** | " + " | ".join([str(sum(historical["per"].values())), ""]
                                         + [str(sum(r["per"].values())) for r in runs[1:]]) + " |", "",
              "Wall time (s): " + ", ".join(f"{name} {r['wall']:.1f}" for name, r in zip(
                  ("historical", "first forward", "idle forward", "after changes", "full re-read"), runs)) + ".",
              f"Objects inspected after the changes: {changed['summary'].counts['objects_scanned']} (then "
              f"{reread['summary'].counts['objects_scanned']} by the full re-read); posture changes: "
              f"{changed['summary'].counts['posture_changes']}.", ""]
    Path(args.out).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
