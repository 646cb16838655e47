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


PREFECT_SERVER_FRAME = re.compile(r'File "[^"]*/prefect/server/')
OUR_FRAME = re.compile(r'File "[^"]*/(vigil|flows|tasks)/[^"]*\.py"')
CHAIN_LINK = ("During handling of the above exception", "The above exception was the direct cause")


def tracebacks_of_our_own(stderr: str) -> list[str]:
    """The tracebacks in ``stderr`` other than those Prefect's temporary server logs about itself.

    When a ``vigil`` command's flow run stops its temporary Prefect server, the server's
    background services can log a cancelled database write (``task_run_recorder.flush`` ->
    ``CancelledError`` closing the aiosqlite connection; seen in CI on 2026-12-04, after the
    command had succeeded). That noise is Prefect's own (its frames are under
    ``prefect/server/``), not vigil's: a chain of tracebacks passes only when the one raised last
    has a frame there and none of them has a frame in vigil's code."""
    chains: list[list[list[str]]] = []  # chains of tracebacks, each a list of lines
    linked = False  # the last traceback ended with "During handling of the above exception ..."
    lines = stderr.splitlines()
    i = 0
    while i < len(lines):
        if not lines[i].lstrip().startswith("Traceback (most recent call last):"):
            i += 1
            continue
        block = [lines[i]]
        i += 1
        while i < len(lines) and (not lines[i].strip() or lines[i][:1].isspace()):
            block.append(lines[i])  # frames and their source lines
            i += 1
        block.extend(lines[i:i + 1])  # the exception line
        i += 1
        if linked:
            chains[-1].append(block)
        else:
            chains.append([block])
        while i < len(lines) and not lines[i].strip():
            i += 1
        linked = i < len(lines) and lines[i].startswith(CHAIN_LINK)
    ours = []
    for chain in chains:
        text, last = "\n".join(sum(chain, [])), "\n".join(chain[-1])
        if OUR_FRAME.search(text) or not PREFECT_SERVER_FRAME.search(last):
            ours.append(text)
    return ours


PREFECT_SHUTDOWN_NOISE = """\
21:42:51.394 | INFO    | prefect - Stopping temporary server on http://127.0.0.1:8970
Traceback (most recent call last):
  File "/x/.venv/lib/python3.11/site-packages/prefect/server/database/interface.py", line 168, in session_context
    yield session
  File "/x/.venv/lib/python3.11/site-packages/sqlalchemy/pool/base.py", line 370, in _close_connection
    self._dialect.do_terminate(connection)
asyncio.exceptions.CancelledError: Cancelled via cancel scope 7fa5172959e0

During handling of the above exception, another exception occurred:

Traceback (most recent call last):
  File "/x/.venv/lib/python3.11/site-packages/sqlalchemy/util/concurrency.py", line 209, in greenlet_spawn
    value = await result
asyncio.exceptions.CancelledError: Cancelled via cancel scope 7fa5172959e0

During handling of the above exception, another exception occurred:

Traceback (most recent call last):
  File "/x/.venv/lib/python3.11/site-packages/prefect/server/services/task_run_recorder.py", line 643, in flush
    await record_bulk_task_run_events([item.event for item in batch])
asyncio.exceptions.CancelledError: Cancelled via cancel scope 7fa5172959e0
### README line 238
"""

OUR_TRACEBACK = """\
Traceback (most recent call last):
  File "/x/vigil/cli/main.py", line 12, in main
    run()
ValueError: boom
"""

CLIENT_TRACEBACK = """\
Traceback (most recent call last):
  File "/x/.venv/lib/python3.11/site-packages/prefect/flow_engine.py", line 12, in run
    x()
RuntimeError: the flow run crashed
"""


def test_only_prefect_server_shutdown_noise_passes_the_stderr_check():
    assert tracebacks_of_our_own(PREFECT_SHUTDOWN_NOISE) == []
    assert tracebacks_of_our_own("all fine\n") == []
    for bad in (OUR_TRACEBACK, CLIENT_TRACEBACK):
        assert len(tracebacks_of_our_own(bad)) == 1
        # next to the noise, and chained onto it: still caught
        assert len(tracebacks_of_our_own(PREFECT_SHUTDOWN_NOISE + bad)) == 1
        chained = PREFECT_SHUTDOWN_NOISE.replace("### README line 238\n", "\nDuring handling of the above exception, another exception occurred:\n\n") + bad
        assert len(tracebacks_of_our_own(chained)) == 1


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
        ours = tracebacks_of_our_own(stderr)
        # Each flagged chain from its first line: the tail of stderr alone (what this printed
        # until 2026-12-05) cut off the start of the one chain CI flagged, and with it the frame
        # that decided it.
        assert not ours, "\n\n=====\n\n".join(chain[:6000] for chain in ours)
    finally:
        for proc in background:
            with contextlib.suppress(ProcessLookupError):  # the group may have ended already
                os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(30)
