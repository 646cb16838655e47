"""The compiled detection engine (vigil.detect.native): used when built and current, never stale,
and finding exactly what the Python source finds."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from vigil.detect import native
from vigil.detect.native import COMPILED, compiled_files, interpreter, source_hashes, stale_reason

REPO = Path(__file__).resolve().parents[2]
SCAN_CORPUS = r"""
import json, sys
sys.path.insert(0, sys.argv[1])
from vigil.detect import Engine, native
docs = json.loads(sys.stdin.read())
out = {"status": native.status()["active"]}
for backend in ("hyperscan", "python"):
    engine = Engine.load(b"k" * 32, backend=backend, min_likelihood="VERY_UNLIKELY")
    out[backend] = [[f.to_dict() for f in engine.scan(d)] for d in docs]
print(json.dumps(out))
"""


def _run(code: str, *args: str, stdin: str = "", **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code, *args], input=stdin, capture_output=True, text=True,
                          env={**os.environ, **env}, cwd=REPO, timeout=600, check=False)


def _manifest(**changes: object) -> dict:
    manifest = {**interpreter(), "sources": source_hashes(), "files": compiled_files(".so")}
    manifest.update(changes)
    return manifest


def test_a_current_build_may_be_loaded() -> None:
    assert stale_reason(_manifest(), source_hashes(), interpreter()) is None


def test_an_edited_source_is_not_run_compiled() -> None:
    sources = source_hashes()
    edited = {**sources, "engine.py": "0" * 64}
    assert "engine.py" in stale_reason(_manifest(), edited, interpreter())
    added = {**sources, "new_module.py": "1" * 64}
    assert "new_module.py" in stale_reason(_manifest(), added, interpreter())
    removed = dict(sources)
    removed.pop("model.py")
    assert "model.py" in stale_reason(_manifest(), removed, interpreter())


def test_another_interpreter_is_not_loaded() -> None:
    assert "cache_tag" in stale_reason(_manifest(cache_tag="cpython-312"), source_hashes(), interpreter())
    assert "ext_suffix" in stale_reason(_manifest(ext_suffix=".abi3.so"), source_hashes(), interpreter())
    assert "compiled modules" in stale_reason(_manifest(files={}), source_hashes(), interpreter())
    assert "no sources" in stale_reason(_manifest(sources=None), source_hashes(), interpreter())


def test_compiled_modules_do_not_look_for_data_next_to_their_file() -> None:
    for module in COMPILED:
        assert "__file__" not in (REPO / "vigil" / "detect" / f"{module}.py").read_text(), module


def test_scans_run_the_compiled_modules() -> None:
    """make install builds them and make test runs on them; VIGIL_NATIVE=0 opts out."""
    import vigil.detect.engine  # noqa: F401

    status = native.status()
    if os.environ.get("VIGIL_NATIVE") == "0":
        assert not status["active"] and all(f.endswith(".py") for f in status["modules"].values())
        return
    assert status["active"], f"the compiled engine is not in use: {status['reason']} (run make install)"
    suffix = interpreter()["ext_suffix"]
    assert all(f.endswith(suffix) for f in status["modules"].values()), status["modules"]


@pytest.mark.skipif(os.environ.get("VIGIL_NATIVE") == "0", reason="no compiled build to compare with")
def test_a_stale_build_runs_the_python_source(tmp_path: Path) -> None:
    built = native.native_dir()
    copy = tmp_path / "native"
    shutil.copytree(built, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["sources"]["structure.py"] = "0" * 64
    (copy / "manifest.json").write_text(json.dumps(manifest))
    code = "import json; import vigil.detect.engine; from vigil.detect import native; print(json.dumps(native.status()))"
    run = _run(code, VIGIL_NATIVE_DIR=str(copy))
    assert run.returncode == 0, run.stderr
    status = json.loads(run.stdout)
    assert not status["active"] and "structure.py" in status["reason"]
    assert all(f.endswith(".py") for f in status["modules"].values())
    assert "compiled detection modules not used" in run.stderr and "structure.py" in run.stderr


def test_an_installed_package_builds_next_to_other_top_level_modules(tmp_path: Path) -> None:
    """``vigil native build`` after a pip install: ``vigil`` sits in site-packages among other
    top-level modules, which mypy must not take for the project's own (run there, it stopped at
    ``typing_extensions.py``: "shadows library module"). The build then loads."""
    import typing_extensions

    site = tmp_path / "site-packages"
    shutil.copytree(REPO / "vigil", site / "vigil", ignore=shutil.ignore_patterns("__pycache__", "*.so"))
    shutil.copy(typing_extensions.__file__, site / "typing_extensions.py")
    env = {**os.environ, "PYTHONPATH": str(site)}
    env.pop(native.ENV_DIR, None)
    code = ("import sys, vigil; assert vigil.__file__.startswith(sys.argv[1]), vigil.__file__; "
            "from vigil.detect.native import build; print(build())")
    run = subprocess.run([sys.executable, "-c", code, str(site)], capture_output=True, text=True, cwd=tmp_path,
                         env={**env, "VIGIL_NATIVE": "0"}, timeout=900, check=False)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    assert run.stdout.strip() == str(site / "build" / "native" / "manifest.json")
    code = "import json; from vigil.detect import Engine, native; print(json.dumps(native.status()))"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, env=env,
                         timeout=600, check=False)
    assert run.returncode == 0, run.stderr
    status = json.loads(run.stdout)
    assert status["active"], status
    assert all(path.startswith(str(site / "build" / "native")) for path in status["modules"].values())


def _corpus() -> list[str]:
    """Rule examples, the bench's chat and code documents and bench/eval's labelled documents:
    every rule, tables, lists, escapes and non-ASCII text."""
    sys.path.insert(0, str(REPO / "bench"))
    from detect_corpus import speed_corpus
    from eval.corpus import generate

    from vigil.detect.rules import load_builtin_rules

    docs = []
    for rule in load_builtin_rules():
        for kind in ("positive", "negative"):
            docs.extend(rule.examples.get(kind, []))
    docs += [d.text for d in speed_corpus("chat", 150_000)] + [d.text for d in speed_corpus("code", 150_000)]
    docs += [d.text for d in generate(docs=300, free_docs=30)]
    return docs


@pytest.mark.skipif(os.environ.get("VIGIL_NATIVE") == "0", reason="no compiled build to compare with")
def test_the_compiled_engine_finds_what_the_python_source_finds() -> None:
    """The Python source is the oracle: the same findings, field by field, on both backends."""
    docs = _corpus()
    assert len(docs) > 1000
    compiled = _run(SCAN_CORPUS, str(REPO), stdin=json.dumps(docs))
    source = _run(SCAN_CORPUS, str(REPO), stdin=json.dumps(docs), VIGIL_NATIVE="0")
    assert compiled.returncode == 0, compiled.stderr[-2000:]
    assert source.returncode == 0, source.stderr[-2000:]
    compiled_out, source_out = json.loads(compiled.stdout), json.loads(source.stdout)
    assert compiled_out.pop("status") is True and source_out.pop("status") is False
    found = sum(len(f) for f in source_out["hyperscan"])
    assert found > 1000
    for backend in ("hyperscan", "python"):
        for doc, mine, theirs in zip(docs, compiled_out[backend], source_out[backend]):
            assert mine == theirs, (backend, doc[:200])
