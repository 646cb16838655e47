"""`make demo`'s program runs end to end and ends with incidents and the HTML report."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
@pytest.mark.late  # after the waits tests: well apart from the README walkthrough (docs/testing.md)
# Past the suite's 300 s default, like the walkthrough: 160 s in a quiet run, over 300 s in a
# whole-suite run on a loaded machine (2026-12-05, a timeout while the program was still
# scanning); its own subprocess timeout (900 s) is the bound that matters.
@pytest.mark.timeout(960)
def test_the_demo_runs_and_writes_the_report(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIGIL_", "PREFECT_", "ANTHROPIC_"))}
    env.update(HOME=str(tmp_path), PREFECT_HOME=str(tmp_path / "prefect"), TMPDIR=str(tmp_path))
    done = subprocess.run([sys.executable, "-m", "vigil.demo"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout
    assert "Historical scan" in out and "Forward scan again: only the new chats" in out
    assert "$ vigil incidents list" in out and "critical" in out
    report = next(tmp_path.rglob("report.html"))
    assert report.stat().st_size > 100_000 and "<html" in report.read_text()[:1000].lower()
    assert "Traceback" not in done.stderr
