"""Two scans of one organization at once: do they stay within one request budget?

A historical and a forward scan run as two processes (``vigil scan … --no-prefect``) against one
simulated org whose server enforces the real limit (600 requests a minute per org), with vigil's
default budget (540 a minute). The simulator logs every API call; this reports the most requests
seen in any rolling 60 s, the 429s, and each scan's share. Before the host-wide budget
(vigil.scan.budget) each process spent its own 540 a minute (605 requests in 60 s were seen).

Usage: python bench/budget.py [--seconds 180] [--chats 400]
Writes bench/results/budget.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from vigil.simulator import SimulatorServer, SyntheticOrg, build_app, default_key  # noqa: E402
from vigil.simulator.chaos import Chaos  # noqa: E402

SERVER_RPM = 600
CLIENT_RPM = 540


def rolling_max(stamps: list[float], window: float) -> int:
    """Most events in any ``window`` seconds (sorted timestamps, two pointers)."""
    best, lo = 0, 0
    for hi, t in enumerate(stamps):
        while stamps[lo] <= t - window:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=180.0)
    ap.add_argument("--chats", type=int, default=400)
    args = ap.parse_args()
    seed = 97
    org = SyntheticOrg.generate(seed=seed, users=25, chats=args.chats, days=30, now=time.time() - 120)
    chaos = Chaos(build_app(org, rpm=SERVER_RPM))
    work = Path(tempfile.mkdtemp(prefix="vigil-budget-"))
    env = dict(os.environ, BENCH_BUDGET_KEY=default_key(seed).secret, VIGIL_FINGERPRINT_KEY="9f" * 32,
               VIGIL_HOME=str(work / "home"))
    with SimulatorServer(chaos) as base_url:
        procs = {}
        for kind in ("historical", "forward"):
            config = work / f"{kind}.toml"
            config.write_text("[connector]\n"
                              f'org_id = "{org.parent.uuid}"\nbase_url = "{base_url}"\n'
                              'key_source = "env:BENCH_BUDGET_KEY"\n'
                              f'[lake]\nroot = "{work / kind}"\n[rate]\nrpm = {CLIENT_RPM}\n')
            cmd = [sys.executable, "-c", "from vigil.cli import main; main()", "scan", kind, "--no-prefect",
                   "--config", str(config)] + (["--days", "30"] if kind == "historical" else [])
            procs[kind] = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        t0 = time.time()
        while time.time() - t0 < args.seconds and any(p.poll() is None for p in procs.values()):
            time.sleep(1)
        for p in procs.values():
            if p.poll() is None:
                os.kill(p.pid, signal.SIGKILL)
            p.wait(30)
    log = list(chaos.log)
    stamps = sorted(t for t, _p, _s in log)
    statuses = Counter(s for _t, _p, s in log)
    span = stamps[-1] - stamps[0] if stamps else 0.0
    peak = rolling_max(stamps, 60.0)
    lines = [
        "# Two concurrent scans, one organization's budget",
        "",
        f"Run {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC on {platform.node()} "
        f"({os.cpu_count()} cores, Python {platform.python_version()}); `python bench/budget.py "
        f"--seconds {args.seconds:.0f} --chats {args.chats}`.",
        "",
        f"A historical and a forward scan (two processes, client budget {CLIENT_RPM}/min each) against one "
        f"simulated org limited to {SERVER_RPM}/min.",
        "",
        "| measure | value |", "|---|---:|",
        f"| API calls seen | {len(stamps)} over {span:.0f} s |",
        f"| most calls in any rolling 60 s | **{peak}** (budget {CLIENT_RPM}, server limit {SERVER_RPM}) |",
        f"| mean rate | {len(stamps) / span * 60 if span else 0:.0f}/min |",
        f"| 429 responses | {statuses.get(429, 0)} |",
        "",
    ]
    out = ROOT / "bench" / "results" / "budget.md"
    out.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
