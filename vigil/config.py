"""vigil's configuration file (TOML or YAML): load, validate, and expose typed settings.

Every error is a ``ConfigError`` whose message starts with the dotted key at fault, e.g.
``scope.chats.mode: expected one of all|include|exclude|regex``. Values are never echoed in
errors (a misplaced API key must not end up in a log). docs/configuration.md lists every key.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
import urllib.parse
import uuid
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import fsspec
import yaml
from pydantic import Field

from vigil.scope import CHAT_MODES, PROJECT_MODES, ChatScope, ProjectScope, Scope

if TYPE_CHECKING:
    from vigil.alerts.settings import AlertsSettings

DEFAULT_BASE_URL = "https://api.anthropic.com"
DEFAULT_KEY_SOURCE = "env:ANTHROPIC_COMPLIANCE_API_KEY"
DEFAULT_RPM = 540
DEFAULT_HISTORICAL_DAYS = 30
MAX_HISTORICAL_DAYS = 3650
DEFAULT_MAX_FILE_MB = 25
MAX_FILE_MB_RANGE = (1, 25)
DEFAULT_LAKE_ROOT = "data"
DEFAULT_COMPACT_THRESHOLD = 32
DEFAULT_LOCAL_LOOKBACK_DAYS = 7
DEFAULT_LOCAL_REREAD_MINUTES = 60

# A flow parameter type: Prefect validates it (and publishes the range in the deployment's schema).
HistoricalDays = Annotated[int, Field(ge=1, le=MAX_HISTORICAL_DAYS)]
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")  # plain http only to these (a local simulator)
_TAGGED_ORG_RE = re.compile(r"^org_[A-Za-z0-9]+$")
_URL_SCHEME_RE = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
KEY_SOURCE_RE = re.compile(r"^(env:[A-Za-z_][A-Za-z0-9_]*|prefect-secret:[a-z0-9][a-z0-9-]*)$")
_LITERAL_KEY_RE = re.compile(r"sk-ant-[A-Za-z0-9]", re.IGNORECASE)
_SECRET_KEY_NAMES = {"api_key", "apikey", "key", "secret", "token", "password",
                     "access_key", "secret_key", "aws_secret_access_key", "session_token"}


class ConfigError(ValueError):
    """A configuration problem; ``key`` is the dotted path of the offending setting."""

    def __init__(self, key: str, problem: str):
        super().__init__(f"{key}: {problem}" if key else problem)
        self.key = key
        self.problem = problem


@dataclass(frozen=True)
class ConnectorSettings:
    """Which org to read and where its key lives (never the key itself)."""

    name: str = "default"
    org_id: str | None = None
    base_url: str = DEFAULT_BASE_URL
    key_source: str = DEFAULT_KEY_SOURCE


@dataclass(frozen=True)
class ForwardSettings:
    enabled: bool = True


@dataclass(frozen=True)
class HistoricalSettings:
    days: int = DEFAULT_HISTORICAL_DAYS


@dataclass(frozen=True)
class InspectionSettings:
    """Limits of content inspection; ``file_types`` None means the extraction module's default list."""

    max_file_mb: float = DEFAULT_MAX_FILE_MB
    file_types: tuple[str, ...] | None = None

    @property
    def max_file_bytes(self) -> int:
        return int(self.max_file_mb * 1024 * 1024)

    def effective_file_types(self) -> tuple[str, ...]:
        """The configured file types, or the default list of ``vigil.extract``."""
        return self.file_types if self.file_types is not None else tuple(default_file_types())


@dataclass(frozen=True)
class EvidenceSettings:
    """Where content with findings is copied: ``none``, a local folder or an fsspec URL."""

    target: str = "none"
    storage_options: Mapping[str, Any] = field(default_factory=dict)

    @property
    def enabled(self) -> bool:
        return self.target != "none"


@dataclass(frozen=True)
class LakeSettings:
    root: str = DEFAULT_LAKE_ROOT
    compact_threshold: int = DEFAULT_COMPACT_THRESHOLD
    storage_options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RateSettings:
    rpm: int = DEFAULT_RPM


@dataclass(frozen=True)
class ExportSettings:
    """Optional SIEM export after each forward scan: OCSF JSON lines under ``ocsf_target``."""

    ocsf_target: str = "none"
    gzip: bool = False
    storage_options: Mapping[str, Any] = field(default_factory=dict)

    @property
    def enabled(self) -> bool:
        return self.ocsf_target != "none"


@dataclass(frozen=True)
class DetectionSettings:
    """The organization's own detectors: YAML rule files (``vigil inspect --rules`` format),
    as absolute paths once loaded from a file (relative ones are resolved against its folder)."""

    rules: tuple[str, ...] = ()


@dataclass(frozen=True)
class SessionSettings:
    """Cowork and Claude Code sessions: local sessions have no ``updated_at``, so forward scans
    re-read those created in the last ``local_lookback_days`` days, at most every
    ``local_reread_minutes`` minutes (0: every scan); the scans in between read only sessions
    created since the previous one."""

    local_lookback_days: int = DEFAULT_LOCAL_LOOKBACK_DAYS
    local_reread_minutes: int = DEFAULT_LOCAL_REREAD_MINUTES


@dataclass(frozen=True)
class DirectorySettings:
    """The directory (users, groups, members): forward scans read it again when the lake's copy
    is ``refresh_minutes`` old (0: every scan). Reading it costs one request per 1,000 users,
    one for the groups and one per group."""

    refresh_minutes: int = 0


@dataclass(frozen=True)
class Config:
    """All settings; ``Config()`` is the default configuration."""

    connector: ConnectorSettings = ConnectorSettings()
    scope: Scope = Scope()
    forward: ForwardSettings = ForwardSettings()
    historical: HistoricalSettings = HistoricalSettings()
    inspection: InspectionSettings = InspectionSettings()
    evidence: EvidenceSettings = EvidenceSettings()
    lake: LakeSettings = LakeSettings()
    rate: RateSettings = RateSettings()
    export: ExportSettings = ExportSettings()
    alerts: "AlertsSettings" = field(default_factory=lambda: _alerts(_Table(None, "alerts")))
    detection: DetectionSettings = DetectionSettings()
    sessions: SessionSettings = SessionSettings()
    directory: DirectorySettings = DirectorySettings()

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form (what a config file would hold); feeds ``parse_config`` back."""
        data = asdict(self)
        for scope in data["scope"].values():
            for private in [k for k in scope if k.startswith("_")]:
                del scope[private]
        if data["inspection"]["file_types"] is None:
            del data["inspection"]["file_types"]
        if data["connector"]["org_id"] is None:
            del data["connector"]["org_id"]
        for section in ("chats", "projects"):
            regex_key = "email_regex" if section == "chats" else "name_regex"
            if data["scope"][section][regex_key] is None:
                del data["scope"][section][regex_key]
        return json.loads(json.dumps(data, default=list))

    def with_overrides(self, overrides: Mapping[str, Any]) -> "Config":
        """A validated copy with dotted keys replaced, e.g. ``{"historical.days": 7}``."""
        data = self.to_dict()
        for dotted, value in overrides.items():
            node = data
            parts = dotted.split(".")
            for part in parts[:-1]:
                node = node.setdefault(part, {})
                if not isinstance(node, dict):
                    raise ConfigError(dotted, "is not inside a table")
            node[parts[-1]] = value
        return parse_config(data)


# -- loading -----------------------------------------------------------------------------------
def load_config(path: str | Path | None) -> Config:
    """Read and validate a ``.toml``, ``.yaml`` or ``.yml`` file; ``None`` gives the defaults.
    Relative paths in the file (``detection.rules``) are taken relative to its folder."""
    if path is None:
        return Config()
    path = Path(path)
    suffix = path.suffix.lower()
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError("", f"cannot read config file {path}: {exc.strerror}") from None
    try:
        if suffix == ".toml":
            data = tomllib.loads(raw.decode("utf-8"))
        elif suffix in (".yaml", ".yml"):
            data = yaml.safe_load(raw) or {}
        else:
            raise ConfigError("", f"{path}: config files must end in .toml, .yaml or .yml")
    except (tomllib.TOMLDecodeError, yaml.YAMLError, UnicodeDecodeError) as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        detail = str(exc).splitlines()[0] if isinstance(exc, tomllib.TOMLDecodeError) else "invalid syntax"
        raise ConfigError("", f"{path}: not valid {suffix[1:].upper()}{where}: {detail}") from None
    return parse_config(data, base_dir=path.resolve().parent)


def parse_config(data: Any, base_dir: str | Path | None = None) -> Config:
    """Validate a parsed document (dict) and build the ``Config``; relative paths are taken
    relative to ``base_dir`` (default: the working directory)."""
    root = _Table(data, "")
    _refuse_literal_keys(data, "")
    cfg = Config(
        connector=_connector(root.table("connector")),
        scope=_scope(root.table("scope")),
        forward=ForwardSettings(enabled=root.table("forward").boolean("enabled", True)),
        historical=HistoricalSettings(days=root.table("historical").integer(
            "days", DEFAULT_HISTORICAL_DAYS, 1, MAX_HISTORICAL_DAYS)),
        inspection=_inspection(root.table("inspection")),
        evidence=_evidence(root.table("evidence")),
        lake=_lake(root.table("lake")),
        rate=RateSettings(rpm=root.table("rate").integer("rpm", DEFAULT_RPM, 1, 1_000_000)),
        export=_export(root.table("export")),
        alerts=_alerts(root.table("alerts")),
        detection=_detection(root.table("detection"), Path(base_dir) if base_dir is not None else Path.cwd()),
        sessions=_sessions(root.table("sessions")),
        directory=_directory(root.table("directory")),
    )
    root.finish()
    return cfg


# -- sections ----------------------------------------------------------------------------------
def _alerts(t: "_Table") -> "AlertsSettings":
    """The ``[alerts]`` section, validated by its own module (docs/alerts.md)."""
    from vigil.alerts.settings import parse_alerts  # noqa: PLC0415 - it imports this module

    return parse_alerts(t)


def _connector(t: "_Table") -> ConnectorSettings:
    for name in _SECRET_KEY_NAMES:
        if name in t.data:
            raise ConfigError(t.key(name), "API keys must not be stored in a config file; set "
                              "connector.key_source to 'env:VARIABLE' or 'prefect-secret:BLOCK'")
    key_source = t.string("key_source", DEFAULT_KEY_SOURCE)
    if not KEY_SOURCE_RE.match(key_source):
        raise ConfigError(t.key("key_source"), "expected 'env:VARIABLE' or 'prefect-secret:BLOCK_NAME'")
    base_url = check_base_url(t.string("base_url", DEFAULT_BASE_URL), t.key("base_url"))
    org_id = t.string("org_id", None)
    if org_id is not None:
        org_id = check_org_id(org_id, t.key("org_id"))
    name = t.string("name", "default")
    if not re.match(r"^[A-Za-z0-9_.-]+$", name):
        raise ConfigError(t.key("name"), "expected letters, digits, '.', '_' or '-'")
    t.finish()
    return ConnectorSettings(name=name, org_id=org_id, base_url=base_url.rstrip("/"), key_source=key_source)


def _scope(t: "_Table") -> Scope:
    chats_t = t.table("chats")
    mode = chats_t.choice("mode", "all", CHAT_MODES)
    users = chats_t.string_list("users", ())
    for i, user in enumerate(users):
        if "@" not in user:
            raise ConfigError(f"{chats_t.key('users')}[{i}]", "expected an e-mail address")
    email_regex = chats_t.regex("email_regex")
    groups = chats_t.string_list("groups", ())
    if groups and mode not in ("include", "exclude"):
        raise ConfigError(chats_t.key("groups"), "groups need mode 'include' or 'exclude'")
    if mode in ("include", "exclude") and not (users or groups):
        raise ConfigError(chats_t.key("users"), f"mode '{mode}' needs at least one e-mail address or group")
    if mode == "regex" and email_regex is None:
        raise ConfigError(chats_t.key("email_regex"), "mode 'regex' needs email_regex")
    chats_t.finish()

    proj_t = t.table("projects")
    pmode = proj_t.choice("mode", "all", PROJECT_MODES)
    names = proj_t.string_list("names", ())
    ids = proj_t.string_list("ids", ())
    name_regex = proj_t.regex("name_regex")
    if pmode in ("include", "exclude") and not (names or ids):
        raise ConfigError(proj_t.key("names"), f"mode '{pmode}' needs project names or ids")
    if pmode == "regex" and name_regex is None:
        raise ConfigError(proj_t.key("name_regex"), "mode 'regex' needs name_regex")
    proj_t.finish()
    t.finish()
    return Scope(
        chats=ChatScope(mode=mode, users=tuple(users), email_regex=email_regex, groups=tuple(groups)),
        projects=ProjectScope(mode=pmode, names=tuple(names), ids=tuple(ids), name_regex=name_regex),
    )


def _detection(t: "_Table", base_dir: Path) -> DetectionSettings:
    rules = []
    for i, entry in enumerate(t.string_list("rules", ())):
        path = Path(entry).expanduser()
        path = path if path.is_absolute() else base_dir / path
        if not path.is_file():
            raise ConfigError(f"{t.key('rules')}[{i}]", f"rules file not found: {path}")
        if path.suffix.lower() not in (".yaml", ".yml"):
            raise ConfigError(f"{t.key('rules')}[{i}]", "expected a .yaml or .yml rules file")
        rules.append(str(path.resolve()))
    t.finish()
    return DetectionSettings(rules=tuple(rules))


def _sessions(t: "_Table") -> SessionSettings:
    days = t.integer("local_lookback_days", DEFAULT_LOCAL_LOOKBACK_DAYS, 1, 365)
    reread = t.integer("local_reread_minutes", DEFAULT_LOCAL_REREAD_MINUTES, 0, 7 * 24 * 60)
    t.finish()
    return SessionSettings(local_lookback_days=days, local_reread_minutes=reread)


def _directory(t: "_Table") -> DirectorySettings:
    refresh = t.integer("refresh_minutes", 0, 0, 7 * 24 * 60)
    t.finish()
    return DirectorySettings(refresh_minutes=refresh)


def _inspection(t: "_Table") -> InspectionSettings:
    max_mb = t.number("max_file_mb", DEFAULT_MAX_FILE_MB, *MAX_FILE_MB_RANGE)
    file_types = None
    if "file_types" in t.data:
        file_types = tuple(_norm_type(x) for x in t.string_list("file_types", ()))
        known = default_file_types(all_known=True)
        if known:
            for i, ft in enumerate(file_types):
                if ft not in known:
                    raise ConfigError(f"{t.key('file_types')}[{i}]",
                                      "unknown file type (known: vigil/extract/filetypes.yaml)")
    t.finish()
    return InspectionSettings(max_file_mb=max_mb, file_types=file_types)


def _evidence(t: "_Table") -> EvidenceSettings:
    target = t.string("target", "none")
    if not target.strip():
        raise ConfigError(t.key("target"), "expected 'none', a folder or an fsspec URL")
    _check_url(target, t.key("target"))
    if target.strip() != "none":
        check_folder(target, t.key("target"))
    options = _storage_options(t)
    t.finish()
    return EvidenceSettings(target=target, storage_options=options)


def _export(t: "_Table") -> ExportSettings:
    target = t.string("ocsf_target", "none")
    if not target.strip():
        raise ConfigError(t.key("ocsf_target"), "expected 'none', a folder or an fsspec URL")
    _check_url(target, t.key("ocsf_target"))
    gzip = t.boolean("gzip", False)
    options = _storage_options(t)
    t.finish()
    return ExportSettings(ocsf_target=target, gzip=gzip, storage_options=options)


def _lake(t: "_Table") -> LakeSettings:
    root = t.string("root", DEFAULT_LAKE_ROOT)
    if not root.strip():
        raise ConfigError(t.key("root"), "expected a folder or an fsspec URL")
    _check_url(root, t.key("root"))
    check_folder(root, t.key("root"))
    threshold = t.integer("compact_threshold", DEFAULT_COMPACT_THRESHOLD, 0, 100_000)
    options = _storage_options(t)
    t.finish()
    return LakeSettings(root=root, compact_threshold=threshold, storage_options=options)


def _storage_options(t: "_Table") -> dict[str, Any]:
    options = t.table("storage_options")
    for name in options.data:
        if name.lower() in _SECRET_KEY_NAMES:
            raise ConfigError(options.key(name), "credentials must not be stored in a config file; "
                              "use the storage's own environment variables or profiles")
    options.consumed.update(options.data)
    return dict(options.data)


def _check_url(value: str, key: str) -> None:
    match = _URL_SCHEME_RE.match(value)
    if match and match.group(1) not in fsspec.available_protocols():
        raise ConfigError(key, f"unknown storage protocol '{match.group(1)}'")


# -- checks shared with the command line (``key`` is then the option, e.g. ``--org-id``) -------
def check_org_id(value: str, key: str) -> str:
    """The organization UUID (lowercase) or ``org_…`` tagged id; ``ConfigError`` otherwise."""
    value = value.strip()
    try:
        return str(uuid.UUID(value))
    except ValueError:
        pass
    if _TAGGED_ORG_RE.match(value):
        return value
    raise ConfigError(key, "expected the organization UUID (8-4-4-4-12 hex digits, from the "
                      "claude.ai organization settings) or its org_... id")


def check_base_url(value: str, key: str) -> str:
    """An https URL, or http to a loopback host (a local simulator); no trailing slash."""
    try:
        parts = urllib.parse.urlsplit(value.strip())
        host = parts.hostname
    except ValueError:
        host = parts = None
    if parts is None or parts.scheme not in ("http", "https") or not host:
        raise ConfigError(key, "expected an http(s) URL with a host")
    if parts.scheme == "http" and host not in LOOPBACK_HOSTS:
        raise ConfigError(key, "plain http is allowed only to 127.0.0.1, localhost or [::1] (a local "
                          "simulator); use https, the API key must not cross a network in the clear")
    return value.strip().rstrip("/")


def check_folder(value: str, key: str, *, writable: bool = False) -> str:
    """For a local path (not a URL): refuse one that is, or lies under, a file; with ``writable``,
    also one that cannot be created or written by this process. Returns ``value``."""
    match = _URL_SCHEME_RE.match(value)
    if match and match.group(1) != "file":
        return value  # object stores are checked by their own credentials when first used
    path = os.path.abspath(os.path.expanduser(value[len("file://"):] if match else value))
    probe = path
    while not os.path.lexists(probe):
        probe = os.path.dirname(probe)
    if not os.path.isdir(probe):
        raise ConfigError(key, "is a file, not a folder" if probe == path
                          else "lies under a file, not a folder")
    if writable and not os.access(probe, os.W_OK | os.X_OK):
        raise ConfigError(key, "folder is not writable by this user" if probe == path
                          else "cannot be created: its parent folder is not writable by this user")
    return value


def check_writable_folder(value: str, key: str) -> str:
    """``check_folder`` with ``writable``: for where a scan lands."""
    return check_folder(value, key, writable=True)


def check_historical_days(value: int, key: str) -> int:
    """A number of days from 1 to 3650 (ten years)."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_HISTORICAL_DAYS:
        raise ConfigError(key, f"expected a whole number of days from 1 to {MAX_HISTORICAL_DAYS}")
    return value


def require_writable(cfg: "Config") -> None:
    """Before a scan writes: the lake root (and a local evidence folder) must be writable."""
    check_writable_folder(cfg.lake.root, "lake.root")
    if cfg.evidence.enabled:
        check_writable_folder(cfg.evidence.target, "evidence.target")


def _norm_type(name: str) -> str:
    return name.strip().lower().lstrip(".")


def _refuse_literal_keys(node: Any, key: str) -> None:
    """Reject anything that looks like an Anthropic API key, wherever it is in the file."""
    if isinstance(node, Mapping):
        for k, v in node.items():
            _refuse_literal_keys(v, f"{key}.{k}" if key else str(k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            _refuse_literal_keys(v, f"{key}[{i}]")
    elif isinstance(node, str) and _LITERAL_KEY_RE.search(node):
        raise ConfigError(key, "looks like an API key; keys must not be stored in a config file "
                          "(use connector.key_source = 'env:VARIABLE' or 'prefect-secret:BLOCK')")


# -- file types from the extraction module -----------------------------------------------------
def default_file_types(all_known: bool = False) -> tuple[str, ...]:
    """Extensions inspected by default (or, with ``all_known``, every extension extraction knows).

    Read from the extraction module's data list (``vigil/extract/filetypes.yaml``) through
    ``vigil.extract.filetypes``. Empty when the extraction module is not available, in which
    case configured file types are not checked against it.
    """
    loader = _file_types_loader()
    if loader is None:
        return ()
    return tuple(_norm_type(t) for t in loader(all_known))


def _file_types_loader() -> Callable[[bool], list[str]] | None:
    try:
        from vigil.extract.filetypes import default_file_types as extract_defaults  # noqa: PLC0415
    except ImportError:  # extraction not installed: file types are then not checked
        return None

    def load(all_known: bool) -> list[str]:
        types = extract_defaults()
        return sorted(types.format_of if all_known else types.extensions)

    return load


# -- a validating view over one table of the document ------------------------------------------
class _Table:
    def __init__(self, data: Any, prefix: str):
        if data is None:
            data = {}
        if not isinstance(data, Mapping):
            raise ConfigError(prefix or "<root>", "expected a table of settings")
        self.data = data
        self.prefix = prefix
        self.consumed: set[str] = set()

    def key(self, name: str) -> str:
        return f"{self.prefix}.{name}" if self.prefix else name

    def _get(self, name: str) -> Any:
        self.consumed.add(name)
        return self.data.get(name)

    def table(self, name: str) -> "_Table":
        return _Table(self._get(name), self.key(name))

    def string(self, name: str, default: str | None) -> str | None:
        value = self._get(name)
        if value is None:
            return default
        if not isinstance(value, str):
            raise ConfigError(self.key(name), f"expected a string, got {_kind(value)}")
        return value.strip()

    def choice(self, name: str, default: str, choices: tuple[str, ...]) -> str:
        value = self.string(name, default)
        if value not in choices:
            raise ConfigError(self.key(name), f"expected one of {'|'.join(choices)}")
        return value

    def boolean(self, name: str, default: bool) -> bool:
        value = self._get(name)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise ConfigError(self.key(name), f"expected true or false, got {_kind(value)}")
        return value

    def integer(self, name: str, default: int, lo: int, hi: int) -> int:
        value = self._get(name)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(self.key(name), f"expected an integer, got {_kind(value)}")
        if not lo <= value <= hi:
            raise ConfigError(self.key(name), f"expected an integer from {lo} to {hi}")
        return value

    def number(self, name: str, default: float, lo: float, hi: float) -> float:
        value = self._get(name)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(self.key(name), f"expected a number, got {_kind(value)}")
        if not lo <= value <= hi:
            raise ConfigError(self.key(name), f"expected a number from {lo} to {hi}")
        return value

    def string_list(self, name: str, default: tuple[str, ...]) -> list[str]:
        value = self._get(name)
        if value is None:
            return list(default)
        if not isinstance(value, list):
            raise ConfigError(self.key(name), f"expected a list of strings, got {_kind(value)}")
        for i, item in enumerate(value):
            if not isinstance(item, str) or not item.strip():
                raise ConfigError(f"{self.key(name)}[{i}]", "expected a non-empty string")
        return [v.strip() for v in value]

    def regex(self, name: str) -> str | None:
        value = self.string(name, None)
        if value is None:
            return None
        try:
            re.compile(value)
        except re.error as exc:
            raise ConfigError(self.key(name), f"invalid regular expression: {exc.msg}") from None
        return value

    def finish(self) -> None:
        extra = [k for k in self.data if k not in self.consumed]
        if extra:
            known = ", ".join(sorted(self.consumed))
            raise ConfigError(self.key(str(extra[0])), f"unknown setting (expected one of {known})")


def _kind(value: Any) -> str:
    return {dict: "a table", list: "a list", str: "a string", bool: "a boolean",
            int: "an integer", float: "a number"}.get(type(value), type(value).__name__)
