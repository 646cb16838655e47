"""Build a scan session from a config file and a saved connector (what flows and the CLI call)."""

from __future__ import annotations

import contextlib
import logging
import posixpath
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from vigil import connector as connectors
from vigil.config import DEFAULT_LAKE_ROOT, Config, load_config
from vigil.evidence import EvidenceStore
from vigil.lake import Lake
from vigil.scan.fetch import Fetcher
from vigil.scan.inspect import Inspector
from vigil.scan.rules import RuleSet, load_rule_set
from vigil.scan.session import ScanSession

log = logging.getLogger(__name__)


class OrgNotReachable(connectors.ConnectorError):
    """The configured organization is not the one the key reads (or not visible to it)."""


@dataclass(frozen=True)
class RunSettings:
    """What a run needs to know before it opens anything (config errors surface here)."""

    config: Config
    binding: connectors.Binding
    forward_enabled: bool
    lookback: timedelta  # where the first forward run starts
    historical_days: int
    rule_set: RuleSet | None = None  # the organization's own detectors (None: load from config)

    @property
    def connector(self) -> str:
        return self.binding.record.name

    @property
    def org_id(self) -> str:
        return self.binding.record.org_id


def load_run_settings(config_path: str | None = None, connector_name: str | None = None, *,
                      config: Config | None = None) -> RunSettings:
    """The validated config and the connector it designates; raises ``ConfigError`` or
    ``ConnectorError`` (one line each) before any client, lake or Prefect server starts."""
    cfg = config or load_config(config_path)
    if connector_name:
        cfg = cfg.with_overrides({"connector.name": connector_name})
    binding = connectors.bind(cfg.connector, cfg.lake.root, cfg.evidence.target, DEFAULT_LAKE_ROOT)
    return RunSettings(cfg, binding, forward_enabled=cfg.forward.enabled,
                       lookback=timedelta(days=cfg.historical.days), historical_days=cfg.historical.days,
                       rule_set=load_rule_set(cfg.detection.rules))


def build_inspector(cfg: Config, evidence_root: str = "none", org_id: str | None = None,
                    rule_set: RuleSet | None = None) -> Inspector:
    """Detection engine (built-in rules plus the config's ``[detection] rules``, keyed
    fingerprints), extraction with the configured limits, evidence.

    Evidence of an organization goes under ``<evidence_root>/<org_id>/`` so deleting a
    connector can remove exactly its copies.
    """
    from vigil.detect import Engine, load_fingerprint_key  # noqa: PLC0415 - heavy imports
    from vigil.extract import ExtractLimits, extract  # noqa: PLC0415

    rule_set = rule_set or load_rule_set(cfg.detection.rules)
    engine = Engine.load(fingerprint_key=load_fingerprint_key(), custom_rules=rule_set.custom)
    log_engine_build()
    target = evidence_root
    if target != "none" and org_id:
        target = posixpath.join(target.rstrip("/"), org_id)
    evidence = EvidenceStore.from_target(target, dict(cfg.evidence.storage_options))
    limits = ExtractLimits(max_input_bytes=cfg.inspection.max_file_bytes)
    return Inspector(engine, extract, max_file_bytes=cfg.inspection.max_file_bytes,
                     file_types=cfg.inspection.file_types, limits=limits,
                     evidence=evidence, rules_version=rule_set.version)


def log_engine_build() -> None:
    """Say in the run's log whether the detection engine runs compiled: its Python source takes
    35-40% more CPU time (docs/dependencies.md), and only a warning tells an operator why."""
    from vigil.detect import native  # noqa: PLC0415

    state = native.status()
    if state["active"]:
        log.info("detection engine: compiled (%s)", state.get("directory"))
    elif state["reason"] == f"{native.ENV_SWITCH}=0":
        log.info("detection engine: Python source (%s)", state["reason"])
    else:
        log.warning("detection engine: Python source, not compiled (%s); `vigil native build` compiles it",
                    state["reason"])


def check_org(client: Any) -> None:
    """Stop unless the key reads the configured organization (one request).

    The chat and activity endpoints answer for the key's own organization whatever org the
    config names, so a wrong org id would scan the wrong organization silently.
    """
    from vigil.api.errors import NotFoundError, PermissionDeniedError  # noqa: PLC0415

    try:
        next(iter(client.org_users(limit=1).pages()))
    except (NotFoundError, PermissionDeniedError):
        raise OrgNotReachable(f"organization {client.org_id} is not the one this key reads (or is not "
                              "visible to it): check connector.org_id against `vigil connect`") from None


@contextlib.contextmanager
def open_session(settings: RunSettings, *, transport: Any = None, workers: int = 8,
                 inspector: Inspector | None = None, chat_page_size: int | None = None,
                 session_page_size: int | None = None,
                 client_options: dict[str, Any] | None = None, shared_budget: bool = True,
                 ) -> Iterator[ScanSession]:
    """A ready session for one run, closed (client, threads) on exit.

    ``transport`` (an httpx transport) lets tests talk to an in-process simulator;
    ``chat_page_size`` (default 200), ``session_page_size`` (default 500) and ``client_options``
    (extra ``ComplianceClient`` arguments such as ``sleep``) are for tests and benchmarks. With ``shared_budget`` the
    client's requests come out of the organization's host-wide budget (``vigil.scan.budget``).
    """
    from vigil.api import ComplianceClient  # noqa: PLC0415

    cfg = settings.config
    record = settings.binding.record
    key = connectors.resolve_key(record.key_source)
    options = dict(client_options or {})
    if shared_budget and "limiter" not in options:
        from vigil.scan.budget import FileTokenBucket, SharedRateLimiter, budget_file  # noqa: PLC0415

        bucket = FileTokenBucket(budget_file(connectors.vigil_home(), record.org_id), cfg.rate.rpm)
        options["limiter"] = SharedRateLimiter(cfg.rate.rpm, bucket,
                                               **({"sleep": options["sleep"]} if "sleep" in options else {}))
    client = ComplianceClient(record.org_id, key, base_url=record.base_url, rpm=cfg.rate.rpm,
                              transport=transport, **options)
    lake = Lake(settings.binding.lake_root, storage_options=dict(cfg.lake.storage_options),
                compact_threshold=cfg.lake.compact_threshold)
    sizes = {k: v for k, v in (("chat_page_size", chat_page_size), ("session_page_size", session_page_size))
             if v is not None}
    fetcher = Fetcher(client, **sizes)
    session = ScanSession(fetcher=fetcher, lake=lake,
                          inspector=inspector or build_inspector(cfg, settings.binding.evidence, record.org_id,
                                                                 settings.rule_set),
                          scope=cfg.scope, org_id=record.org_id, workers=workers,
                          local_session_lookback=timedelta(days=cfg.sessions.local_lookback_days),
                          local_session_reread=timedelta(minutes=cfg.sessions.local_reread_minutes),
                          directory_refresh=timedelta(minutes=cfg.directory.refresh_minutes))
    try:
        yield session
    finally:
        session.close()
        if transport is None:  # a caller's transport stays open for the caller's next run
            client.close()
