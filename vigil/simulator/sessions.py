"""Seeded Cowork and Claude Code sessions (SPEC §9.1, §9.2) and Claude Code hosted sites (§9.3).

The index (who, when, which scenario, which calls) is built by ``build_sessions`` from streams of
their own (``sub_seed(seed, "local_session", i)`` ...), so adding sessions never changes an
org's chats, projects or activities. Transcripts and site bodies are derived on demand from
``(seed, object index)`` and the templates in ``session_content.yaml``; every message or body
comes with its plants ``(locator, infotype, value)``, the value verbatim at the locator.

Locators follow docs/contracts.md: ``text:I``, ``tool_use:I`` (the JSON input string),
``tool_result:I/J`` for messages; ``line:N`` (1-based, where the value starts) for site bodies.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING, Any

import yaml

from vigil.synth import text as synth_text
from vigil.synth import values as synth_values
from vigil.simulator.ids import make_id, make_uuid, sub_seed, ts_z

if TYPE_CHECKING:
    from vigil.simulator.org import SyntheticOrg

DAY = 86400.0
SERVER_MAX_BYTES = 1_048_576              # ``tool_*_max_bytes=-1`` ("≈1 MiB")
LOCAL_RETENTION_DEFAULT_S = 6 * 365 * DAY  # "6 years", unless the org sets a finite retention
VERSIONS_KEPT = 20                        # "≈20 most recent" versions of a code artifact
SYSTEM_PROMPT_MARKER = "[system prompt content not shown]"
UNAVAILABLE_REASONS = ("not_captured", "cmek_key_revoked", "retention_elapsed", "oversize")
HUGE_RESULT_BYTES = SERVER_MAX_BYTES + 96 * 1024
READ_MODES = ("owner", "users", "org", "public")
REMOTE_STATUSES = ("pending", "active", "paused", "archived", "failed")
Plant = tuple[str, str, str]  # (locator, infotype, value)

# The first objects of every org cycle through these, so even a small org shows each behaviour.
LOCAL_SHOWCASE: tuple[dict[str, Any], ...] = (
    {"surface": "claude_code", "scenario": 0},              # .env read; a token past the 10,000-byte default
    {"surface": "cowork", "features": ("image", "client_asserted")},
    {"surface": "claude_code", "features": ("huge",)},      # a tool result over the server maximum
    {"surface": "cowork", "features": ("unavailable",), "prompts": 2},  # one message per unavailable reason
    {"surface": None, "features": ("long",), "prompts": 2},  # product_surface null, prompts days apart
)
REMOTE_SHOWCASE: tuple[dict[str, Any], ...] = (
    {"status": "archived"},
    {"status": "active", "agent": True},
    {"status": "pending"},
    {"status": "failed", "features": ("unavailable",)},
)
SITE_SHOWCASE: tuple[dict[str, Any], ...] = (
    {"site": 0, "read_mode": "public", "versions": 3},
    {"site": 1, "read_mode": "org", "versions": VERSIONS_KEPT + 3, "encoding": "gzip"},  # 3 rotated out
    {"site": 2, "read_mode": "users", "versions": 2},
    {"site": 3, "read_mode": "owner", "versions": 2, "oversize": True},  # latest version aborts mid-stream
    {"site": 4, "read_mode": "org", "versions": 1, "indexed": False},    # never matches updated_at filters
)
REPOS = ("billing-api", "web-frontend", "data-pipeline", "mobile-app", "infra", "auth-service", "sdk-python")


@lru_cache(maxsize=1)
def templates() -> dict[str, list[dict[str, Any]]]:
    """The scenario and site templates (``session_content.yaml``)."""
    text = resources.files("vigil.simulator").joinpath("session_content.yaml").read_text("utf-8")
    return yaml.safe_load(text)


# ------------------------------------------------------------------------------------- index
@dataclass
class Call:
    """One inference call of a local session: its messages share ``t`` (SPEC §9.1).
    ``kind="gen"``: call ``step`` of prompt ``prompt`` (step 0 carries the user's prompt, step s
    the result of tool step s-1); ``kind="explicit"``: messages given through the live-change API."""

    t: float
    kind: str = "gen"
    prompt: int = 0
    step: int = 0
    messages: list[dict[str, Any]] | None = None


@dataclass
class LocalSession:
    idx: int
    id: str
    user: int | None
    surface: str | None
    template: str  # "claude_code" | "cowork": which scenario list
    workspace_id: str | None
    prompts: list[int] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    features: tuple[str, ...] = ()
    retention_error: bool = False  # the 503 "cannot currently evaluate retention overrides"


@dataclass
class RemoteMsgSlot:
    """One remote-session message: generated (``prompt``, ``pos``) or explicit (``spec``)."""

    t: float
    prompt: int = 0
    pos: int = 0
    spec: dict[str, Any] | None = None


@dataclass
class RemoteSession:
    idx: int
    id: str
    user: int | None
    agent_id: str | None
    started_by: int | None
    status: str
    created: float
    updated: float
    project_id: str | None
    template: str  # "remote" | "agent"
    prompts: list[int] = field(default_factory=list)
    slots: list[RemoteMsgSlot] = field(default_factory=list)
    features: tuple[str, ...] = ()
    plan: list[tuple[float, int, int]] = field(default_factory=list)  # (offset s, prompt, pos) of messages
    pending_specs: list[dict[str, Any]] | None = None  # explicit messages of a session created pending


@dataclass
class CodeVersion:
    id: str
    k: int  # 0-based publication number within the artifact
    created: float
    name: str
    encoding: str = "identity"  # "identity" (Content-MD5 sent) or "gzip" (stored encoded)
    oversize: bool = False      # encoded content over the limit: the stream aborts
    available_at: float | None = None  # upload in flight until then (503)
    abandoned: bool = False     # upload never completes (503 for good)
    content: str | None = None  # explicit body (live changes); None = from the site template
    plants: list[tuple[str, str]] | None = None
    mime: str | None = None


@dataclass
class CodeArtifact:
    idx: int
    id: str
    owner: int | None
    read_mode: str
    site: int
    name: str
    versions: list[CodeVersion] = field(default_factory=list)  # oldest first, all ever published
    updated: float = 0.0
    indexed: bool = True  # False: published before the index recorded updated_at (never matches)
    deleted: bool = False

    def retained(self) -> list[CodeVersion]:
        """The versions still kept (the most recent ``VERSIONS_KEPT``), oldest first."""
        return self.versions[-VERSIONS_KEPT:]


def version_id(seed: int, art_idx: int, k: int) -> str:
    """Free-form version ids shaped like the documented ``1741803761-9f3a``. The number looks
    like an epoch but is derived from the seed (increasing with ``k``), so IDs do not depend on
    when the org was generated: ``vigil simulator manifest`` and ``serve`` agree."""
    base = 1_700_000_000 + sub_seed(seed, "code_artifact_version", art_idx) % 50_000_000
    return f"{base + k * 3607}-{make_uuid(seed, 'code_artifact_version', art_idx, k)[:4]}"


def _weighted(rng: random.Random, table: dict[str, int]) -> str:
    return rng.choices(list(table), weights=list(table.values()))[0]


def _engineers(org: "SyntheticOrg") -> list[int]:
    eng = [u.idx for u in org.users if u.role in ("developer", "claude_code_user")]
    eng += [m[0] for g in org.groups if g.name in ("Engineering", "Claude Code Pilot") for m in g.members]
    return sorted(set(eng)) or [u.idx for u in org.users]


def _steps(template: str, scenario: int) -> int:
    return len(templates()[template][scenario].get("steps") or ())


def _history_start(org: "SyntheticOrg", rng: random.Random, span: float) -> float:
    """A start time so that ``span`` seconds of activity end before now (at least 60 s ago)."""
    window = org.days * DAY
    start = org.now - window + rng.random() * max(0.0, window - span - 3600)
    return float(int(min(start, org.now - span - 60)))


def build_local_session(org: "SyntheticOrg", i: int, spec: dict[str, Any] | None = None,
                        start: float | None = None) -> LocalSession:
    """Index local session ``i`` from its own random stream (``start``: live sessions)."""
    rng = random.Random(sub_seed(org.seed, "local_session", i))
    spec = spec or {}
    surface = spec["surface"] if "surface" in spec else rng.choice(("claude_code", "claude_code", "cowork"))
    template = "cowork" if surface == "cowork" else "claude_code"
    user = rng.choice(_engineers(org)) if template == "claude_code" else rng.randrange(len(org.users))
    if "user" in spec:
        user = spec["user"]
    workspace = make_id("wrkspc_", org.seed, "workspace", rng.randrange(3)) \
        if template == "claude_code" and rng.random() < 0.3 else None
    n_prompts = spec.get("prompts") or (1 if rng.random() < 0.6 else 2 if rng.random() < 0.75 else 3)
    scenarios = templates()[template]
    prompts = [rng.randrange(len(scenarios)) for _ in range(n_prompts)]
    if "scenario" in spec:
        prompts[0] = spec["scenario"]
    features = tuple(spec.get("features", ()))
    s = LocalSession(i, make_id("clls_", org.seed, "local_session", i), user, surface, template, workspace,
                     prompts, [], features)
    gaps = [(2 * DAY + rng.random() * DAY) if "long" in features else rng.randint(120, 3 * 3600)
            for _ in prompts]
    steps = [rng.randint(3, 90) for p in prompts for _ in range(_steps(template, p) + 1)]
    span = sum(gaps[1:]) + sum(steps)
    t = start if start is not None else _history_start(org, rng, span)
    n = 0
    for p, scenario in enumerate(prompts):
        if p:
            t += gaps[p]
        for st in range(_steps(template, scenario) + 1):
            s.calls.append(Call(float(int(t)), "gen", p, st))
            t += steps[n]
            n += 1
    return s


def build_remote_session(org: "SyntheticOrg", i: int, spec: dict[str, Any] | None = None,
                         start: float | None = None) -> RemoteSession:
    """Index remote session ``i`` from its own random stream."""
    rng = random.Random(sub_seed(org.seed, "remote_session", i))
    spec = spec or {}
    agent = spec.get("agent", rng.random() < 0.2)
    status = spec.get("status") or _weighted(rng, {"active": 2, "paused": 1, "archived": 4})
    user = rng.randrange(len(org.users))
    if "user" in spec:
        user = spec["user"]
    template = "agent" if agent else "remote"
    scenarios = templates()[template]
    prompts = [rng.randrange(len(scenarios)) for _ in range(1 if rng.random() < 0.7 else 2)]
    project = None
    live_projects = [p for p in org.projects if not p.hard_deleted]
    if live_projects and rng.random() < 0.2:
        project = rng.choice(live_projects).id
    times = []
    t = 0.0
    for p, scenario in enumerate(prompts):
        if p:
            t += rng.randint(300, 4 * 3600)
        for pos in range(2 + 2 * _steps(template, scenario)):
            times.append((t, p, pos))
            t += rng.randint(2, 60)
    span = times[-1][0] if times else 0.0
    t0 = start if start is not None else _history_start(org, rng, span)
    s = RemoteSession(i, make_id("cse_", org.seed, "remote_session", i), None if agent else user,
                      make_id("cagt_", org.seed, "agent", rng.randrange(3)) if agent else None,
                      user if agent else None, status, float(int(t0)), float(int(t0)), project, template,
                      prompts, [], tuple(spec.get("features", ())), times)
    if status != "pending":
        s.slots = [RemoteMsgSlot(float(int(t0 + dt)), p, pos) for dt, p, pos in times]
        s.updated = s.slots[-1].t
    return s


def build_code_artifact(org: "SyntheticOrg", i: int, spec: dict[str, Any] | None = None,
                        start: float | None = None) -> CodeArtifact:
    """Index code artifact ``i`` and its published versions from its own random stream."""
    rng = random.Random(sub_seed(org.seed, "code_artifact", i))
    spec = spec or {}
    sites = templates()["sites"]
    site = spec.get("site", rng.randrange(len(sites)))
    read_mode = spec.get("read_mode") or _weighted(rng, {"owner": 3, "users": 2, "org": 3, "public": 1})
    owner = None if rng.random() < 0.05 else rng.choice(_engineers(org))
    if "owner" in spec:
        owner = spec["owner"]
    n_versions = spec.get("versions") or rng.randint(1, 5)
    name_rng = random.Random(sub_seed(org.seed, "code_artifact_name", i))
    name = _fill(sites[site]["name"], name_rng, _scope(name_rng, org, owner)).text
    a = CodeArtifact(i, make_id("cart_", org.seed, "code_artifact", i), owner, read_mode, site, name,
                     indexed=spec.get("indexed", True))
    gaps = [rng.randint(600, int(3 * DAY)) for _ in range(n_versions)]
    t = start if start is not None else _history_start(org, rng, sum(gaps[1:]))
    encoding = spec.get("encoding")
    for k in range(n_versions):
        if k:
            t += gaps[k]
        created = float(int(t))
        a.versions.append(CodeVersion(version_id(org.seed, i, k), k, created, name,
                                      encoding or rng.choice(("identity", "gzip"))))
    if spec.get("oversize"):
        last = a.versions[-1]
        last.encoding, last.oversize = "gzip", True
    a.updated = a.versions[-1].created
    return a


def build_sessions(org: "SyntheticOrg", local: int, remote: int, artifacts: int) -> None:
    """Add the seeded sessions and code artifacts to ``org`` (its own random streams)."""
    for i in range(local):
        org.local_sessions.append(build_local_session(org, i, LOCAL_SHOWCASE[i] if i < len(LOCAL_SHOWCASE) else None))
    for i in range(remote):
        org.remote_sessions.append(build_remote_session(org, i, REMOTE_SHOWCASE[i] if i < len(REMOTE_SHOWCASE) else None))
    for i in range(artifacts):
        org.code_artifacts.append(build_code_artifact(org, i, SITE_SHOWCASE[i] if i < len(SITE_SHOWCASE) else None))


# ------------------------------------------------------------------------------------- content
def _scope(rng: random.Random, org: "SyntheticOrg", user: int | None) -> dict[str, str]:
    """Scenario-wide slot values: one service, repository, home directory and colleague."""
    first = org.users[user].email.split(".")[0] if user is not None else "dev"
    return {"svc": rng.choice(synth_text.SERVICES), "repo": rng.choice(REPOS),
            "home": rng.choice((f"/Users/{first}", f"/home/{first}")),
            "who": f"{rng.choice(synth_values.FIRST_NAMES)} {rng.choice(synth_values.LAST_NAMES)}"}


_REF = re.compile(r"\{([A-Z][A-Z0-9_]*)@(\w+)\}")


def _fill(template: str, rng: random.Random, scope: dict[str, str],
          memo: dict[str, str] | None = None) -> synth_text.Fragment:
    """Fill a template: scenario-wide slots from ``scope``; ``{INFOTYPE@name}`` is one value
    for the whole scenario (``memo``), planted wherever it occurs; the rest as vigil.synth.text."""
    for key, value in scope.items():
        template = template.replace("{" + key + "}", value)
    plants: list[tuple[str, str]] = []
    memo = {} if memo is None else memo

    def ref(m: re.Match[str]) -> str:
        if m.group(0) not in memo:
            memo[m.group(0)] = synth_values.generate(m.group(1), rng)
        plants.append((m.group(1), memo[m.group(0)]))
        return memo[m.group(0)]

    frag = synth_text.fill(_REF.sub(ref, template), rng)
    frag.plants = plants + frag.plants
    return frag


def _log_lines(rng: random.Random, n_bytes: int) -> str:
    lines, size, i = [], 0, 0
    while size < n_bytes:
        line = f"2026-11-02T{9 + i // 3600 % 12:02d}:{i // 60 % 60:02d}:{i % 60:02d}Z INFO {synth_text.hard_negative(rng)}"
        lines.append(line)
        size += len(line) + 1
        i += 1
    return "\n".join(lines)


@dataclass
class FilledStep:
    say: synth_text.Fragment | None
    tool: str
    payload: str
    input_plants: list[tuple[str, str]]
    result: str
    result_plants: list[tuple[str, str]]
    is_error: bool


@dataclass
class FilledScenario:
    prompt: synth_text.Fragment
    steps: list[FilledStep]
    reply: synth_text.Fragment


def fill_scenario(tpl: dict[str, Any], rng: random.Random, scope: dict[str, str],
                  huge: bool = False) -> FilledScenario:
    """Fill one scenario; ``huge`` pads its first tool result past the server maximum (the
    planted text stays first, inside the part the server returns)."""
    memo: dict[str, str] = {}
    prompt = _fill(tpl["prompt"], rng, scope, memo)
    steps = []
    for n, st in enumerate(tpl.get("steps") or ()):
        say = _fill(st["say"], rng, scope, memo) if st.get("say") else None
        fields = {k: _fill(str(v), rng, scope, memo) for k, v in st["input"].items()}
        payload = json.dumps({k: f.text for k, f in fields.items()}, ensure_ascii=False)
        input_plants = [(it, v) for f in fields.values() for it, v in f.plants if v in payload]
        result = _fill(st["result"], rng, scope, memo)
        text = result.text
        if st.get("pad_before"):
            text = _log_lines(rng, int(st["pad_before"])) + "\n" + text
        if huge and n == 0:
            text = text + "\n" + _log_lines(rng, HUGE_RESULT_BYTES)
        steps.append(FilledStep(say, st["tool"], payload, input_plants, text, result.plants,
                                bool(st.get("is_error"))))
    return FilledScenario(prompt, steps, _fill(tpl["reply"], rng, scope, memo))


def _text(text: str, truncated: bool = False) -> dict[str, Any]:
    return {"type": "text", "text": text, "truncated": truncated}


def explicit_blocks(spec: dict[str, Any], tool_id: str) -> tuple[list[dict[str, Any]], list[Plant]]:
    """The content of a message given through the live-change API: ``text``, ``tool_use``
    ``{name, input}`` and/or ``tool_result`` ``{name, text, is_error?, tool_use_id?}``; every
    planted value must occur in one of them (its locator is where it does)."""
    blocks: list[dict[str, Any]] = []
    if spec.get("text") is not None:
        blocks.append(_text(str(spec["text"])))
    if spec.get("tool_use") is not None:
        tu = spec["tool_use"]
        raw = tu.get("input", {})
        blocks.append({"type": "tool_use", "id": tu.get("id") or tool_id, "name": str(tu.get("name", "Bash")),
                       "input": raw if isinstance(raw, str) else json.dumps(raw, ensure_ascii=False),
                       "truncated": False})
    if spec.get("tool_result") is not None:
        tr = spec["tool_result"]
        blocks.append({"type": "tool_result", "tool_use_id": tr.get("tool_use_id"), "name": str(tr.get("name", "Bash")),
                       "is_error": bool(tr.get("is_error", False)), "content": [_text_item(str(tr.get("text", "")))],
                       "truncated": False})
    if not blocks:
        raise ValueError("a message needs text, tool_use or tool_result")
    plants: list[Plant] = []
    for infotype, value in spec.get("plants") or ():
        plants.append((_locate(blocks, value), infotype, value))
    return blocks, plants


def _text_item(text: str) -> dict[str, str]:
    return {"type": "text", "text": text}


def _locate(blocks: list[dict[str, Any]], value: str) -> str:
    for i, b in enumerate(blocks):
        if b["type"] == "text" and value in b["text"]:
            return f"text:{i}"
        if b["type"] == "tool_use" and value in b["input"]:
            return f"tool_use:{i}"
        if b["type"] == "tool_result":
            for j, c in enumerate(b["content"]):
                if value in c.get("text", ""):
                    return f"tool_result:{i}/{j}"
    raise ValueError("every planted value must occur in the message's content")


def _tool_call(st: FilledStep, tool_id: str) -> tuple[list[dict[str, Any]], list[Plant]]:
    """The assistant's content calling a step's tool: what it says first, then the tool_use."""
    blocks: list[dict[str, Any]] = []
    plants: list[Plant] = []
    if st.say is not None:
        blocks.append(_text(st.say.text))
        plants += [("text:0", it, v) for it, v in st.say.plants]
    plants += [(f"tool_use:{len(blocks)}", it, v) for it, v in st.input_plants]
    blocks.append({"type": "tool_use", "id": tool_id, "name": st.tool, "input": st.payload, "truncated": False})
    return blocks, plants


def _size(messages: list) -> int:
    """Approximate bytes of a cached transcript (the text it holds)."""
    return sum(len(b.get("text", "")) + len(b.get("input", "")) + sum(len(c.get("text", "")) for c in b.get("content", ()))
               for _, m, _ in messages for b in m["content"]) + 200 * len(messages)


def line_of(text: str, value: str) -> str:
    """``line:N`` (1-based) of the line where the first occurrence of ``value`` starts."""
    return f"line:{text.count(chr(10), 0, text.index(value)) + 1}"


class SessionContent:
    """Derives the transcripts of sessions and the bodies of code-artifact versions (cached)."""

    def __init__(self, org: "SyntheticOrg"):
        from vigil.simulator.content import _LRU  # the byte-bounded cache of chat transcripts

        self.org = org
        self._local = _LRU(256, 64 << 20)   # session index -> (calls, messages)
        self._remote = _LRU(256, 32 << 20)  # session index -> (slots, messages)
        self._filled: dict[tuple, list[FilledScenario]] = {}

    def _scenarios(self, kind: str, idx: int, template: str, prompts: list[int], user: int | None,
                   huge: bool) -> list[FilledScenario]:
        key = (kind, idx)
        hit = self._filled.get(key)
        if hit is None:
            rng = random.Random(sub_seed(self.org.seed, f"{kind}_body", idx))
            scope = _scope(rng, self.org, user)
            hit = [fill_scenario(templates()[template][p], rng, scope, huge=huge and n == 0)
                   for n, p in enumerate(prompts)]
            if len(self._filled) > 64:
                self._filled.pop(next(iter(self._filled)))
            self._filled[key] = hit
        return hit

    # -- local sessions ------------------------------------------------------------------------
    def local_messages(self, s: LocalSession) -> list[tuple[int, dict[str, Any], list[Plant]]]:
        """Every message of the session, oldest first: ``(call index, message, plants)``.
        Messages are untruncated; unavailable ones have empty content and no plants."""
        cached = self._local.get(s.idx)
        if cached is not None and cached[0] == len(s.calls):
            return cached[1]
        filled = self._scenarios("local", s.idx, s.template, s.prompts, s.user, "huge" in s.features)
        seed = self.org.seed
        out: list[tuple[int, dict[str, Any], list[Plant]]] = []
        for ci, call in enumerate(s.calls):
            t = ts_z(call.t)
            pending: list[tuple[str, list[dict[str, Any]], list[Plant], Any]] = []
            if ci == 0:  # the system prompt is exported as a marker, once, first
                pending.append(("user", [_text(SYSTEM_PROMPT_MARKER, True)], [], {"type": "synthetic_marker"}))
            if call.kind == "explicit":
                for j, spec in enumerate(call.messages or ()):
                    blocks, plants = explicit_blocks(spec, make_id("toolu_", seed, "ltool_x", s.idx, ci, j))
                    pending.append((spec.get("role", "user"), blocks, plants, spec.get("provenance")))
            else:
                f = filled[call.prompt]
                if call.step == 0:
                    blocks = [_text(f.prompt.text)]
                    if "image" in s.features and call.prompt == 0:
                        blocks.append(_text("[image content not shown]", True))
                    pending.append(("user", blocks, [("text:0", it, v) for it, v in f.prompt.plants], None))
                else:
                    st = f.steps[call.step - 1]
                    tool_id = make_id("toolu_", seed, "ltool", s.idx, call.prompt, call.step - 1)
                    pending.append(("user", [{"type": "tool_result", "tool_use_id": tool_id, "name": st.tool,
                                              "is_error": st.is_error, "content": [_text_item(st.result)],
                                              "truncated": False}],
                                    [("tool_result:0/0", it, v) for it, v in st.result_plants], None))
                pending.append(self._assistant(f, call.step, make_id("toolu_", seed, "ltool", s.idx, call.prompt,
                                                                       call.step)))
            for j, (role, blocks, plants, provenance) in enumerate(pending):
                msg = {"type": "compliance_local_session_message",
                       "id": make_id("clsm_", seed, "local_msg", s.idx, ci, j), "role": role, "created_at": t,
                       "provenance": provenance, "content": blocks}
                out.append((ci, msg, plants))
        self._apply_local_features(s, filled, out)
        self._local.put(s.idx, (len(s.calls), out), _size(out))
        return out

    @staticmethod
    def _assistant(f: FilledScenario, step: int, tool_id: str) -> tuple[str, list, list[Plant], Any]:
        if step < len(f.steps):
            return ("assistant", *_tool_call(f.steps[step], tool_id), None)
        return "assistant", [_text(f.reply.text)], [("text:0", it, v) for it, v in f.reply.plants], None

    @staticmethod
    def _apply_local_features(s: LocalSession, filled, out: list) -> None:
        if "client_asserted" in s.features:  # resumed on another device: its first prompt came from the client
            for ci, msg, _ in out:
                if s.calls[ci].kind == "gen" and s.calls[ci].prompt == 0 and msg["provenance"] is None:
                    msg["provenance"] = {"type": "client_asserted"}
        if "unavailable" in s.features:
            real = [n for n, (_, msg, _) in enumerate(out) if msg["provenance"] is None]
            for reason, n in zip(UNAVAILABLE_REASONS, real[1::2]):
                ci, msg, _ = out[n]
                msg["content"] = []
                msg["provenance"] = {"type": "content_unavailable", "reason": reason}
                out[n] = (ci, msg, [])

    # -- remote sessions -----------------------------------------------------------------------
    def remote_messages(self, s: RemoteSession) -> list[tuple[float, dict[str, Any], list[Plant]]]:
        """Every message of a remote session, oldest first: ``(t, message, plants)``."""
        cached = self._remote.get(s.idx)
        if cached is not None and cached[0] == len(s.slots):
            return cached[1]
        filled = self._scenarios("remote", s.idx, s.template, s.prompts, s.user or s.started_by, False)
        seed = self.org.seed
        starter = self.org.users[s.started_by].id if s.started_by is not None else None
        out = []
        for n, slot in enumerate(s.slots):
            mid = make_id("csev_", seed, "remote_msg", s.idx, n)
            if slot.spec is not None:
                blocks, plants = explicit_blocks(slot.spec, make_id("toolu_", seed, "rtool_x", s.idx, n))
                role = slot.spec.get("role", "user")
                sent_by = slot.spec.get("sent_by_user_id") if s.agent_id else None
            else:
                role, blocks, plants = self._remote_slot(
                    filled[slot.prompt], slot.pos,
                    lambda step, p=slot.prompt: make_id("toolu_", seed, "rtool", s.idx, p, step))
                sent_by = starter if s.agent_id and role == "user" and slot.pos == 0 else None
            msg = {"id": mid, "role": role, "created_at": ts_z(slot.t), "content": blocks,
                   "sent_by_user_id": sent_by, "content_unavailable": False}
            out.append((slot.t, msg, plants))
        if "unavailable" in s.features and len(out) > 2:
            t, msg, _ = out[1]
            msg["content"], msg["content_unavailable"] = [], True
            out[1] = (t, msg, [])
        self._remote.put(s.idx, (len(s.slots), out), _size(out))
        return out

    @staticmethod
    def _remote_slot(f: FilledScenario, pos: int, tool_id_of) -> tuple[str, list, list[Plant]]:
        """Position ``pos`` of a prompt's messages: prompt, then per step the assistant's tool
        call and the tool's result, then the reply."""
        if pos == 0:
            return "user", [_text(f.prompt.text)], [("text:0", it, v) for it, v in f.prompt.plants]
        step, is_result = divmod(pos - 1, 2)
        if step >= len(f.steps):
            return "assistant", [_text(f.reply.text)], [("text:0", it, v) for it, v in f.reply.plants]
        st = f.steps[step]
        tool_id = tool_id_of(step)
        if is_result:
            return "user", [{"type": "tool_result", "tool_use_id": tool_id, "name": st.tool, "is_error": st.is_error,
                             "content": [_text_item(st.result)], "truncated": False}], \
                [("tool_result:0/0", it, v) for it, v in st.result_plants]
        return ("assistant", *_tool_call(st, tool_id))

    # -- code artifacts ------------------------------------------------------------------------
    def site(self, a: CodeArtifact, v: CodeVersion) -> tuple[str, str, list[Plant]]:
        """``(mime type, body, plants)`` of one version (not for oversize versions)."""
        tpl = templates()["sites"][a.site]
        if v.content is not None:
            plants = [(line_of(v.content, val), it, val) for it, val in v.plants or ()]
            return v.mime or tpl["mime"], v.content, plants
        rng = random.Random(sub_seed(self.org.seed, "code_artifact_body", a.idx))
        frag = _fill(tpl["body"], rng, _scope(rng, self.org, a.owner))
        footer = f"<!-- revision {v.k + 1} -->\n" if tpl["mime"] == "text/html" else f"\n_Revision {v.k + 1}._\n"
        body = frag.text + footer
        return tpl["mime"], body, [(line_of(body, val), it, val) for it, val in frag.plants]

    def oversize_chunks(self, a: CodeArtifact, v: CodeVersion, total: int, chunk: int = 64 * 1024) -> Iterator[bytes]:
        """An endless-looking site body (a huge generated table), ``total`` bytes in chunks."""
        rng = random.Random(sub_seed(self.org.seed, "code_artifact_huge", a.idx, v.k))
        head = f"<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>{a.name}</title></head><body>\n<table>\n"
        buf = bytearray(head.encode())
        sent = 0
        row = 0
        while sent < total:
            while len(buf) < chunk:
                buf += f"<tr><td>{row}</td><td>{synth_text.hard_negative(rng)}</td></tr>\n".encode()
                row += 1
            out = bytes(buf[:min(chunk, total - sent)])
            del buf[:len(out)]
            sent += len(out)
            yield out
