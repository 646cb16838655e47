"""The detection engine compiled to C with mypyc, used when it matches its sources.

Most of a scan's time after the Hyperscan pass is many small Python calls per candidate
(confirmation, context words, table cells, validators, masking). mypyc compiles the modules in
``COMPILED`` from their own source and type annotations to C extension modules: the same code,
without the interpreter's dispatch, and with the annotations checked at run time.

``vigil native build`` (run by ``make install``) compiles them into
``build/native/`` next to the ``vigil`` package (``VIGIL_NATIVE_DIR`` overrides) together with a
manifest: the interpreter they were built for and the SHA-256 of every source file of
``vigil.detect``. ``vigil.detect`` calls ``install`` before it imports anything else: the
compiled modules are loaded only when the manifest matches the running interpreter and every
source still has its hash, so an edited source never runs as stale compiled code (it runs as
Python, with a warning, until the next build). ``VIGIL_NATIVE=0`` always runs the Python
source. ``vigil native status`` says which is in use, and why.

A compiled module's ``__file__`` is its file in the build directory: it finds its package's
data with ``importlib.resources``, not next to ``__file__`` (a test checks).
"""

from __future__ import annotations

import hashlib
import importlib.abc
import importlib.machinery
import importlib.util
import json
import logging
import os
import shutil
import sys
import sysconfig
import tempfile
from pathlib import Path
from types import ModuleType
from typing import Any, Sequence

log = logging.getLogger(__name__)

COMPILED = ("engine", "backends", "structure", "validators", "masking", "html_tables", "sql_tables",
            "rules", "known", "language")
"""Modules of ``vigil.detect`` that are compiled: those a scan spends its Python time in. Not
``tlds`` or ``catalog``: ``python -m`` cannot run a compiled module."""

GROUP = "vigil_native"
"""mypyc's name for the shared library that holds the compiled code (``vigil_native__mypyc``)."""

MANIFEST = "manifest.json"
PACKAGE_DIR = Path(__file__).resolve().parent
ENV_SWITCH = "VIGIL_NATIVE"
ENV_DIR = "VIGIL_NATIVE_DIR"


def native_dir() -> Path:
    """Where the compiled modules are built and looked for."""
    override = os.environ.get(ENV_DIR)
    return Path(override) if override else PACKAGE_DIR.parents[1] / "build" / "native"


def source_hashes(package_dir: Path = PACKAGE_DIR) -> dict[str, str]:
    """SHA-256 of every Python source of ``vigil.detect``, by path relative to the package.
    All of them, not only the compiled ones: compiled code relies on the types of the modules
    it imports."""
    return {path.relative_to(package_dir).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(package_dir.rglob("*.py"))}


def interpreter() -> dict[str, str]:
    """What a compiled module is bound to: the interpreter's ABI and extension suffix."""
    return {"cache_tag": str(sys.implementation.cache_tag),
            "ext_suffix": str(sysconfig.get_config_var("EXT_SUFFIX"))}


def compiled_files(suffix: str) -> dict[str, str]:
    """The compiled modules and their shared library: module name -> file under the build
    directory, for extension suffix ``suffix``."""
    files = {f"vigil.detect.{m}": f"vigil/detect/{m}{suffix}" for m in COMPILED}
    files[f"{GROUP}__mypyc"] = f"{GROUP}__mypyc{suffix}"
    return files


def stale_reason(manifest: dict[str, Any], sources: dict[str, str], running: dict[str, str]) -> str | None:
    """Why the build described by ``manifest`` must not be loaded (None: it may)."""
    for key, value in running.items():
        if manifest.get(key) != value:
            return f"built for {key} {manifest.get(key)!r}, running {value!r}"
    built = manifest.get("sources")
    if not isinstance(built, dict):
        return "the manifest lists no sources"
    changed = sorted(p for p in sources.keys() | built.keys() if sources.get(p) != built.get(p))
    if changed:
        return "sources changed since the build: " + ", ".join(changed[:5]) + (" …" if len(changed) > 5 else "")
    files = manifest.get("files")
    if not isinstance(files, dict) or set(files) != set(compiled_files("")):
        return "the manifest does not list the compiled modules"
    return None


class _Finder(importlib.abc.MetaPathFinder):
    """Finds the compiled modules (and their shared library) by name in the native directory."""

    def __init__(self, files: dict[str, str]) -> None:
        self.files = files

    def find_spec(self, fullname: str, path: Sequence[str] | None = None,
                  target: ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        file = self.files.get(fullname)
        if file is None:
            return None
        loader = importlib.machinery.ExtensionFileLoader(fullname, file)
        return importlib.util.spec_from_file_location(fullname, file, loader=loader)


_state: dict[str, Any] = {"active": False, "reason": "not installed"}


def install() -> bool:
    """Load the compiled modules from now on if a build matches (see the module docstring).
    Returns whether they are used; ``status()`` says why not."""
    if _state["active"]:
        return True
    if os.environ.get(ENV_SWITCH, "1") == "0":
        _state["reason"] = f"{ENV_SWITCH}=0"
        return False
    directory = native_dir()
    try:
        manifest = json.loads((directory / MANIFEST).read_text())
    except FileNotFoundError:
        _state["reason"] = f"no build in {directory}"
        return False
    except (OSError, ValueError) as exc:
        _state["reason"] = f"unreadable manifest in {directory}: {exc}"
        log.warning("compiled detection modules not used: %s", _state["reason"])
        return False
    reason = stale_reason(manifest, source_hashes(), interpreter())
    if reason is not None:
        _state["reason"] = reason
        log.warning("compiled detection modules not used (the Python source runs): %s; "
                    "`make install` or `vigil native build` rebuilds them", reason)
        return False
    files = {name: str(directory / rel) for name, rel in manifest["files"].items()}
    missing = [f for f in files.values() if not Path(f).is_file()]
    if missing:
        _state["reason"] = f"missing {missing[0]}"
        log.warning("compiled detection modules not used: %s", _state["reason"])
        return False
    if any(f"vigil.detect.{m}" in sys.modules for m in COMPILED):
        _state["reason"] = "vigil.detect was imported before its compiled modules could be installed"
        return False
    sys.meta_path.insert(0, _Finder(files))
    _state.update(active=True, reason="compiled", directory=str(directory))
    return True


def status() -> dict[str, Any]:
    """Whether the compiled modules are in use, why (not), and which file each module runs from."""
    loaded = {m: getattr(sys.modules.get(f"vigil.detect.{m}"), "__file__", None) for m in COMPILED}
    return {**_state, "modules": loaded}


def _not_python(directory: str, names: list[str]) -> list[str]:
    """``shutil.copytree``'s ignore: everything but Python sources and the folders holding them."""
    return [n for n in names
            if n == "__pycache__" or not (n.endswith(".py") or os.path.isdir(os.path.join(directory, n)))]


def build(directory: Path | None = None) -> Path:
    """Compile ``COMPILED`` with mypyc (needs mypy, setuptools and a C compiler) into
    ``directory`` (default ``native_dir()``), replacing an earlier build only once this one
    is complete. Returns the manifest's path."""
    from mypyc.build import mypycify  # build-time only (the ``native`` extra)
    from setuptools import Distribution

    import mypy.version

    directory = directory or native_dir()
    paths = [f"vigil/detect/{m}.py" for m in COMPILED]
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".native-", dir=directory.parent))
    try:
        # mypy reads the package from a copy of its Python files: run in the directory that
        # holds ``vigil`` (site-packages after a pip install), it would take every module there
        # for the project's own (``typing_extensions.py`` "shadows library module").
        root = staging / "src"
        shutil.copytree(PACKAGE_DIR.parent, root / "vigil", ignore=_not_python)
        sources = source_hashes(root / "vigil" / "detect")  # what is compiled
        cwd = os.getcwd()
        try:
            os.chdir(root)  # mypyc names modules by their path from here
            extensions = mypycify(paths + ["--ignore-missing-imports"], opt_level="3", group_name=GROUP,
                                  target_dir=str(staging / "c"))
            dist = Distribution({"name": "vigil-native", "ext_modules": extensions})
            command = dist.get_command_obj("build_ext")
            command.build_lib = str(staging / "lib")  # type: ignore[attr-defined]
            command.build_temp = str(staging / "obj")  # type: ignore[attr-defined]
            dist.run_command("build_ext")
        finally:
            os.chdir(cwd)
        if source_hashes() != sources:
            raise RuntimeError("vigil/detect changed during the build; build again")
        files = compiled_files(interpreter()["ext_suffix"])
        out = staging / "out"
        for rel in files.values():
            (out / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(staging / "lib" / rel, out / rel)
        manifest = {**interpreter(), "mypy": mypy.version.__version__, "files": files, "sources": sources}
        (out / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
        old = directory.with_name(directory.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        if directory.exists():
            directory.rename(old)
        out.rename(directory)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)  # also after a failed build
    return directory / MANIFEST
