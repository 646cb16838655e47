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
    """A saved connector. ``lake_root`` is where its data lands (absolute for local paths)."""

    name: str
    org_id: str
    base_url: str = DEFAULT_BASE_URL
    key_source: str = DEFAULT_KEY_SOURCE
    lake_root: str = "data"
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
    """vigil's config directory: ``$VIGIL_HOME`` or ``~/.config/vigil``."""
    return Path(os.environ.get("VIGIL_HOME") or Path.home() / ".config" / "vigil")


def connectors_dir() -> Path:
    return vigil_home() / "connectors"


def record_path(name: str) -> Path:
    _check_name(name)
    return connectors_dir() / f"{name}.json"


def save(record: ConnectorRecord) -> Path:
    """Create or replace a saved connector (atomically, readable by the owner only)."""
    lake_root = record.lake_root
    if "://" not in lake_root:
        lake_root = os.path.abspath(lake_root)
    record = replace(record, lake_root=lake_root, updated_at=_now())
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
class DeleteResult:
    name: str
    record_removed: bool
    purged: list[str]
    lake_root: str


def delete(name: str, purge_data: bool = False,
           storage_options: dict | None = None) -> DeleteResult:
    """Remove connector ``name``; with ``purge_data`` also its lake tables and checkpoints.

    Data is purged before the record is removed, so a failed purge can be retried.
    """
    record = load(name)
    purged: list[str] = []
    if purge_data:
        from vigil.lake import Lake  # noqa: PLC0415 - only needed when purging

        purged = Lake(record.lake_root, storage_options=storage_options).purge()
    record_path(name).unlink()
    return DeleteResult(name=name, record_removed=True, purged=purged, lake_root=record.lake_root)


def for_settings(settings, lake_root: str | None = None) -> ConnectorRecord:
    """The connector a config's ``[connector]`` section designates.

    With ``org_id`` set in the config, that section is the connector; otherwise the saved
    connector ``settings.name`` is loaded. ``settings`` is a ``vigil.config.ConnectorSettings``.
    """
    if settings.org_id:
        return ConnectorRecord(name=settings.name, org_id=settings.org_id, base_url=settings.base_url,
                               key_source=settings.key_source, lake_root=lake_root or "data")
    return load(settings.name)
