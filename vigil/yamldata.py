"""Reading the YAML data files vigil ships (detection rules, validator tables, example values,
file types).

PyYAML's pure-Python parser took 0.48 s of every engine load (every scan, ``vigil inspect``
and worker process) for the rule files alone; libyaml's (``CSafeLoader``, in PyYAML's wheels)
takes 0.06 s and builds the same objects (``tests/detect/test_catalog.py`` compares them). User
configuration keeps the pure-Python ``safe_load`` and its error messages.
"""

from __future__ import annotations

from typing import Any

import yaml

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_data_yaml(text: str) -> Any:
    """``yaml.safe_load(text)``, with libyaml's parser when PyYAML was built with it."""
    return yaml.load(text, Loader=_LOADER)  # noqa: S506 - a safe loader (CSafeLoader or SafeLoader)
