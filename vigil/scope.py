"""Which chats, sessions, Claude Code sites and projects a scan inspects.

Regular expressions are matched against the whole value (``re.fullmatch``), case-insensitively:
``.*@example\\.com`` selects every address at example.com; use ``.*`` for a substring match.
E-mail lists compare case-insensitively; project name lists compare exactly after trimming
surrounding whitespace and ignoring case.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

CHAT_MODES = ("all", "include", "exclude", "regex")
PROJECT_MODES = ("all", "include", "exclude", "regex")


def _norm(text: str) -> str:
    return text.strip().casefold()


@dataclass(frozen=True)
class ChatScope:
    """Chats (and sessions and Claude Code sites) selected by their owner.

    - ``all``: everything;
    - ``include``: only what belongs to ``users`` or to members of ``groups``;
    - ``exclude``: everything except what belongs to ``users`` or to members of ``groups``;
    - ``regex``: only what belongs to an owner whose address matches ``email_regex``.
    ``groups`` are directory groups by name (case-insensitive) or id (``rbac_group_…``), as a
    security team scopes by department. An owner with no known address is kept by ``all`` and
    ``exclude`` (unless a listed group holds them) and dropped by ``include`` (unless a listed
    group holds them) and ``regex``.
    """

    mode: str = "all"
    users: tuple[str, ...] = ()
    email_regex: str | None = None
    groups: tuple[str, ...] = ()
    _users: frozenset[str] = field(init=False, repr=False, compare=False)
    _groups: frozenset[str] = field(init=False, repr=False, compare=False)
    _regex: re.Pattern[str] | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.mode not in CHAT_MODES:
            raise ValueError(f"chat scope mode must be one of {'|'.join(CHAT_MODES)}")
        if self.groups and self.mode not in ("include", "exclude"):
            raise ValueError("chat scope groups need mode 'include' or 'exclude'")
        object.__setattr__(self, "_users", frozenset(_norm(u) for u in self.users))
        object.__setattr__(self, "_groups", frozenset(_norm(g) for g in self.groups))
        pattern = re.compile(self.email_regex, re.IGNORECASE) if self.email_regex else None
        if self.mode == "regex" and pattern is None:
            raise ValueError("chat scope mode 'regex' needs email_regex")
        object.__setattr__(self, "_regex", pattern)

    @property
    def uses_groups(self) -> bool:
        """Whether deciding needs the owner's groups (from the directory)."""
        return bool(self.groups)

    def names_group(self, group_id: str, name: str | None) -> bool:
        """True when ``groups`` lists this group (by id or by name)."""
        return _norm(group_id) in self._groups or (name is not None and _norm(name) in self._groups)

    def includes(self, user_email: str | None, groups: Iterable[tuple[str, str | None]] = ()) -> bool:
        """True when something owned by ``user_email``, a member of ``groups`` (``(id, name)``
        pairs from the directory), is in scope."""
        if self.mode == "all":
            return True
        email = _norm(user_email) if user_email else None
        if self.mode in ("include", "exclude"):
            listed = (email is not None and email in self._users) or (
                bool(self._groups) and any(self.names_group(gid, name) for gid, name in groups))
            return listed if self.mode == "include" else not listed
        return user_email is not None and self._regex.fullmatch(user_email.strip()) is not None


@dataclass(frozen=True)
class ProjectScope:
    """Projects selected by name or id.

    - ``all``: every project;
    - ``include``: only projects whose id is in ``ids`` or whose name is in ``names``;
    - ``exclude``: every project except those;
    - ``regex``: only projects whose name matches ``name_regex``.
    Content outside any project (``project_id`` None) is not restricted by the project scope.
    """

    mode: str = "all"
    names: tuple[str, ...] = ()
    ids: tuple[str, ...] = ()
    name_regex: str | None = None
    _names: frozenset[str] = field(init=False, repr=False, compare=False)
    _ids: frozenset[str] = field(init=False, repr=False, compare=False)
    _regex: re.Pattern[str] | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.mode not in PROJECT_MODES:
            raise ValueError(f"project scope mode must be one of {'|'.join(PROJECT_MODES)}")
        object.__setattr__(self, "_names", frozenset(_norm(n) for n in self.names))
        object.__setattr__(self, "_ids", frozenset(i.strip() for i in self.ids))
        pattern = re.compile(self.name_regex, re.IGNORECASE) if self.name_regex else None
        if self.mode == "regex" and pattern is None:
            raise ValueError("project scope mode 'regex' needs name_regex")
        object.__setattr__(self, "_regex", pattern)

    def _listed(self, project_id: str, name: str | None) -> bool:
        return project_id in self._ids or (name is not None and _norm(name) in self._names)

    def includes(self, project_id: str | None, name: str | None = None) -> bool:
        """True when content of project ``project_id`` (named ``name``) is in scope."""
        if project_id is None or self.mode == "all":
            return True
        if self.mode == "include":
            return self._listed(project_id, name)
        if self.mode == "exclude":
            return not self._listed(project_id, name)
        return name is not None and self._regex.fullmatch(name.strip()) is not None


@dataclass(frozen=True)
class Scope:
    """The chat and project scopes of a scan."""

    chats: ChatScope = ChatScope()
    projects: ProjectScope = ProjectScope()
