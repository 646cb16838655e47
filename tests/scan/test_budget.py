"""One request budget per organization for every process of the host (vigil.scan.budget)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from vigil.scan.budget import FileTokenBucket, SharedRateLimiter
from vigil.simulator import SimulatorServer, SyntheticOrg, build_app, default_key
from vigil.simulator.chaos import Chaos


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_two_buckets_on_one_file_share_one_rate(tmp_path):
    clock = FakeClock()
    a = FileTokenBucket(tmp_path / "org.json", rpm=60, clock=clock)
    b = FileTokenBucket(tmp_path / "org.json", rpm=60, clock=clock)
    taken = 0
    for _ in range(100):  # 10 simulated seconds; each "process" asks every 0.1 s
        clock.now += 0.1
        taken += a.take(1)[0] + b.take(1)[0]
    expected = 10 * a.rate  # one rate (a little under 1/s) and one burst, not two
    assert expected <= taken <= expected + a.capacity + 1


def test_the_limiter_waits_for_the_shared_bucket(tmp_path):
    clock = FakeClock()
    slept = []

    def sleep(s):
        slept.append(s)
        clock.now += s

    bucket = FileTokenBucket(tmp_path / "org.json", rpm=120, clock=clock)
    other = FileTokenBucket(tmp_path / "org.json", rpm=120, clock=clock)
    assert other.take(10)[0] == 2  # another process emptied the burst
    limiter = SharedRateLimiter(120, bucket, chunk=1, sleep=sleep, clock=clock)
    limiter.acquire()
    assert slept and abs(sum(slept) - 1 / bucket.rate) < 0.05  # one token, at a little under 2/s


@pytest.mark.waits  # paced by the 240 rpm budget
def test_two_concurrent_scans_stay_within_one_budget(tmp_path):
    """A forward and a historical scan, two processes, one org at 240 rpm: per rolling 5 s the
    simulator sees at most what one budget allows (4/s plus the burst)."""
    seed, rpm, window = 81, 240, 5.0
    org = SyntheticOrg.generate(seed=seed, users=10, chats=120, days=30, now=time.time() - 120)
    chaos = Chaos(build_app(org, rpm=1_000_000, code_artifact_max_bytes=256 * 1024))
    env = dict(os.environ, VIGIL_BUDGET_TEST_KEY=default_key(seed).secret,
               VIGIL_FINGERPRINT_KEY="8e" * 32, VIGIL_HOME=str(tmp_path / "home"))
    with SimulatorServer(chaos) as base_url:
        procs = []
        for kind in ("historical", "forward"):
            config = tmp_path / f"{kind}.toml"
            config.write_text("[connector]\n"
                              f'org_id = "{org.parent.uuid}"\nbase_url = "{base_url}"\n'
                              'key_source = "env:VIGIL_BUDGET_TEST_KEY"\n'
                              f'[lake]\nroot = "{tmp_path / "lake"}"\n[rate]\nrpm = {rpm}\n')
            args = ["scan", kind, "--no-prefect", "--config", str(config)] + (
                ["--days", "30"] if kind == "historical" else [])
            procs.append(subprocess.Popen([sys.executable, "-c", "from vigil.cli import main; main()", *args],
                                          env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        deadline = time.monotonic() + 120  # slow starts on a loaded machine: wait for enough calls
        while chaos.requests < 120 and time.monotonic() < deadline and any(p.poll() is None for p in procs):
            time.sleep(0.5)
        for p in procs:
            still_running = p.poll() is None
            os.kill(p.pid, signal.SIGKILL) if still_running else None
            p.wait(30)
    stamps = sorted(t for t, _path, _status in chaos.log)
    assert len(stamps) >= 120, f"only {len(stamps)} requests were made"
    busiest = max(sum(1 for s in stamps if t <= s < t + window) for t in stamps)
    allowed = rpm / 60 * window + rpm / 60 + 2 * 2  # rate x window, one burst, two chunks in hand
    assert busiest <= allowed, f"{busiest} requests in {window} s (budget {allowed:.0f})"
    assert busiest >= rpm / 60 * window * 0.6, "the scans were not starved either"
