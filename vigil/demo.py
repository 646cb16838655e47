"""``make demo``: a whole vigil run against the local simulator, in a few minutes.

1. start the simulator with a seeded org (uvicorn on a free loopback port);
2. write a temporary config pointing at it (the key only in the environment);
3. historical scan (30 days), then a forward scan (nothing new: nothing inspected);
4. add chats through the simulator's admin endpoint, forward scan again (only they are inspected);
5. print a findings summary through ``vigil sql``;
6. show the incidents found (one per leaked value) and write the HTML report.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

SEED = 2026
USERS = 40
CHATS = 300
NEW_CHATS = 5
# The real API allows 600 requests/minute; the demo raises the simulator's budget (and vigil's)
# so that it fits in a few minutes. `bench/scan.py` measures scans at the real budget.
DEMO_RPM = 6000


def _say(text: str) -> None:
    print(f"\n\033[1m== {text}\033[0m", flush=True)


def _show(result: dict) -> None:
    c = result.get("counts", {})
    skipped = ", ".join(f"{k} {v}" for k, v in sorted(result.get("skipped", {}).items())) or "none"
    print(f"   run {result['run_id']}: {result['status']}\n"
          f"   chats in scope {c.get('chats_seen', 0)}, transcripts fetched {c.get('chats_fetched', 0)}, "
          f"projects {c.get('projects_seen', 0)}, activities landed {c.get('activities', 0)}\n"
          f"   objects inspected {c.get('objects_scanned', 0)}, skipped: {skipped}\n"
          f"   findings {c.get('findings', 0)}, API requests {result['requests']}", flush=True)


def _vigil(*args: str, shown: str | None = None) -> None:
    """Run the vigil command line, printing the command first."""
    vigil = Path(sys.executable).with_name("vigil")
    cmd = [str(vigil)] if vigil.exists() else [sys.executable, "-c", "from vigil.cli import main; main()"]
    print(f"$ vigil {shown or ' '.join(args)}", flush=True)
    subprocess.run(cmd + list(args), check=True)


def _sql(lake: Path, query: str) -> None:
    _vigil("sql", query, "--lake", str(lake), shown=f'sql "{query}"')


def main() -> None:
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="vigil-demo-"))
    os.environ.setdefault("VIGIL_HOME", str(work / "config"))  # demo fingerprint key stays here
    # The demo's Prefect runs go to a database of their own (migrated once per checkout), not to
    # ~/.prefect, which another Prefect version may have migrated.
    prefect_home = Path(os.environ.get("PREFECT_HOME") or Path(__file__).resolve().parents[1] / ".vigil" / "prefect-demo")
    prefect_home.mkdir(parents=True, exist_ok=True)
    os.environ["PREFECT_HOME"] = str(prefect_home)
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")

    from vigil.simulator import SimulatorServer, SyntheticOrg, build_app, default_key

    _say(f"Simulator: a seeded org of {USERS} users and {CHATS} chats over 30 days")
    org = SyntheticOrg.generate(seed=SEED, users=USERS, chats=CHATS, days=30)
    os.environ["ANTHROPIC_COMPLIANCE_API_KEY"] = default_key(SEED).secret
    with SimulatorServer(build_app(org, rpm=DEMO_RPM)) as base_url:
        lake = work / "lake"
        config = work / "vigil.toml"
        config.write_text(
            "[connector]\n"
            f'org_id = "{org.parent.uuid}"\n'
            f'base_url = "{base_url}"\n'
            'key_source = "env:ANTHROPIC_COMPLIANCE_API_KEY"   # the key itself is never in a file\n\n'
            f'[lake]\nroot = "{lake}"\n\n'
            f"[rate]\nrpm = {DEMO_RPM}\n")
        print(f"   serving on {base_url}; config {config}; lake {lake}")

        from flows.forward_scan import forward_scan
        from flows.historical_scan import historical_scan

        _say("Historical scan: content modified in the last 30 days (Prefect flow)")
        _show(historical_scan(max_last_modified_days=30, config_path=str(config)))

        _say("Forward scan: nothing changed since, so nothing is inspected")
        _show(forward_scan(config_path=str(config)))

        _say(f"Adding {NEW_CHATS} chats through the simulator's admin endpoint")
        resp = httpx.post(f"{base_url}/_admin/chats", json={"count": NEW_CHATS}, timeout=30)
        resp.raise_for_status()
        new_ids = resp.json()["chat_ids"]
        print(f"   new chats: {', '.join(new_ids)}")

        _say("Forward scan again: only the new chats are fetched and inspected")
        _show(forward_scan(config_path=str(config)))

    _say("Findings summary (vigil sql)")
    _sql(lake, "SELECT severity, infotype, count(*) AS findings, count(DISTINCT user_email) AS users "
               "FROM findings GROUP BY ALL ORDER BY findings DESC LIMIT 15")
    _sql(lake, "SELECT run_type, status, objects_scanned, findings_count, requests_used "
               "FROM scan_runs ORDER BY started_at")
    ids = ", ".join(f"'{i}'" for i in new_ids)
    _sql(lake, f"SELECT chat_id, count(*) AS findings FROM findings WHERE chat_id IN ({ids}) GROUP BY ALL")

    _say("Incidents: one per leaked value, however many chats it appeared in")
    _vigil("incidents", "list", "--status", "open", "--severity", "critical", "--limit", "8", "--lake", str(lake))
    report = work / "report.html"
    _say("The HTML report (self-contained: open it in any browser)")
    _vigil("report", "--out", str(report), "--since", "all", "--lake", str(lake))
    print(f"\nDone in {time.monotonic() - started:.0f} s. The lake stays in {lake}; the report is {report}.\n"
          f"Try `vigil sql \"SELECT * FROM findings LIMIT 5\" --lake {lake}` or "
          f"`vigil incidents show <id> --lake {lake}`.")


if __name__ == "__main__":
    main()
