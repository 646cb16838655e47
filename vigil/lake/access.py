"""The lake from a notebook or a command: by path, URL, saved connector or config.

```python
import vigil.lake
con = vigil.lake.open("acme")               # a saved connector's lake (or a path / fsspec URL)
con.sql("SELECT infotype, count(*) FROM findings GROUP BY ALL").show()
df = vigil.lake.frame("SELECT * FROM incidents WHERE status = 'open'", "acme")   # pandas
```
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import duckdb

from vigil.lake.lake import DEFAULT_ROOT, Lake


def resolve(target: str | os.PathLike[str] | None = None, *, connector: str | None = None,
            config: str | os.PathLike[str] | None = None) -> Lake:
    """The ``Lake`` meant by the arguments, first match wins:

    1. ``target`` naming a saved connector (``vigil connect --name``) → that connector's lake;
    2. ``target`` as a folder or fsspec URL;
    3. ``connector`` → that saved connector's lake;
    4. ``config`` → the lake of the connector it designates (its own ``lake.root`` with an
       inline ``org_id``), with its storage options;
    5. the saved connector ``default``, else ``./data``.
    """
    from vigil import connector as connectors  # noqa: PLC0415 - connector imports the lake lazily

    if target is not None:
        name = os.fspath(target)
        if _is_connector_name(name) and name in connectors.list_connectors():
            return Lake(connectors.load(name).lake_root)
        return Lake(name)
    if connector:
        return Lake(connectors.load(connector).lake_root)
    if config is not None:
        from vigil.config import load_config  # noqa: PLC0415
        from vigil.scan.setup import load_run_settings  # noqa: PLC0415

        cfg = load_config(Path(config))
        settings = load_run_settings(config=cfg)
        return Lake(settings.binding.lake_root, storage_options=dict(cfg.lake.storage_options),
                    compact_threshold=cfg.lake.compact_threshold)
    if connectors.DEFAULT_NAME in connectors.list_connectors():
        return Lake(connectors.load(connectors.DEFAULT_NAME).lake_root)
    return Lake(DEFAULT_ROOT)


def _is_connector_name(name: str) -> bool:
    return "/" not in name and "://" not in name and name not in (".", "..")


def open(target: str | os.PathLike[str] | None = None, **kw: Any) -> duckdb.DuckDBPyConnection:  # noqa: A001
    """A DuckDB connection with the lake's views (``findings``, ``incidents``, …); see ``resolve``."""
    return resolve(target, **kw).connect()


def frame(sql: str, target: str | os.PathLike[str] | None = None, params: list[Any] | None = None,
          **kw: Any) -> Any:
    """Run ``sql`` over the lake's views and return a pandas ``DataFrame``."""
    con = open(target, **kw)
    try:
        return con.sql(sql, params=params).df()
    finally:
        con.close()
