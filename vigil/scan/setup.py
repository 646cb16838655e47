"""Build a scan session from a config file and a saved connector (what flows and the CLI call)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from vigil import connector as connectors
from vigil.config import Config, load_config
from vigil.evidence import EvidenceStore
from vigil.lake import Lake
from vigil.scan.fetch import Fetcher
from vigil.scan.inspect import Inspector
from vigil.scan.session import ScanSession

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunSettings:
    """The run-level settings the flows need besides the session."""

    forward_enabled: bool
    lookback: timedelta  # where the first forward run starts
    historical_days: int


def load_run_config(config_path: str | None, connector_name: str | None = None) -> Config:
    """The validated config; ``connector_name`` selects a saved connector instead of the file's."""
    cfg = load_config(config_path)
    if connector_name:
        cfg = cfg.with_overrides({"connector.name": connector_name})
    return cfg


def build_inspector(cfg: Config) -> Inspector:
    """Detection engine (keyed fingerprints), extraction with the configured limits, evidence."""
    from vigil.detect import Engine, load_fingerprint_key  # noqa: PLC0415 - heavy imports
    from vigil.extract import ExtractLimits, extract  # noqa: PLC0415

    engine = Engine.load(fingerprint_key=load_fingerprint_key())
    evidence = EvidenceStore.from_target(cfg.evidence.target, dict(cfg.evidence.storage_options))
    limits = ExtractLimits(max_input_bytes=cfg.inspection.max_file_bytes)
    return Inspector(engine, extract, max_file_bytes=cfg.inspection.max_file_bytes,
                     file_types=cfg.inspection.file_types, limits=limits,
                     evidence=evidence)


@contextlib.contextmanager
def open_session(config_path: str | None = None, connector_name: str | None = None, *,
                 config: Config | None = None, transport: Any = None, workers: int = 8,
                 inspector: Inspector | None = None, chat_page_size: int | None = None,
                 client_options: dict[str, Any] | None = None,
                 ) -> Iterator[tuple[ScanSession, RunSettings]]:
    """A ready session for one run, closed (client, threads) on exit.

    ``transport`` (an httpx transport) lets tests talk to an in-process simulator;
    ``chat_page_size`` (default 1000, the API's maximum) and ``client_options`` (extra
    ``ComplianceClient`` arguments such as ``sleep``) are for tests and benchmarks.
    """
    from vigil.api import ComplianceClient  # noqa: PLC0415

    cfg = config or load_run_config(config_path, connector_name)
    record = connectors.for_settings(cfg.connector, cfg.lake.root)
    key = connectors.resolve_key(record.key_source)
    client = ComplianceClient(record.org_id, key, base_url=record.base_url, rpm=cfg.rate.rpm,
                              transport=transport, **(client_options or {}))
    lake = Lake(cfg.lake.root, storage_options=dict(cfg.lake.storage_options),
                compact_threshold=cfg.lake.compact_threshold)
    fetcher = Fetcher(client) if chat_page_size is None else Fetcher(client, chat_page_size=chat_page_size)
    session = ScanSession(fetcher=fetcher, lake=lake,
                          inspector=inspector or build_inspector(cfg), scope=cfg.scope,
                          org_id=record.org_id, workers=workers)
    settings = RunSettings(forward_enabled=cfg.forward.enabled,
                           lookback=timedelta(days=cfg.historical.days),
                           historical_days=cfg.historical.days)
    try:
        yield session, settings
    finally:
        session.close()
        if transport is None:  # a caller's transport stays open for the caller's next run
            client.close()
