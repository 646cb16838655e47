"""Load another test folder's conftest under a unique module name, to share its fixtures and
helpers (a plain ``import scan.conftest`` can pick up an unrelated module named ``scan``)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

TESTS = Path(__file__).parent


def load_conftest(folder: str) -> ModuleType:
    """``tests/<folder>/conftest.py`` as module ``vigil_tests_<folder>_conftest`` (loaded once)."""
    name = f"vigil_tests_{folder}_conftest"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, TESTS / folder / "conftest.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]
