"""Helpers for benchmarks that compare git revisions of vigil on the same documents
(``detect_instructions.py``, ``detect_ab.py``)."""

from __future__ import annotations

import contextlib
import os
import pickle
import subprocess
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
KEY = b"vigil-bench-fingerprint-key-0001"
"""The fingerprint key ``bench/detect.py`` loads the engine with."""


def speed_texts(kind: str, size_bytes: int) -> list[str]:
    """The texts of the bench's throughput corpus of ``kind`` (``detect_corpus.speed_corpus``),
    about ``size_bytes``."""
    sys.path.insert(0, str(REPO / "bench"))
    from detect_corpus import speed_corpus

    return [d.text for d in speed_corpus(kind, size_bytes)]


def pickle_speed_corpora(work: Path, kinds: Iterable[str], size_bytes: int) -> dict[str, Path]:
    """``speed_texts`` of each kind pickled under ``work``: kind -> file."""
    corpora = {}
    for kind in kinds:
        corpora[kind] = work / f"{kind}.pkl"
        corpora[kind].write_bytes(pickle.dumps(speed_texts(kind, size_bytes)))
    return corpora


_BUILD_NATIVE = """import sys
sys.path.insert(0, sys.argv[1])
from revisions import import_tree
import_tree(sys.argv[2])
from vigil.detect.native import build
build()
"""


def _own_build_env() -> dict[str, str]:
    """The environment of a tree's build: its own build directory, the Python source running."""
    env = {k: v for k, v in os.environ.items() if k != "VIGIL_NATIVE_DIR"}
    return {**env, "VIGIL_NATIVE": "0"}


@contextlib.contextmanager
def revision_trees(work: Path, revs: list[str], native: bool = True) -> Iterator[dict[str, Path]]:
    """Each revision checked out in a detached ``git worktree`` under ``work`` (removed on exit):
    rev -> tree. With ``native``, a revision that has the compiled engine (``vigil.detect.native``)
    gets it built in its tree (about a minute each), so that it runs as it ships."""
    trees: dict[str, Path] = {}
    try:
        for i, rev in enumerate(revs):
            trees[rev] = work / f"tree-{i}"
            subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(trees[rev]), rev],
                           check=True, capture_output=True)
            if native and (trees[rev] / "vigil" / "detect" / "native.py").exists():
                subprocess.run([sys.executable, "-c", _BUILD_NATIVE, str(REPO / "bench"), str(trees[rev])],
                               check=True, capture_output=True, env=_own_build_env())
        yield trees
    finally:
        for tree in trees.values():
            subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(tree)],
                           check=False, capture_output=True)


def import_tree(root: str) -> None:
    """Make ``import vigil`` load the tree under ``root``, not the installed (editable) vigil."""
    sys.meta_path[:] = [f for f in sys.meta_path if "editable" not in repr(f).lower()]
    sys.path.insert(0, root)
    import vigil

    if not vigil.__file__.startswith(root):
        raise SystemExit(f"imported {vigil.__file__}, not the tree under {root}")
