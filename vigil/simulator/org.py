"""A deterministic synthetic Claude Enterprise organization.

``SyntheticOrg.generate(seed, users, chats, days)`` builds only an index: who, when, which chat
has which attachment, artifact or generated file. Message text and file bytes are derived on
demand from ``(seed, chat index, turn)`` (see ``vigil.simulator.content``), so a 20,000-chat org
is indexed in seconds and served with flat memory. Everything is a pure function of the seed
except timestamps, which are placed relative to ``now``.

Live changes (``add_chat``, ``add_message``, ``add_turns``, ``add_file``, ``soft_delete_chat``,
hard deletes) bump ``updated_at``, emit activities and extend the ground truth.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from vigil.synth import text as synth_text
from vigil.synth import values as synth_values
from vigil.simulator.activities import Activity, ActivityLog
from vigil.simulator.ids import make_id, make_uuid, squeeze_into, sub_seed
from vigil.simulator.sessions import (CodeArtifact, LocalSession, RemoteSession, SessionContent,
                                      build_sessions)
from vigil.simulator.session_changes import SessionsMixin
from vigil.simulator.settings import default_settings

MODELS = ("claude-opus-4-7", "claude-sonnet-4-6", "claude-sonnet-4-6", "claude-haiku-4-5")
USER_AGENTS = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/128.0 Safari/537.36",
    "Claude/1.0.2 (Macintosh; Electron)",
    "Claude/1.4 (iPhone; iOS 18.1)",
)
TOPIC_WEIGHTS = {"support": 20, "finance": 15, "engineering": 30, "hr": 12, "healthcare": 6,
                 "legal": 7, "sales": 10}

# Attachment formats, weighted; rich ones come from vigil.synth.documents.
ATTACHMENT_FORMATS = {"txt": 8, "csv": 10, "json": 6, "md": 5, "py": 5, "log": 4, "yaml": 3,
                      "html": 3, "pdf": 10, "docx": 9, "xlsx": 8, "pptx": 4, "zip": 4, "7z": 2,
                      "eml": 4, "tar.gz": 2, "ipynb": 2, "sql": 2, "sh": 2}
GENERATED_FORMATS = ("csv", "xlsx", "pdf", "docx", "pptx", "md", "json")
# The first attachments of an org cycle through these so even a small org has every kind.
SHOWCASE = (("zip", "plain"), ("pdf", "plain"), ("docx", "plain"), ("xlsx", "plain"),
            ("zip", "encrypted"), ("docx", "corrupt"), ("csv", "huge"), ("7z", "plain"),
            ("eml", "plain"), ("pptx", "plain"), ("pdf", "encrypted"), ("xlsx", "corrupt"),
            ("txt", "plain"), ("json", "plain"), ("html", "plain"), ("7z", "encrypted"))
HUGE_FORMATS = ("csv", "log", "txt", "ndjson", "gz")  # streamed byte-identically every time

DAY = 86400.0
LIVE_WINDOW_S = 600.0
# (name, description, source, department weight or 0 for cross-functional groups)
GROUP_SPECS = (("Finance", "Finance department (synced from IdP)", "scim", 15),
               ("Engineering", "All engineers (synced from IdP)", "scim", 30),
               ("Support", "Customer support agents", "scim", 20),
               ("People Ops", "HR and recruiting", "direct", 10),
               ("Legal", "Legal and compliance", "direct", 7),
               ("Sales", "Sales and account management (synced from IdP)", "scim", 12),
               ("Clinical Operations", "Clinic staff (synced from IdP)", "scim", 6),
               ("Security Champions", "Engineers who triage security findings", "direct", 0),
               ("Claude Code Pilot", "Early users of Claude Code", "direct", 0))
LEGACY_GROUPS = 5  # project collaborators use the first five groups (seeds keep their projects)  # generated live chats and turns are placed within the last ten minutes


@dataclass
class OrgUnit:
    uuid: str
    tagged_id: str
    name: str
    created: float
    kind: str  # parent | claude_ai | console


@dataclass
class User:
    idx: int
    id: str
    full_name: str
    email: str
    role: str
    created: float
    ip: str
    ua: str
    orgs: tuple[str, ...]


@dataclass
class Group:
    id: str
    name: str
    description: str
    source_type: str
    roles: list[str] | None
    created: float
    updated: float | None
    members: list[tuple[int, float]]  # (user index, joined)


@dataclass
class Role:
    id: str
    name: str
    description: str
    created: float | None
    updated: float | None
    permissions: list[dict[str, str]]


class FileObj:
    """An uploaded (chat or project) or generated file. ``variant``: plain, encrypted, corrupt,
    huge or explicit (bytes given through the live-change API)."""

    __slots__ = ("id", "kind", "chat", "turn", "project", "fmt", "variant", "filename", "mime",
                 "created", "user", "topic", "size", "md5", "deleted", "data", "plants")

    def __init__(self, id, kind, chat, turn, project, fmt, variant, filename, mime, created, user, topic):
        self.id, self.kind, self.chat, self.turn, self.project = id, kind, chat, turn, project
        self.fmt, self.variant, self.filename, self.mime = fmt, variant, filename, mime
        self.created, self.user, self.topic = created, user, topic
        self.size: int | None = None
        self.md5: str | None = None
        self.deleted = False
        self.data: bytes | None = None
        self.plants: list[tuple[str, str, str]] | None = None


class Turn:
    """One exchange of a chat: a user message and the assistant's reply (``kind="gen"``), or one
    message given through the live-change API (``kind="explicit"``)."""

    __slots__ = ("k", "kind", "user_ts", "asst_ts", "file_ids", "gen_id", "art", "tools", "explicit")

    def __init__(self, k, kind, user_ts, asst_ts=None, file_ids=(), gen_id=None, art=None, tools=0, explicit=None):
        self.k, self.kind, self.user_ts, self.asst_ts = k, kind, user_ts, asst_ts
        self.file_ids, self.gen_id, self.art, self.tools, self.explicit = list(file_ids), gen_id, art, tools, explicit


class Chat:
    __slots__ = ("idx", "id", "uuid", "user", "project", "created", "updated", "deleted", "name",
                 "model", "topic", "scenario", "turns", "hard_deleted", "art_id", "art_revs")

    def __init__(self, idx, id, uuid, user, project, created, name, model, topic, scenario=0):
        self.idx, self.id, self.uuid, self.user, self.project = idx, id, uuid, user, project
        self.created = self.updated = created
        self.deleted: float | None = None
        self.name, self.model, self.topic, self.scenario = name, model, topic, scenario
        self.turns: list[Turn] = []
        self.hard_deleted = False
        self.art_id: str | None = None
        self.art_revs = 0


@dataclass
class ArtifactVersion:
    version_id: str
    artifact_id: str
    chat: int
    k: int
    revision: int
    title: str
    artifact_type: str
    created: float
    md5: str | None = None
    size: int | None = None


@dataclass
class ProjectDoc:
    id: str
    project: int
    j: int
    filename: str
    created: float
    user: int
    deleted: bool = False
    content_override: str | None = None
    plants_override: list | None = None


@dataclass
class Project:
    idx: int
    id: str
    name: str
    description: str
    topic: str
    created: float
    updated: float
    user: int | None
    is_private: bool
    file_ids: list[str] = field(default_factory=list)
    doc_ids: list[str] = field(default_factory=list)
    collaborators: list[dict[str, Any]] = field(default_factory=list)
    deleted: float | None = None
    hard_deleted: bool = False


@dataclass
class GroundTruthRow:
    """One planted value: where it is and what it is. ``locator`` follows docs/contracts.md."""

    object_kind: str  # one of GROUND_TRUTH_KINDS
    object_id: str
    locator: str
    infotype: str
    value: str
    version: str | None = None  # code_artifact_version: the version id (object_id is the cart_ id)

    def as_dict(self) -> dict[str, str | None]:
        return {"object_kind": self.object_kind, "object_id": self.object_id, "version": self.version,
                "locator": self.locator, "infotype": self.infotype, "value": self.value}


CHAT_KINDS = frozenset({"message", "file", "generated_file", "artifact_version", "project_document",
                        "project_instructions"})
SESSION_KINDS = frozenset({"local_session_message", "remote_session_message", "code_artifact_version"})
GROUND_TRUTH_KINDS = CHAT_KINDS | SESSION_KINDS


def ground_truth_kinds(selection: str) -> frozenset[str]:
    """The kinds of a ground-truth selection: ``chats`` (chats, files, artifacts, projects),
    ``sessions`` (local and remote sessions, code artifacts) or ``all``."""
    try:
        return {"chats": CHAT_KINDS, "sessions": SESSION_KINDS, "all": GROUND_TRUTH_KINDS}[selection]
    except KeyError:
        raise ValueError(f"unknown ground-truth selection {selection!r}: chats, sessions or all") from None


def _weighted(rng: random.Random, table: dict[str, int]) -> str:
    return rng.choices(list(table), weights=list(table.values()))[0]


class SyntheticOrg(SessionsMixin):
    """A Claude Enterprise tenant: a parent org, a linked claude.ai org and a Console org."""

    def __init__(self, seed: int, now: float, days: float, huge_file_bytes: int):
        self.seed = seed
        self.now = now
        self.days = days
        self.huge_file_bytes = huge_file_bytes
        self.lock = threading.RLock()
        self.version = 0  # bumped by every change; caches of sorted views key on it
        self.parent: OrgUnit
        self.claude_org: OrgUnit
        self.console_org: OrgUnit
        self.users: list[User] = []
        self.users_by_id: dict[str, User] = {}
        self.groups: list[Group] = []
        self.roles: list[Role] = []
        self.projects: list[Project] = []
        self.projects_by_id: dict[str, Project] = {}
        self.chats: list[Chat] = []
        self.chats_by_id: dict[str, Chat] = {}
        self.files: dict[str, FileObj] = {}
        self.artifacts: dict[str, ArtifactVersion] = {}
        self.docs: dict[str, ProjectDoc] = {}
        self.department: dict[int, str] = {}  # user index -> department group name
        self.local_sessions: list[LocalSession] = []
        self.remote_sessions: list[RemoteSession] = []
        self.code_artifacts: list[CodeArtifact] = []
        self.settings: dict[str, list[dict[str, Any]]] = {}  # linked org uuid -> settings rows
        self.activities = ActivityLog()
        self._act_seq = 0
        self._last_t = now
        self._attachment_seq = 0
        self.clock: Callable[[], float] = time.time
        from vigil.simulator.content import ContentStore  # circular: content needs the org types

        self.content = ContentStore(self)
        self.sessions = SessionContent(self)

    # ------------------------------------------------------------------------------ building
    @classmethod
    def generate(cls, seed: int, users: int = 25, chats: int = 200, days: float = 30,
                 now: float | None = None, projects: int | None = None,
                 huge_file_bytes: int = 26 * 1024 * 1024, local_sessions: int = 6, remote_sessions: int = 4,
                 code_artifacts: int = 5) -> "SyntheticOrg":
        """Build the org index. ``now`` (epoch seconds or datetime; default: the current time)
        is the end of the simulated history; all generated timestamps lie before it.

        ``local_sessions`` (Cowork / Claude Code), ``remote_sessions`` (cloud Cowork) and
        ``code_artifacts`` (Claude Code hosted sites) come from random streams of their own:
        any counts leave the chats, projects and activities of a seed unchanged."""
        if users < 1:
            raise ValueError("users must be at least 1")
        if chats < 0:
            raise ValueError("chats must be >= 0")
        if days < 0.5:
            raise ValueError("days must be at least 0.5")
        if min(local_sessions, remote_sessions, code_artifacts) < 0:
            raise ValueError("session and code-artifact counts must be >= 0")
        if hasattr(now, "timestamp"):
            now = now.timestamp()
        now = float(int(now if now is not None else time.time()))
        org = cls(seed, now, days, huge_file_bytes)
        org._build_directory(users)
        org._build_projects(projects if projects is not None else max(1, min(200, users // 3 + 1)))
        acts: list[Activity] = []
        for i in range(chats):
            acts.extend(org._build_chat(i, None))
        acts.extend(org._project_activities())
        acts.extend(org._login_activities())
        org.activities.extend_unsorted(acts)
        org.settings = {o.uuid: default_settings(o.kind) for o in org.org_units()}
        build_sessions(org, local_sessions, remote_sessions, code_artifacts)
        org._last_t = org._latest_event()
        return org

    def _latest_event(self) -> float:
        """The time of the latest generated event: live changes are placed after it."""
        times = [a.t for a in self.activities.all()[-1:]]
        times += [c.updated for c in self.chats] + [p.updated for p in self.projects]
        times += [f.created for f in self.files.values()] + [d.created for d in self.docs.values()]
        times += [s.calls[-1].t for s in self.local_sessions if s.calls]
        times += [s.updated for s in self.remote_sessions] + [a.updated for a in self.code_artifacts]
        return max(times, default=self.now - 120)

    def _new_activity(self, t: float, type: str, actor: tuple, org: str | None, **fields: Any) -> Activity:
        self._act_seq += 1
        if t == int(t):  # generated history uses whole seconds; activities carry microseconds
            t += (self._act_seq * 7919 % 999983) / 1e6
        return Activity(make_id("activity_", self.seed, "act", self._act_seq), t, type, actor, org, fields)

    def _build_directory(self, n_users: int) -> None:
        rng = random.Random(sub_seed(self.seed, "directory"))
        start = self.now - self.days * DAY
        founded = start - 200 * DAY
        self.parent = OrgUnit(make_uuid(self.seed, "org", "parent"), make_id("org_", self.seed, "org", "parent"),
                              "Acme Corp", founded - DAY, "parent")
        self.claude_org = OrgUnit(make_uuid(self.seed, "org", "claude"), make_id("org_", self.seed, "org", "claude"),
                                  "Acme Corp (claude.ai)", founded, "claude_ai")
        self.console_org = OrgUnit(make_uuid(self.seed, "org", "console"), make_id("org_", self.seed, "org", "console"),
                                   "Acme Corp API Production", founded + 40 * DAY, "console")
        seen: set[str] = set()
        for i in range(n_users):
            first, last = rng.choice(synth_values.FIRST_NAMES), rng.choice(synth_values.LAST_NAMES)
            base = f"{first}.{last}".lower().replace("ü", "u").replace("á", "a")
            email = f"{base}@acme-corp.com"
            n = 2
            while email in seen:
                email = f"{base}{n}@acme-corp.com"
                n += 1
            seen.add(email)
            role = "primary_owner" if i == 0 else rng.choices(
                ("user", "admin", "developer", "claude_code_user", "billing", "membership_admin"),
                weights=(80, 6, 6, 5, 2, 1))[0]
            created = founded + (i / max(1, n_users)) * (start - founded) + rng.random() * 3600
            orgs = (self.claude_org.uuid, self.console_org.uuid) if role in ("developer", "primary_owner") \
                else (self.claude_org.uuid,)
            u = User(i, make_id("user_", self.seed, "user", i), f"{first} {last}", email, role, created,
                     f"198.51.{rng.randint(0, 255)}.{rng.randint(1, 254)}", rng.choice(USER_AGENTS), orgs)
            self.users.append(u)
            self.users_by_id[u.id] = u
        role_specs = [("Legal Reviewer", "Read-only access for legal hold reviews", "legal_hold", "organization"),
                      ("Claude Code Users", "Members allowed to use Claude Code", "claude_code", "organization"),
                      ("Project Admins", "Can manage shared projects", "project_admin", "project")]
        for j, (name, desc, action, rtype) in enumerate(role_specs):
            created = founded + j * 7 * DAY
            self.roles.append(Role(make_id("rbac_role_", self.seed, "role", j), name, desc, created,
                                   None if j == 1 else created + DAY,
                                   [{"action": action, "resource_type": rtype,
                                     "resource_id": self.claude_org.uuid}]))
        for j, (name, desc, source, _) in enumerate(GROUP_SPECS):
            created = founded + (j + 1) * 3 * DAY
            roles = [self.roles[j % len(self.roles)].id] if j % 2 == 0 and j < LEGACY_GROUPS else None
            if name == "Claude Code Pilot":
                roles = [self.roles[1].id]
            self.groups.append(Group(make_id("rbac_group_", self.seed, "group", j), name, desc, source, roles,
                                     created, created + 20 * DAY if source == "scim" else None, []))
        self._assign_departments()

    def _assign_departments(self) -> None:
        """Every user belongs to one department group (engineers and Claude Code users to
        Engineering); some engineers also to Security Champions, Claude Code users to the pilot."""
        rng = random.Random(sub_seed(self.seed, "departments"))
        by_name = {g.name: g for g in self.groups}
        departments = [(spec[0], spec[3]) for spec in GROUP_SPECS if spec[3]]
        latest = self.now - 3600

        def join(g: Group, u: User) -> None:
            g.members.append((u.idx, min(latest, max(g.created, u.created) + rng.random() * DAY)))

        for u in self.users:
            coders = u.role in ("developer", "claude_code_user")
            if coders:
                dept = "Engineering"
            elif 1 <= u.idx <= len(departments):  # small orgs still have every department
                dept = departments[(u.idx - 1) % len(departments)][0]
            else:
                dept = rng.choices([d for d, _ in departments], weights=[w for _, w in departments])[0]
            self.department[u.idx] = dept
            join(by_name[dept], u)
            if dept == "Engineering" and rng.random() < 0.25:
                join(by_name["Security Champions"], u)
            if coders or (dept == "Engineering" and rng.random() < 0.4):
                join(by_name["Claude Code Pilot"], u)
        for g in self.groups:
            g.members.sort(key=lambda m: m[1])

    def _build_projects(self, n: int) -> None:
        start = self.now - self.days * DAY
        for p in range(n):
            rng = random.Random(sub_seed(self.seed, "project", p))
            topic = _weighted(rng, TOPIC_WEIGHTS)
            created = start - rng.random() * 60 * DAY
            owner = rng.randrange(len(self.users))
            proj = Project(p, make_id("claude_proj_", self.seed, "project", p),
                           synth_text.project_name(rng, topic),
                           f"Shared workspace for {topic} work", topic, created, created,
                           None if rng.random() < 0.05 else owner, rng.random() < 0.5)
            t = created
            n_attachments = rng.randint(1, 4)
            for j in range(n_attachments):
                t += rng.random() * 2 * DAY
                # short histories (days < 8): keep the upload in the past, in upload order
                t = min(t, self.now - (n_attachments - j) * 900)
                if rng.random() < 0.5:
                    doc = ProjectDoc(make_id("claude_proj_doc_", self.seed, "doc", p, j), p, j,
                                     rng.choice(("notes", "policy", "faq", "runbook", "pricing-notes",
                                                 "contacts")) + f"-{j + 1}.txt", t, owner)
                    self.docs[doc.id] = doc
                    proj.doc_ids.append(doc.id)
                else:
                    fmt = rng.choice(("pdf", "docx", "xlsx", "csv", "md", "pptx", "json", "txt"))
                    fid = make_id("claude_file_", self.seed, "pfile", p, j)
                    f = FileObj(fid, "project", None, None, p, fmt, "plain",
                                f"{proj.name.lower().replace(' ', '-')}-{j + 1}.{fmt}",
                                _mime(fmt), t, owner, topic)
                    self.files[fid] = f
                    proj.file_ids.append(fid)
            proj.updated = max(t, created)
            g = self.groups[p % LEGACY_GROUPS]  # the first groups of every seed, as before departments
            proj.collaborators = [
                {"type": "user", "user_id": self.users[owner].id, "role": "owner", "granted_at": created},
                {"type": "group", "group_id": g.id, "role": "editor", "granted_at": created + 3600},
            ]
            if not proj.is_private:
                proj.collaborators.append({"type": "organization", "organization_uuid": self.claude_org.uuid,
                                           "role": "viewer", "granted_at": created + 7200})
            if rng.random() < 0.2:
                proj.collaborators.append({"type": "organization_role", "organization_role": "admin",
                                           "role": "admin", "granted_at": created + 9000})
            self.projects.append(proj)
            self.projects_by_id[proj.id] = proj

    def _project_activities(self) -> list[Activity]:
        acts = []
        org = self.claude_org.tagged_id
        for proj in self.projects:
            actor = ("user", proj.user if proj.user is not None else 0)
            acts.append(self._new_activity(proj.created, "claude_project_created", actor, org,
                                           claude_project_id=proj.id))
            for fid in proj.file_ids:
                f = self.files[fid]
                acts.append(self._new_activity(f.created, "claude_project_file_uploaded", actor, org,
                                               claude_project_id=proj.id, claude_file_id=fid, filename=f.filename))
            for did in proj.doc_ids:
                d = self.docs[did]
                acts.append(self._new_activity(d.created, "claude_project_document_uploaded", actor, org,
                                               claude_project_id=proj.id, claude_project_document_id=did,
                                               filename=d.filename))
        return acts

    def _login_activities(self) -> list[Activity]:
        rng = random.Random(sub_seed(self.seed, "logins"))
        acts = []
        start = self.now - self.days * DAY
        for u in self.users:
            for _ in range(max(1, int(self.days // 7))):
                t = start + rng.random() * (self.now - start - 120)
                acts.append(self._new_activity(t, "sso_login_succeeded", ("user", u.idx), None))
        return acts

    def _pick_attachment(self, rng: random.Random) -> tuple[str, str]:
        i = self._attachment_seq
        self._attachment_seq += 1
        if i < len(SHOWCASE):
            return SHOWCASE[i]
        r = rng.random()
        if r < 0.03:
            return rng.choice(("zip", "7z", "pdf", "docx", "xlsx")), "encrypted"
        if r < 0.06:
            return rng.choice(("pdf", "docx", "xlsx", "zip", "pptx")), "corrupt"
        if r < 0.0625:
            return rng.choice(HUGE_FORMATS), "huge"
        return _weighted(rng, ATTACHMENT_FORMATS), "plain"

    def _build_chat(self, i: int, created_at: float | None, user: int | None = None,
                    project: str | None = None, generated: bool = True) -> list[Activity]:
        """Index chat ``i``; returns its activities (not yet added to the log)."""
        rng = random.Random(sub_seed(self.seed, "chat", i))
        topic = _weighted(rng, TOPIC_WEIGHTS)
        uidx = user if user is not None else rng.randrange(len(self.users))
        live = created_at is not None
        if created_at is None:
            created = self.now - self.days * DAY + rng.random() * (self.days * DAY - 6 * 3600)
        else:
            created = created_at
        proj = None
        if project is not None:
            proj = self.projects_by_id[project].idx
        elif generated and self.projects and rng.random() < 0.25:
            same = [p.idx for p in self.projects if p.topic == topic and not p.hard_deleted]
            proj = rng.choice(same) if same else rng.randrange(len(self.projects))
        model = None if rng.random() < 0.02 else rng.choice(MODELS)
        scenario = synth_text.pick_scenario(rng, topic)
        chat = Chat(i, make_id("claude_chat_", self.seed, "chat", i), make_uuid(self.seed, "chat", i), uidx,
                    self.projects[proj].id if proj is not None else None, float(int(created)),
                    synth_text.chat_title(rng, topic, scenario), model, topic, scenario)
        org = self.claude_org.tagged_id
        actor = ("user", uidx)
        acts = [self._new_activity(chat.created, "claude_chat_created", actor, org,
                                   claude_chat_id=chat.id, claude_project_id=chat.project)]
        self.chats.append(chat)
        self.chats_by_id[chat.id] = chat
        if generated:
            r = rng.random()
            n_turns = 1 if r < 0.25 else rng.randint(2, 4) if r < 0.75 else rng.randint(5, 10) if r < 0.95 \
                else rng.randint(11, 30)
            t = chat.created + rng.randint(2, 40)
            for _ in range(n_turns):
                acts.extend(self._append_gen_turn(chat, rng, t))
                t = chat.turns[-1].asst_ts + rng.randint(20, 600)
            if not live:
                span = max(self.now - 120 - chat.updated, 1)
                if rng.random() < 0.08:  # renamed later
                    chat.updated = float(int(chat.updated + rng.random() * min(span, 3 * DAY)))
                    acts.append(self._new_activity(chat.updated, "claude_chat_updated", actor, org,
                                                   claude_chat_id=chat.id, claude_project_id=chat.project))
                if rng.random() < 0.04:  # soft-deleted by the user in claude.ai
                    span = max(self.now - 120 - chat.updated, 1)
                    chat.deleted = chat.updated = float(int(chat.updated + 1 + rng.random() * min(span, 5 * DAY)))
                    acts.append(self._new_activity(chat.deleted, "claude_chat_deleted", actor, org,
                                                   claude_chat_id=chat.id, claude_project_id=chat.project))
                if rng.random() < 0.3:
                    acts.append(self._new_activity(chat.updated + rng.randint(60, 3600), "claude_chat_viewed",
                                                   actor, org, claude_chat_id=chat.id,
                                                   claude_project_id=chat.project))
                    if acts[-1].t >= self.now:
                        acts.pop()
        if proj is not None:
            p = self.projects[proj]
            p.updated = max(p.updated, chat.created)
        return acts

    def _append_gen_turn(self, chat: Chat, rng: random.Random, t: float) -> list[Activity]:
        """Add one generated user/assistant exchange starting at ``t``; returns its activities."""
        k = len(chat.turns)
        org = self.claude_org.tagged_id
        actor = ("user", chat.user)
        acts: list[Activity] = []
        t = float(int(t))
        turn = Turn(k, "gen", t, t + rng.randint(4, 90), tools=rng.choice((0, 0, 1, 1, 2)))
        p_attach = 0.3 if k == 0 else 0.08
        if rng.random() < p_attach:
            fmt, variant = self._pick_attachment(rng)
            if variant == "huge":
                fmt = rng.choice(HUGE_FORMATS) if fmt not in HUGE_FORMATS else fmt
            fid = make_id("claude_file_", self.seed, "file", chat.idx, k)
            stem = rng.choice(("export", "report", "notes", "customers", "payroll", "config", "invoices",
                               "contacts", "backup", "q3-summary", "logs", "records"))
            f = FileObj(fid, "chat", chat.idx, k, None, fmt, variant, f"{stem}_{chat.idx}_{k}.{fmt}",
                        _mime(fmt), t - 2, chat.user, chat.topic)
            self.files[fid] = f
            turn.file_ids.append(fid)
            acts.append(self._new_activity(f.created, "claude_file_uploaded", actor, org, claude_file_id=fid,
                                           filename=f.filename,
                                           claude_chat_id=None if rng.random() < 0.2 else chat.id,
                                           claude_project_id=chat.project))
        if turn.tools and rng.random() < 0.15:
            fmt = rng.choice(GENERATED_FORMATS)
            gid = make_id("claude_gen_file_", self.seed, "gen", chat.idx, k)
            name = rng.choice(("analysis", "summary", "ranked", "cleaned", "chart-data", "report"))
            f = FileObj(gid, "generated", chat.idx, k, None, fmt, "plain", f"{name}_{k}.{fmt}", _mime(fmt),
                        turn.asst_ts, chat.user, chat.topic)
            self.files[gid] = f
            turn.gen_id = gid
        if rng.random() < (0.45 if chat.art_id else 0.15):
            if chat.art_id is None:
                chat.art_id = make_id("claude_artifact_", self.seed, "art", chat.idx)
                acts.append(self._new_activity(turn.asst_ts, "claude_artifact_created", actor, org,
                                               claude_artifact_id=chat.art_id))
            vid = make_id("claude_artifact_version_", self.seed, "artv", chat.idx, k)
            code = chat.topic == "engineering" and chat.idx % 2 == 0
            self.artifacts[vid] = ArtifactVersion(
                vid, chat.art_id, chat.idx, k, chat.art_revs, chat.name[:60],
                "application/vnd.ant.code" if code else "text/markdown", turn.asst_ts)
            chat.art_revs += 1
            turn.art = vid
        chat.turns.append(turn)
        chat.updated = max(chat.updated, turn.asst_ts)
        return acts

    # ------------------------------------------------------------------------------ lookups
    def chat(self, chat_id: str) -> Chat | None:
        c = self.chats_by_id.get(chat_id)
        return None if c is None or c.hard_deleted else c

    def file(self, file_id: str, kinds: tuple[str, ...] = ("chat", "project")) -> FileObj | None:
        f = self.files.get(file_id)
        if f is None or f.deleted or f.kind not in kinds:
            return None
        if f.chat is not None and self.chats[f.chat].hard_deleted:
            return None
        if f.project is not None and self.projects[f.project].hard_deleted:
            return None
        return f

    def artifact(self, version_id: str) -> ArtifactVersion | None:
        a = self.artifacts.get(version_id)
        if a is None or self.chats[a.chat].hard_deleted:
            return None
        return a

    def project(self, project_id: str) -> Project | None:
        p = self.projects_by_id.get(project_id)
        return None if p is None or p.hard_deleted else p

    def doc(self, doc_id: str) -> ProjectDoc | None:
        d = self.docs.get(doc_id)
        if d is None or d.deleted or self.projects[d.project].hard_deleted:
            return None
        return d

    def org_units(self) -> list[OrgUnit]:
        """Linked organizations (what the organizations endpoint lists), oldest first."""
        return [self.claude_org, self.console_org]

    def resolve_org(self, ident: str) -> OrgUnit | None:
        for o in (self.parent, self.claude_org, self.console_org):
            if ident in (o.uuid, o.tagged_id):
                return o
        return None

    def live_chats(self) -> Iterator[Chat]:
        return (c for c in self.chats if not c.hard_deleted)

    # ------------------------------------------------------------------------------ live changes
    def tick(self) -> float:
        """Current time for a live change: the clock, but never behind the latest event (events
        are 1 ms apart at least, so only a clock frozen by a test can see them lead it)."""
        with self.lock:
            t = max(self.clock(), self._last_t + 0.001)
            t = round(t * 1_000_000) / 1_000_000  # whole microseconds: cursors round-trip exactly
            self._last_t = t
            return t

    def _emit(self, acts: list[Activity]) -> None:
        for a in acts:
            self.activities.add(a)

    def log_api_access(self, t: float, key_id: str, ip: str, ua: str, request_id: str, method: str,
                       status: int, url: str) -> None:
        """Record one ``compliance_api_accessed`` activity (cheap: one append)."""
        with self.lock:
            self._act_seq += 1
            seq = self._act_seq
            t = max(t, self._last_t + 1e-6)  # strictly after the previous event: no ties with it
            t = round(t * 1_000_000) / 1_000_000
            self._last_t = t
        a = Activity(make_id("activity_", self.seed, "act", seq), t, "compliance_api_accessed",
                     ("api", key_id, ip, ua), None,
                     {"request_id": request_id, "request_method": method, "status_code": status, "url": url,
                      "request_body": None})
        self.activities.add(a)

    def _live_timeline(self, first: float, turns: list[Turn], lo: float, hi: float) -> Callable[[float], float]:
        """Where generated live content goes: its natural timeline (which starts at ``first`` and
        runs minutes to hours ahead) squeezed, in order, into at most ``LIVE_WINDOW_S`` seconds
        ending at ``hi`` (now) and after ``lo`` (the latest earlier event), never in the future."""
        last = max([first] + [x for t in turns for x in (t.user_ts, t.asst_ts) if x is not None])
        return squeeze_into(first, last, lo, hi, LIVE_WINDOW_S)

    def _place_turns(self, turns: list[Turn], acts: list[Activity], place: Callable[[float], float]) -> None:
        for turn in turns:
            turn.user_ts = place(turn.user_ts)
            if turn.asst_ts is not None:
                turn.asst_ts = place(turn.asst_ts)
            for fid in turn.file_ids + ([turn.gen_id] if turn.gen_id else []):
                self.files[fid].created = place(self.files[fid].created)
            if turn.art:
                self.artifacts[turn.art].created = place(self.artifacts[turn.art].created)
        for a in acts:
            a.t = place(a.t)

    def add_generated_chats(self, count: int, user: str | None = None) -> list[str]:
        """Add ``count`` generated chats created now; returns their IDs."""
        ids = []
        with self.lock:
            for _ in range(count):
                lo = self._last_t
                t = self.tick()
                uidx = self.users_by_id[user].idx if user else None
                acts = self._build_chat(len(self.chats), t, user=uidx)
                chat = self.chats[-1]
                place = self._live_timeline(chat.created, chat.turns, lo, t)
                chat.created = place(chat.created)
                self._place_turns(chat.turns, acts, place)
                chat.updated = max([chat.created] + [x.asst_ts for x in chat.turns])
                self._emit(acts)
                ids.append(chat.id)
            self.version += 1
        return ids

    def add_chat(self, user: str | None = None, messages: list[dict[str, Any]] | None = None,
                 name: str | None = None, project_id: str | None = None) -> str:
        """Add a chat created now. ``messages`` (optional) are dicts accepted by ``add_message``;
        without them the chat gets generated turns. Returns the chat ID."""
        with self.lock:
            if messages is None:
                return self.add_generated_chats(1, user=user)[0]
            uidx = self._user_idx(user)
            if project_id is not None and self.project(project_id) is None:
                raise KeyError(f"unknown project {project_id}")
            acts = self._build_chat(len(self.chats), self.tick(), user=uidx, project=project_id, generated=False)
            chat = self.chats[-1]
            if name:
                chat.name = name
            self._emit(acts)
            self.version += 1
        for m in messages:
            self.add_message(chat.id, **m)
        return chat.id

    def _user_idx(self, user: str | None) -> int:
        if user is None:
            return 0
        if user in self.users_by_id:
            return self.users_by_id[user].idx
        for u in self.users:
            if u.email == user:
                return u.idx
        raise KeyError(f"unknown user {user}")

    def add_message(self, chat_id: str, text: str, role: str = "user",
                    plants: list[tuple[str, str]] | None = None,
                    files: list[dict[str, Any]] | None = None) -> str:
        """Append one message. ``plants`` lists ``(infotype, value)`` pairs the caller placed in
        ``text`` (they join the ground truth); ``files`` are ``{"filename", "data": bytes,
        "mime_type"?, "plants"?}`` dicts uploaded with a user message. Returns the message ID."""
        if role not in ("user", "assistant"):
            raise ValueError("role must be 'user' or 'assistant'")
        with self.lock:
            chat = self.chat(chat_id)
            if chat is None:
                raise KeyError(f"Chat {chat_id} not found.")
            for _, value in plants or ():
                if value not in text:
                    raise ValueError("every planted value must occur in the message text")
            t = self.tick()
            k = len(chat.turns)
            turn = Turn(k, "explicit", t, explicit={"role": role, "text": text, "plants": list(plants or ())})
            acts = []
            for j, spec in enumerate(files or ()):
                acts.append(self._add_explicit_file(chat, k, j, spec, t))
                turn.file_ids.append(acts[-1].fields["claude_file_id"])
            chat.turns.append(turn)
            chat.updated = t
            acts.append(self._new_activity(t, "claude_chat_updated", ("user", chat.user), self.claude_org.tagged_id,
                                           claude_chat_id=chat.id, claude_project_id=chat.project))
            self._emit(acts)
            self.version += 1
            return self.content.message_id(chat, turn, role)

    def _add_explicit_file(self, chat: Chat, k: int, j: int, spec: dict[str, Any], t: float) -> Activity:
        data = spec["data"]
        if isinstance(data, str):
            data = data.encode()
        fid = make_id("claude_file_", self.seed, "xfile", chat.idx, k, j)
        name = spec.get("filename") or f"upload_{k}_{j}.bin"
        f = FileObj(fid, "chat", chat.idx, k, None, name.rsplit(".", 1)[-1], "explicit", name,
                    spec.get("mime_type") or _mime(name.rsplit(".", 1)[-1]), t, chat.user, chat.topic)
        f.data = data
        f.plants = [(loc, it, v) for loc, it, v in spec.get("plants", ())]
        self.files[fid] = f
        return self._new_activity(t, "claude_file_uploaded", ("user", chat.user), self.claude_org.tagged_id,
                                  claude_file_id=fid, filename=name, claude_chat_id=chat.id,
                                  claude_project_id=chat.project)

    def add_turns(self, chat_id: str, count: int = 1) -> list[str]:
        """Append ``count`` generated user/assistant exchanges (with planted values)."""
        with self.lock:
            chat = self.chat(chat_id)
            if chat is None:
                raise KeyError(f"Chat {chat_id} not found.")
            ids = []
            for _ in range(count):
                k = len(chat.turns)
                rng = random.Random(sub_seed(self.seed, "liveturn", chat.idx, k))
                lo = max(self._last_t, chat.updated)
                updated = chat.updated
                t = self.tick()
                acts = self._append_gen_turn(chat, rng, t)
                turn = chat.turns[-1]
                self._place_turns([turn], acts, self._live_timeline(turn.user_ts, [turn], lo, t))
                chat.updated = max(updated, turn.asst_ts)
                acts.append(self._new_activity(turn.asst_ts, "claude_chat_updated", ("user", chat.user),
                                               self.claude_org.tagged_id, claude_chat_id=chat.id,
                                               claude_project_id=chat.project))
                self._emit(acts)
                ids += [self.content.message_id(chat, turn, "user"), self.content.message_id(chat, turn, "assistant")]
            self.version += 1
            return ids

    def add_file(self, chat_id: str, filename: str | None = None, data: bytes | str | None = None,
                 fmt: str | None = None, mime_type: str | None = None,
                 plants: list[tuple[str, str, str]] | None = None) -> str:
        """Upload a file into ``chat_id`` with a new user message. Give ``data`` (and optional
        ``plants`` as ``(locator, infotype, value)``), or a ``fmt`` to generate a planted document.
        Returns the file ID."""
        with self.lock:
            chat = self.chat(chat_id)
            if chat is None:
                raise KeyError(f"Chat {chat_id} not found.")
            t = self.tick()
            k = len(chat.turns)
            if data is None:
                fmt = fmt or "txt"
                fid = make_id("claude_file_", self.seed, "xfile", chat.idx, k, 0)
                f = FileObj(fid, "chat", chat.idx, k, None, fmt, "plain", filename or f"upload_{chat.idx}_{k}.{fmt}",
                            _mime(fmt), t, chat.user, chat.topic)
                self.files[fid] = f
                act = self._new_activity(t, "claude_file_uploaded", ("user", chat.user), self.claude_org.tagged_id,
                                         claude_file_id=fid, filename=f.filename, claude_chat_id=chat.id,
                                         claude_project_id=chat.project)
            else:
                act = self._add_explicit_file(chat, k, 0, {"filename": filename, "data": data,
                                                           "mime_type": mime_type, "plants": plants or ()}, t)
                fid = act.fields["claude_file_id"]
            turn = Turn(k, "explicit", t, file_ids=[fid],
                        explicit={"role": "user", "text": f"Uploading {self.files[fid].filename}.", "plants": []})
            chat.turns.append(turn)
            chat.updated = t
            self._emit([act, self._new_activity(t, "claude_chat_updated", ("user", chat.user),
                                                self.claude_org.tagged_id, claude_chat_id=chat.id,
                                                claude_project_id=chat.project)])
            self.version += 1
            return fid

    def soft_delete_chat(self, chat_id: str) -> None:
        """What a user deleting the chat in claude.ai does: ``deleted_at`` set, still readable."""
        with self.lock:
            chat = self.chat(chat_id)
            if chat is None:
                raise KeyError(f"Chat {chat_id} not found.")
            t = self.tick()
            chat.deleted = chat.updated = t
            self._emit([self._new_activity(t, "claude_chat_deleted", ("user", chat.user), self.claude_org.tagged_id,
                                           claude_chat_id=chat.id, claude_project_id=chat.project)])
            self.version += 1

    def hard_delete_chat(self, chat_id: str, actor: tuple) -> bool:
        with self.lock:
            chat = self.chat(chat_id)
            if chat is None:
                return False
            chat.hard_deleted = True
            self._emit([self._new_activity(self.tick(), "claude_chat_deleted", actor, self.claude_org.tagged_id,
                                           claude_chat_id=chat.id, claude_project_id=chat.project)])
            self.version += 1
            return True

    def hard_delete_file(self, file_id: str, actor: tuple) -> bool:
        with self.lock:
            f = self.file(file_id)
            if f is None:
                return False
            f.deleted = True
            t = self.tick()
            if f.project is not None:
                act = self._new_activity(t, "claude_project_file_deleted", actor, self.claude_org.tagged_id,
                                         claude_project_id=self.projects[f.project].id, claude_file_id=f.id)
            else:
                act = self._new_activity(t, "claude_file_deleted", actor, self.claude_org.tagged_id,
                                         claude_file_id=f.id, filename=f.filename)
            self._emit([act])
            self.version += 1
            return True

    def project_chat_count(self, p: Project) -> int:
        return sum(1 for c in self.chats if c.project == p.id and not c.hard_deleted)

    def hard_delete_project(self, project_id: str, actor: tuple) -> str:
        """Returns "deleted", "missing" or "has_chats" (the API's 409)."""
        with self.lock:
            p = self.project(project_id)
            if p is None:
                return "missing"
            if self.project_chat_count(p):
                return "has_chats"
            p.hard_deleted = True
            self._emit([self._new_activity(self.tick(), "claude_project_deleted", actor, self.claude_org.tagged_id,
                                           claude_project_id=p.id)])
            self.version += 1
            return "deleted"

    def hard_delete_doc(self, doc_id: str, actor: tuple) -> bool:
        with self.lock:
            d = self.doc(doc_id)
            if d is None:
                return False
            d.deleted = True
            self._emit([self._new_activity(self.tick(), "claude_project_document_deleted", actor,
                                           self.claude_org.tagged_id, claude_project_id=self.projects[d.project].id,
                                           claude_project_document_id=d.id, filename=d.filename)])
            self.version += 1
            return True

    # ------------------------------------------------------------------------------ ground truth
    def _file_rows(self, fid: str) -> Iterator[GroundTruthRow]:
        f = self.file(fid, ("chat", "project", "generated"))
        if f is None:
            return
        kind = "generated_file" if f.kind == "generated" else "file"
        for loc, it, v in self.content.file_plants(f):
            yield GroundTruthRow(kind, f.id, loc, it, v)

    def ground_truth(self, kinds: str | Iterable[str] | None = CHAT_KINDS) -> Iterator[GroundTruthRow]:
        """Every planted value still reachable through the API, object by object.

        ``kinds``: the object kinds to list: a set of ``GROUND_TRUTH_KINDS``, ``"chats"``
        (``CHAT_KINDS``, the default: chats, files, artifacts and projects, as before sessions
        existed), ``"sessions"`` (``SESSION_KINDS``: local and remote session messages and code
        artifact versions) or ``"all"``/None.

        Values inside encrypted, corrupt or oversized files, oversized code-artifact versions,
        unavailable session messages, aged-out local-session calls, pending remote sessions and
        versions still uploading are not listed (nothing can read them); message locators assume
        untruncated tool I/O (``tool_*_max_chars=-1``, ``tool_*_max_bytes=-1``)."""
        if kinds is None:
            kinds = GROUND_TRUTH_KINDS
        elif isinstance(kinds, str):
            kinds = ground_truth_kinds(kinds)
        kinds = frozenset(kinds)
        unknown = kinds - GROUND_TRUTH_KINDS
        if unknown:
            raise ValueError(f"unknown ground-truth kinds {sorted(unknown)}; known: {sorted(GROUND_TRUTH_KINDS)}")
        if kinds & CHAT_KINDS:
            yield from (r for r in self._chat_rows() if r.object_kind in kinds)
        if kinds & SESSION_KINDS:
            yield from self._session_rows(kinds)

    def _chat_rows(self) -> Iterator[GroundTruthRow]:
        for chat in list(self.chats):
            if chat.hard_deleted:
                continue
            for msg, plants in self.content.chat_messages(chat):
                for loc, it, v in plants:
                    yield GroundTruthRow("message", msg["id"], loc, it, v)
            # the chat's files right after its messages: they were just rendered and are cached
            for turn in chat.turns:
                for fid in turn.file_ids + ([turn.gen_id] if turn.gen_id else []):
                    yield from self._file_rows(fid)
        for p in self.projects:
            for fid in p.file_ids:
                yield from self._file_rows(fid)
        for a in list(self.artifacts.values()):
            if self.artifact(a.version_id) is None:
                continue
            for loc, it, v in self.content.artifact(a)[1]:
                yield GroundTruthRow("artifact_version", a.version_id, loc, it, v)
        for p in self.projects:
            if p.hard_deleted:
                continue
            for it, v in self.content.instructions(p).plants:
                yield GroundTruthRow("project_instructions", p.id, "instructions", it, v)
            for did in p.doc_ids:
                d = self.doc(did)
                if d is None:
                    continue
                for loc, it, v in self.content.doc(d)[1]:
                    yield GroundTruthRow("project_document", d.id, loc, it, v)


def _mime(fmt: str) -> str:
    from vigil.synth.documents import MIME_TYPES

    return MIME_TYPES.get(fmt, "application/octet-stream")
