"""Where the lake lives: a local directory or any fsspec URL, with atomic file writes.

Local files are written under a hidden temporary name, flushed, fsynced and renamed
(``os.replace`` is atomic on POSIX); the directory is fsynced so the rename survives a crash.
On object stores (``s3://``, ``gs://``, ...) content is staged in a local temporary file and then
uploaded to the final key; an object becomes visible only when its upload completes, so a
failed or interrupted write publishes nothing.
"""

from __future__ import annotations

import os
import posixpath
import re
import socket
import tempfile
import time
import uuid
from collections.abc import Callable
from typing import IO, Any

import fsspec
from fsspec.implementations.local import LocalFileSystem


class LakeStorage:
    """A root location plus the filesystem that reaches it."""

    def __init__(self, root: str | os.PathLike[str], storage_options: dict[str, Any] | None = None):
        root = os.fspath(root)
        if not root:
            raise ValueError("lake root must not be empty")
        self.root_url = root
        self.storage_options = dict(storage_options or {})
        fs, path = fsspec.core.url_to_fs(root, **self.storage_options)
        self.fs: fsspec.AbstractFileSystem = fs
        self.is_local = isinstance(fs, LocalFileSystem)
        self.root = path.rstrip("/") if path not in ("/", "") else path

    def __repr__(self) -> str:
        return f"LakeStorage({self.root_url!r})"

    @property
    def protocol(self) -> str:
        """Main protocol name of the filesystem (``file``, ``s3``, ...)."""
        proto = self.fs.protocol
        return proto if isinstance(proto, str) else proto[0]

    def path(self, *parts: str) -> str:
        """Filesystem path (no protocol) of ``parts`` under the root."""
        return posixpath.join(self.root, *parts) if parts else self.root

    def url(self, path: str) -> str:
        """What DuckDB and users see: a plain path locally, ``proto://path`` elsewhere."""
        if self.is_local:
            return path
        return f"{self.protocol}://{path}"

    # -- reading -------------------------------------------------------------------------------
    def exists(self, path: str) -> bool:
        return self.fs.exists(path)

    def read_bytes(self, path: str) -> bytes | None:
        """Content of ``path``, or None when it does not exist."""
        try:
            with self.fs.open(path, "rb") as f:
                return f.read()
        except FileNotFoundError:
            return None

    def glob(self, pattern: str) -> list[str]:
        """Sorted paths matching ``pattern`` (fresh listing, no stale cache)."""
        self.fs.invalidate_cache()
        return sorted(self.fs.glob(pattern))

    def listdir(self, path: str) -> list[str]:
        """Names (not paths) of the entries directly under ``path``; empty when missing."""
        self.fs.invalidate_cache()
        try:
            entries = self.fs.ls(path, detail=False)
        except FileNotFoundError:
            return []
        return sorted(posixpath.basename(e.rstrip("/")) for e in entries)

    # -- writing -------------------------------------------------------------------------------
    def write_atomic(self, path: str, write: Callable[[IO[bytes]], None], *, mode: int | None = None) -> None:
        """Create or replace ``path`` so that readers see the old content or the new, never a part.

        ``write`` receives a binary file object and writes the whole content to it. ``mode``
        (local disks only) sets the file's permission bits exactly, whatever the umask — from the
        moment the temporary file exists (e.g. ``0o600`` for private content).
        """
        if self.is_local:
            directory = os.path.dirname(path)
            os.makedirs(directory, exist_ok=True)
            tmp = os.path.join(directory, f".{os.path.basename(path)}.{tmp_owner()}.{uuid.uuid4().hex[:8]}.tmp")
            try:
                with _create(tmp, mode) as f:
                    write(f)
                    f.flush()
                    os.fsync(f.fileno())
                os.replace(tmp, path)
            except BaseException:
                if os.path.exists(tmp):
                    os.unlink(tmp)
                raise
            _fsync_dir(directory)
        else:
            # Stage locally, then upload in one go: a writer that fails midway uploads nothing
            # (closing an fsspec remote file would publish what was written so far).
            fd, staged = tempfile.mkstemp(prefix="vigil-upload-", suffix=".tmp")
            try:
                with os.fdopen(fd, "wb") as f:
                    write(f)
                self.fs.put_file(staged, path)
            finally:
                os.unlink(staged)
            self.fs.invalidate_cache(posixpath.dirname(path))

    def write_bytes_atomic(self, path: str, data: bytes, *, mode: int | None = None) -> None:
        """Atomically create or replace ``path`` with ``data`` (``mode``: see ``write_atomic``)."""
        self.write_atomic(path, lambda f: f.write(data), mode=mode)

    def remove(self, paths: list[str]) -> None:
        """Delete files; ones already gone are ignored (a concurrent compaction may race us)."""
        for p in paths:
            try:
                self.fs.rm_file(p)
            except FileNotFoundError:
                pass
        if paths and not self.is_local:
            self.fs.invalidate_cache()

    def remove_tree(self, path: str) -> bool:
        """Delete a directory tree; returns False when there was nothing to delete."""
        if not self.fs.exists(path):
            return False
        self.fs.rm(path, recursive=True)
        self.fs.invalidate_cache()
        return True


_TMP_OWNER = re.compile(r"\.(?P<host>[A-Za-z0-9_-]+)~(?P<pid>\d+)\.[0-9a-f]{8}\.tmp$")
ORPHAN_AGE_SECONDS = 3600.0  # temporary files of other hosts, or of unknown owners, older than this


def tmp_owner() -> str:
    """``<host>~<pid>``: lets a later run tell an orphan temporary file from a live write."""
    host = re.sub(r"[^A-Za-z0-9_-]", "_", socket.gethostname()) or "host"
    return f"{host}~{os.getpid()}"


def remove_orphan_tmp_files(storage: LakeStorage, alive: Callable[[int], bool] | None = None,
                            max_age: float = ORPHAN_AGE_SECONDS) -> list[str]:
    """Delete temporary files that no live writer will ever rename (local lakes only).

    A file written by a process of this host that no longer exists is an orphan at once (a
    ``kill -9`` mid-write); one of another host, or of an older naming, after ``max_age``.
    Returns the removed paths.
    """
    if not storage.is_local or not os.path.isdir(storage.root):
        return []
    from vigil.lake.lease import pid_alive  # noqa: PLC0415 - avoid an import cycle

    alive = alive or pid_alive
    here = tmp_owner().split("~")[0]
    removed = []
    now = time.time()
    for dirpath, _dirs, files in os.walk(storage.root):
        for name in files:
            if not (name.startswith(".") and name.endswith(".tmp")):
                continue
            path = os.path.join(dirpath, name)
            m = _TMP_OWNER.search(name)
            try:
                age = now - os.stat(path).st_mtime
            except FileNotFoundError:
                continue
            dead = m is not None and m["host"] == here and not alive(int(m["pid"]))
            if dead or age > max_age:
                try:
                    os.unlink(path)
                    removed.append(path)
                except FileNotFoundError:
                    pass
    return removed


def _create(path: str, mode: int | None) -> IO[bytes]:
    if mode is None:
        return open(path, "wb")  # noqa: SIM115 - the caller closes it
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    os.fchmod(fd, mode)  # the umask may have cleared bits of ``mode``
    return os.fdopen(fd, "wb")


def _fsync_dir(directory: str) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
