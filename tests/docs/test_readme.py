"""The README's walkthrough runs as written, so it cannot drift from the code.

Every ```bash block of README.md runs, literally and in order, in one bash session (```python
blocks with the repository's interpreter, at their place in that order), in a fresh
folder (with the repository's ``.venv`` linked in) and a fresh ``HOME``. A block marked
``<!-- readme-test: background -->`` (the simulator, which runs until stopped) is started in the
background and waited for; one marked ``<!-- readme-test: skip REASON -->`` is not run, and the
reasons are few and checked here.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
MARK = re.compile(r"<!--\s*readme-test:\s*(skip|background)\b\s*(.*?)\s*-->")
FENCE = re.compile(r"^```(\w*)\s*$")
MAX_SKIPPED = 4


@dataclass
class Block:
    line: int
    lang: str
    code: str
    mark: str | None  # None, "skip" or "background"
    reason: str


def readme_blocks(text: str) -> list[Block]:
    """The fenced code blocks of a Markdown text, with the readme-test mark just above each."""
    blocks, lines, i = [], text.splitlines(), 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        start, lang, body = i, m.group(1), []
        i += 1
        while i < len(lines) and not lines[i].startswith("```"):
            body.append(lines[i])
            i += 1
        above = next((lines[j] for j in range(start - 1, -1, -1) if lines[j].strip()), "")
        mark = MARK.search(above)
        blocks.append(Block(start + 1, lang, "\n".join(body), mark.group(1) if mark else None,
                            mark.group(2) if mark else ""))
        i += 1
    return blocks


def shell_blocks() -> list[Block]:
    return [b for b in readme_blocks(README.read_text()) if b.lang in ("bash", "sh", "shell")]


def runnable_blocks() -> list[Block]:
    return [b for b in readme_blocks(README.read_text()) if b.lang in ("bash", "sh", "shell", "python")]


def test_skipped_blocks_are_few_and_say_why():
    skipped = [b for b in shell_blocks() if b.mark == "skip"]
    assert len(skipped) <= MAX_SKIPPED, [b.line for b in skipped]
    assert all(len(b.reason) > 10 for b in skipped), [b.line for b in skipped if len(b.reason) <= 10]
    assert [b for b in shell_blocks() if b.mark is None], "the README has a walkthrough to run"


def test_the_walkthrough_never_calls_a_bare_vigil():
    """After `make`, vigil lives in .venv/bin; a bare `vigil` is "command not found" on a fresh
    machine (seen in the first-hour test)."""
    bare = [(b.line, ln) for b in shell_blocks() for ln in b.code.splitlines()
            if re.match(r"^\s*(vigil|prefect)\s", ln)]
    assert not bare, bare


def _wait_for_port(port: int, proc: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"background block exited with {proc.returncode}: "
                                 f"{proc.stdout.read().decode(errors='replace') if proc.stdout else ''}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise AssertionError(f"nothing listens on port {port}")


@pytest.mark.slow
# Past the suite's 300 s default: the walkthrough took 131 s on a quiet machine and over 300 s on
# an overloaded one (2026-12-04); its own subprocess timeout (900 s) is the bound that matters.
@pytest.mark.timeout(960)
def test_the_walkthrough_runs_as_written(tmp_path):
    folder, home = tmp_path / "walkthrough", tmp_path / "home"
    folder.mkdir()
    home.mkdir()
    (folder / ".venv").symlink_to(ROOT / ".venv")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("VIGIL_", "PREFECT_", "ANTHROPIC_")) and k not in ("XDG_CONFIG_HOME",)}
    env.update(HOME=str(home), PREFECT_SERVER_ANALYTICS_ENABLED="false",
               PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="120")
    background: list[subprocess.Popen] = []
    script = ["set -euo pipefail"]
    try:
        for block in runnable_blocks():
            if block.mark == "skip":
                continue
            if block.mark == "background":
                proc = subprocess.Popen(["bash", "-c", block.code], cwd=folder, env=env,
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                        start_new_session=True)
                background.append(proc)
                port = int(re.search(r"--port\s+(\d+)", block.code).group(1))
                _wait_for_port(port, proc)
                continue
            script.append(f"echo '### README line {block.line}' >&2")
            if block.lang == "python":
                script.append(f".venv/bin/python - <<'README_PY'\n{block.code}\nREADME_PY")
            else:
                script.append(block.code)
        # Its own process group, killed below however the test ends: a walkthrough cut short
        # (a timeout) must not leave the Prefect server that its flow runs started behind.
        walkthrough = subprocess.Popen(["bash", "-c", "\n".join(script)], cwd=folder, env=env,
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                       start_new_session=True)
        background.append(walkthrough)
        stdout, stderr = walkthrough.communicate(timeout=900)
        assert walkthrough.returncode == 0, (stdout[-4000:], stderr[-4000:])
        assert "Traceback" not in stderr, stderr[-4000:]
    finally:
        for proc in background:
            with contextlib.suppress(ProcessLookupError):  # the group may have ended already
                os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(30)
