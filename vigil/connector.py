"""Saved connectors: which org to read, its API base URL and where its key lives — never the key.

Records live in ``$VIGIL_HOME/connectors/<name>.json`` (``VIGIL_HOME`` defaults to
``~/.config/vigil``). ``reauth`` swaps in a rotated key only after checking that it reaches the
same org; ``delete`` removes the record and, only when asked, the connector's lake data.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import uuid
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path

from vigil import paths
from vigil.api.keys import ApiKey
from vigil.config import DEFAULT_BASE_URL, DEFAULT_KEY_SOURCE, KEY_SOURCE_RE

DEFAULT_NAME = "default"
_NAME_RE = re.compile(r"^[A-Za-z0-9_.-]+$")

# A probe takes (key, base_url, connector org id) and returns the org ids the key can read.
OrgProbe = Callable[[ApiKey, str, str], Iterable[str]]


class ConnectorError(RuntimeError):
    """A connector operation failed; the message never contains a key."""


class ConnectorNotFound(ConnectorError):
    """No saved connector of that name."""


class KeyUnavailable(ConnectorError):
    """The key source is empty or unreachable."""


class OrgMismatch(ConnectorError):
    """A new key reaches a different org than the connector's."""


@dataclass(frozen=True)
class ConnectorRecord:
    """A saved connector. ``lake_root`` is where its data lands (absolute for local paths);
    ``evidence`` where evidence copies go (``none``, a folder or an fsspec URL)."""

    name: str
    org_id: str
    base_url: str = DEFAULT_BASE_URL
    key_source: str = DEFAULT_KEY_SOURCE
    lake_root: str = "data"
    evidence: str = "none"
    created_at: str = field(default_factory=lambda: _now())
    updated_at: str = field(default_factory=lambda: _now())

    def __post_init__(self) -> None:
        _check_name(self.name)
        if not self.org_id or not isinstance(self.org_id, str):
            raise ConnectorError("org_id is required")
        _check_key_source(self.key_source)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _check_name(name: str) -> None:
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise ConnectorError("connector names use letters, digits, '.', '_' or '-'")


def _check_key_source(key_source: str) -> None:
    if not isinstance(key_source, str) or not KEY_SOURCE_RE.match(key_source):
        # Never echo the value: it may be a pasted key.
        raise ConnectorError("key_source must be 'env:VARIABLE' or 'prefect-secret:BLOCK_NAME'; "
                             "the key itself is never saved")


def vigil_home() -> Path:
    """vigil's own folder (``vigil.paths.vigil_home``: ``$VIGIL_HOME`` or ``~/.config/vigil``)."""
    return paths.vigil_home()


def connectors_dir() -> Path:
    return vigil_home() / "connectors"


def record_path(name: str) -> Path:
    _check_name(name)
    return connectors_dir() / f"{name}.json"


def absolute_location(location: str) -> str:
    """A local path made absolute; URLs and ``none`` unchanged."""
    if location == "none" or "://" in location:
        return location
    return os.path.abspath(os.path.expanduser(location))


def save(record: ConnectorRecord) -> Path:
    """Create or replace a saved connector (atomically, readable by the owner only)."""
    record = replace(record, lake_root=absolute_location(record.lake_root),
                     evidence=absolute_location(record.evidence), updated_at=_now())
    path = record_path(record.name)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{record.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(asdict(record), f, indent=2, sort_keys=True)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def load(name: str = DEFAULT_NAME) -> ConnectorRecord:
    """The saved connector ``name``."""
    path = record_path(name)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise ConnectorNotFound(f"no connector named {name!r} in {connectors_dir()} "
                                "(create one with `vigil connect`)") from None
    except ValueError:
        raise ConnectorError(f"connector file {path} is not valid JSON") from None
    known = {f for f in ConnectorRecord.__dataclass_fields__}
    return ConnectorRecord(**{k: v for k, v in data.items() if k in known})


def list_connectors() -> list[str]:
    """Names of the saved connectors."""
    directory = connectors_dir()
    if not directory.is_dir():
        return []
    return sorted(p.stem for p in directory.glob("*.json"))


def resolve_key(key_source: str) -> ApiKey:
    """Read the key from ``env:VARIABLE`` or ``prefect-secret:BLOCK_NAME``.

    Prefect is imported only for the ``prefect-secret`` branch, so ``vigil`` stays Prefect-free
    when keys come from the environment.
    """
    _check_key_source(key_source)
    kind, _, name = key_source.partition(":")
    if kind == "env":
        key = ApiKey.from_env(name)
        if key is None:
            raise KeyUnavailable(f"environment variable {name} is not set")
        return key
    try:
        from prefect.blocks.system import Secret  # noqa: PLC0415 - optional dependency path
    except ImportError:
        raise KeyUnavailable("key_source 'prefect-secret:...' needs Prefect installed") from None
    try:
        value = Secret.load(name).get()
    except Exception as exc:  # noqa: BLE001 - report the kind of failure, never its payload
        raise KeyUnavailable(f"cannot load Prefect Secret block {name!r} ({type(exc).__name__})") from None
    if not isinstance(value, str) or not value.strip():
        raise KeyUnavailable(f"Prefect Secret block {name!r} does not hold a key string")
    return ApiKey(value)


def api_org_probe(transport=None) -> OrgProbe:
    """A probe that runs ``vigil connect``'s checks (``vigil.api.diagnostics``) with the new key.

    Returns ``[org_id]`` when the key reaches the org and holds all three read scopes, ``[]``
    when the org is not visible to the key (a key of another org), and raises
    ``ConnectorError`` naming the problem otherwise (authentication failed, scopes missing,
    network). Works for parent orgs too, which the organizations list leaves out.
    ``transport`` is an optional httpx transport (tests). Nothing raised contains the key.
    """

    def probe(key: ApiKey, base_url: str, org_id: str) -> list[str]:
        # only needed for reauth; keeps importing vigil.connector cheap
        from vigil.api.client import ComplianceClient  # noqa: PLC0415
        from vigil.api.diagnostics import ExitCode, check_connection  # noqa: PLC0415

        with ComplianceClient(org_id, key, base_url, transport=transport, max_retries=2) as client:
            report = check_connection(client)
        code = report.exit_code
        if code == ExitCode.OK:
            return [org_id]
        if code == ExitCode.ORG_NOT_FOUND:
            return []
        if code == ExitCode.AUTH_FAILED:
            raise ConnectorError("authentication failed with the new key (HTTP 401)")
        if code == ExitCode.SCOPE_MISSING:
            raise ConnectorError(f"the new key lacks scopes: {', '.join(report.missing_scopes)}")
        raise ConnectorError(f"could not verify the new key: {report.summary}")

    return probe


def _canonical_org(org_id: str) -> str:
    try:
        return str(uuid.UUID(org_id.strip()))
    except ValueError:
        return org_id.strip()


def reauth(
    name: str,
    new_key_source: str,
    probe: OrgProbe | None = None,
) -> ConnectorRecord:
    """Point connector ``name`` at a rotated key, after checking that the key reaches its org.

    ``probe(key, base_url, org_id)`` returns the org ids the new key can read (default:
    ``api_org_probe()``, one API request). Refuses with ``OrgMismatch`` when the connector's org
    is not among them; the saved record is left untouched on any failure.
    """
    record = load(name)
    _check_key_source(new_key_source)
    key = resolve_key(new_key_source)
    probe = probe or api_org_probe()
    reachable = {_canonical_org(str(o)) for o in probe(key, record.base_url, record.org_id)}
    if _canonical_org(record.org_id) not in reachable:
        raise OrgMismatch(f"the new key does not reach org {record.org_id} (it reaches "
                          f"{', '.join(sorted(reachable)) or 'no org'}); connector {name!r} unchanged")
    save(replace(record, key_source=new_key_source))
    return load(name)


@dataclass(frozen=True)
class Binding:
    """The connector a scan reads and the storage that belongs to it."""

    record: ConnectorRecord
    lake_root: str
    evidence: str
    saved: bool  # a saved connector (False: the config's [connector] section with an org_id)


def bind(settings, lake_root: str, evidence: str, default_lake: str = "data") -> Binding:
    """The connector a config designates, with the lake and evidence root it was saved with.

    ``settings`` is a ``vigil.config.ConnectorSettings``; ``lake_root``/``evidence`` are the
    config's values. A saved connector's state is where it was saved: a config that names
    another lake or evidence root for it is refused (``ConnectorError``), so one connector's
    cursors never meet another's lake. With ``org_id`` in the config, that section is the
    connector and the config's lake and evidence are used.
    """
    if settings.org_id:
        record = ConnectorRecord(name=settings.name, org_id=settings.org_id, base_url=settings.base_url,
                                 key_source=settings.key_source, lake_root=lake_root, evidence=evidence)
        return Binding(record, lake_root, evidence, saved=False)
    record = load(settings.name)
    for key, configured, saved, default in (("lake.root", lake_root, record.lake_root, default_lake),
                                            ("evidence.target", evidence, record.evidence, "none")):
        if configured != default and absolute_location(configured) != saved:
            raise ConnectorError(
                f"{key}: connector {record.name!r} was saved with {saved}; a scan keeps a connector's "
                f"state where it was saved (change it with `vigil connect --name {record.name} ...`)")
    return Binding(record, record.lake_root, record.evidence, saved=True)


@dataclass(frozen=True)
class DeleteResult:
    name: str
    record_removed: bool
    purged: list[str]
    lake_root: str
    kept: list[str] = field(default_factory=list)  # what was not removed, and why


def _shared_lake(record: ConnectorRecord) -> list[str]:
    """Other saved connectors landing in the same lake."""
    others = []
    for other in list_connectors():
        if other == record.name:
            continue
        try:
            if load(other).lake_root == record.lake_root:
                others.append(other)
        except ConnectorError:
            continue
    return others


def purge(record: ConnectorRecord, storage_options: dict | None = None,
               artifact_remover: Callable[[str], int] | None = None) -> tuple[list[str], list[str]]:
    """Remove everything of a connector: lake tables, its org's state and leases, its evidence
    copies and its Prefect artifacts. Returns (removed, kept-with-reason)."""
    from vigil.lake import Lake  # noqa: PLC0415 - only needed when purging
    from vigil.lake.lease import LEASE_DIR  # noqa: PLC0415
    from vigil.lake.state import STATE_DIR  # noqa: PLC0415
    from vigil.lake.storage import LakeStorage  # noqa: PLC0415

    removed: list[str] = []
    kept: list[str] = []
    lake = Lake(record.lake_root, storage_options=storage_options)
    sharing = _shared_lake(record)
    if sharing:
        kept.append(f"lake tables in {record.lake_root}: shared with connector(s) {', '.join(sharing)} "
                    f"(rows of org {record.org_id} stay; delete them with the other connectors' consent)")
    else:
        removed += [f"{record.lake_root}: {name}" for name in lake.purge(tables_only=True)]
    for folder in (STATE_DIR, LEASE_DIR):
        if lake.storage.remove_tree(lake.storage.path(folder, record.org_id)):
            removed.append(f"{record.lake_root}: {folder}/{record.org_id}")
    if record.evidence != "none":
        evidence = LakeStorage(record.evidence, storage_options)
        if evidence.remove_tree(evidence.path(record.org_id)):
            removed.append(f"evidence {record.evidence}/{record.org_id}")
    if artifact_remover is not None:
        try:
            n = artifact_remover(record.name)
            removed.append(f"{n} Prefect artifact(s)")
        except Exception as exc:  # noqa: BLE001 - report what could not be removed, never hide it
            kept.append(f"Prefect artifacts of connector {record.name!r}: {type(exc).__name__}: {exc}")
    return removed, kept


def delete(name: str, purge_data: bool = False, storage_options: dict | None = None,
           artifact_remover: Callable[[str], int] | None = None) -> DeleteResult:
    """Remove connector ``name``; with ``purge_data`` also everything it landed (``purge``).

    Data is purged before the record is removed, so a failed purge can be retried.
    """
    record = load(name)
    purged: list[str] = []
    kept: list[str] = []
    if purge_data:
        purged, kept = purge(record, storage_options, artifact_remover)
    record_path(name).unlink()
    return DeleteResult(name=name, record_removed=True, purged=purged, lake_root=record.lake_root, kept=kept)
