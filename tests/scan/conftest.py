"""Fixtures for end-to-end scan tests: a simulated org served in-process, a lake, and a helper
that runs the plain-Python scan (no Prefect) against them."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import pytest

from vigil.config import Config, parse_config
from vigil.lake import Lake
from vigil.scan.run import open_run
from vigil.scan.runner import run_scan
from vigil.scan.setup import load_run_settings
from vigil.simulator import Faults, SyncASGITransport, SyntheticOrg, build_app, default_key
from vigil.simulator.chaos import Chaos

KEY_ENV = "VIGIL_TEST_SIM_KEY"
NOW = float(int(time.time()) - 120)  # one "now" for every org of the session: identical orgs per seed
ARTIFACT_CUT = 256 * 1024  # where the simulator aborts an oversized code-artifact download


@pytest.fixture(autouse=True)
def _fingerprint_key(monkeypatch):
    monkeypatch.setenv("VIGIL_FINGERPRINT_KEY", "5a" * 32)


@dataclass
class Sim:
    """A simulated org, its in-process transport and the config of a lake under ``tmp``."""

    org: SyntheticOrg
    app: Any
    transport: SyncASGITransport
    lake_root: str
    chaos: Chaos | None = None
    settings: dict[str, Any] = field(default_factory=dict)

    def config(self, **sections: Any) -> Config:
        data = {"connector": {"org_id": self.org.parent.uuid, "base_url": "http://127.0.0.1:9",
                              "key_source": f"env:{KEY_ENV}"},
                "lake": {"root": self.lake_root, "compact_threshold": 0}, "rate": {"rpm": 1_000_000}}
        data.update(self.settings)
        data.update(sections)
        return parse_config(data)

    def scan(self, kind: str = "historical", days: int = 30, on_page=None, chat_page_size=None,
             config_path: str | None = None, session_page_size: int | None = None, **config_sections: Any):
        """Run one scan (plain Python); returns its RunSummary. ``config_path``: a config file
        (relative paths in it are resolved against its folder) instead of ``config_sections``."""
        settings = (load_run_settings(config_path) if config_path
                    else load_run_settings(config=self.config(**config_sections)))
        with open_run(settings, kind, days=days if kind == "historical" else None, on_page=on_page,
                      transport=self.transport, workers=4, chat_page_size=chat_page_size,
                      session_page_size=session_page_size,
                      client_options={"sleep": lambda s: None}) as run:
            run_scan(run)
        return run.summary

    def config_file(self, path, extra: str = "") -> str:
        """This sim's connection and lake as a TOML file at ``path`` (plus ``extra`` TOML)."""
        path.write_text(
            f'[connector]\norg_id = "{self.org.parent.uuid}"\nbase_url = "http://127.0.0.1:9"\n'
            f'key_source = "env:{KEY_ENV}"\n[lake]\nroot = "{self.lake_root}"\ncompact_threshold = 0\n'
            f"[rate]\nrpm = 1000000\n{extra}")
        return str(path)

    @property
    def lake(self) -> Lake:
        return Lake(self.lake_root)

    def rows(self, sql: str) -> list[dict[str, Any]]:
        return self.lake.query(sql).to_pylist()

    def content_rows(self) -> dict[str, set]:
        """What a scan landed, without run-specific columns: the rows SQL users see, by id."""
        return {
            "findings": {tuple(r.values()) for r in self.rows(
                "SELECT finding_id, object_kind, object_id, object_version, locator, infotype, detector, "
                "masked, fingerprint, chat_id, message_id, user_email, project_name FROM findings")},
            "chat_events": {tuple(r.values()) for r in self.rows(
                "SELECT event_id, event_kind, chat_id, message_id, file_id, author_role, model, "
                "scan_status, findings_count FROM chat_events")},
            "objects": {tuple(r.values()) for r in self.rows(
                "SELECT object_key, object_kind, object_id, object_version, status, reason, findings_count "
                "FROM objects")},
            "session_events": {tuple(r.values()) for r in self.rows(
                "SELECT event_id, event_kind, session_id, message_id, object_version, read_mode, scan_status, "
                "reason, findings_count FROM session_events")},
        }


    def table_counts(self) -> dict[str, int]:
        """Rows per table as the deduplicated views show them."""
        return {t: self.rows(f"SELECT count(*) AS n FROM {t}")[0]["n"]
                for t in ("findings", "chat_events", "objects", "activities")}


@pytest.fixture
def make_sim(tmp_path, monkeypatch):
    """``make_sim(seed, users, chats, faults=None, org=None, **generate_kw)`` → ``Sim``.

    Pass ``org`` to serve an existing org (e.g. with faults) to a new, empty lake: comparisons
    between runs use one org, because generating twice does not give byte-identical archives.
    """
    sims: list[Sim] = []

    def make(seed: int = 11, users: int = 10, chats: int = 40, faults: Faults | None = None,
             lake: str | None = None, org: SyntheticOrg | None = None, **kw: Any) -> Sim:
        if org is None:
            org = SyntheticOrg.generate(seed=seed, users=users, chats=chats, days=30, now=NOW, **kw)
        monkeypatch.setenv(KEY_ENV, default_key(org.seed).secret)
        # The seeded oversized site aborts its stream here rather than at 16 MiB: same behaviour,
        # a fraction of the bytes to read twice and inspect in every test.
        app = chaos = Chaos(build_app(org, rpm=1_000_000, faults=faults, code_artifact_max_bytes=ARTIFACT_CUT))
        sim = Sim(org, app, SyncASGITransport(app), lake or str(tmp_path / f"lake-{seed}-{len(sims)}"),
                  chaos=chaos)
        sims.append(sim)
        return sim

    yield make
    for sim in sims:
        sim.transport.close()


