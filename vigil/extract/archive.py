"""Archives: ZIP (stdlib ``zipfile``), TAR (stdlib ``tarfile``, streaming), gzip/bzip2/xz (stdlib
decompressor objects), 7z (py7zr, the maintained pure-Python 7z implementation).

Every member is read into memory (never written to disk, so member names such as ``/etc/x`` or
``../../x`` are only labels) through a bounded reader that counts the bytes actually produced:
the member size cap, the compression-ratio bomb check and the expanded-bytes budget are enforced
on real output, with declared sizes only used to reject early. Members then go through the same
pipeline, one at a time, so memory holds at most one member per nesting level.

Locators: member paths joined with ``/``, the position after ``#``:
``inner.tar.gz/config.env#line:3``. A lone ``.gz``/``.bz2``/``.xz`` file is an archive with one
member, named by the gzip header or the filename without its suffix; ``.tar.gz`` and friends
are read as one tar.
"""

from __future__ import annotations

import io
import tarfile
import zipfile

from vigil.extract.containers import ZIP_ERRORS, open_zip
from vigil.extract.context import (
    BudgetExhausted,
    ChunkReader,
    Context,
    Skipped,
    decompress_chunks,
    stream_chunks,
)

TAR_ERRORS = (tarfile.TarError, EOFError, OSError, ValueError)


def _extract_member(ctx: Context, name: str, data: bytes) -> None:
    from vigil.extract.pipeline import extract_member

    extract_member(ctx, name, data, counted=True)


# -- ZIP ----------------------------------------------------------------------------------------

def extract_zip(ctx: Context, data: bytes, fmt: str, name: str) -> None:
    with open_zip(data, "ZIP") as zf:
        for info in zf.infolist():
            if info.is_dir():
                continue
            ctx.check_time()
            member = info.filename
            where = ctx.member_path(member)
            ctx.count_member(where)
            if info.flag_bits & 0x1:
                ctx.skip(where, "encrypted", "password-protected ZIP member")
                continue
            try:
                ctx.check_ratio(info.file_size, info.compress_size)  # declared: reject early
                if info.file_size > ctx.limits.max_input_bytes:
                    raise Skipped("too_large", f"declares {info.file_size} bytes")
                with zf.open(info) as stream:
                    payload = ctx.read_stream(stream_chunks(stream), info.compress_size)
            except Skipped as exc:
                ctx.skip(where, exc.reason, exc.detail)
                continue
            except NotImplementedError as exc:
                ctx.skip(where, "unsupported", f"ZIP member: {exc}")
                continue
            except ZIP_ERRORS as exc:
                ctx.skip(where, "corrupt", f"ZIP member: {exc}")
                continue
            _extract_member(ctx, member, payload)


# -- TAR and single-stream compression ----------------------------------------------------------

def _iter_tar(ctx: Context, tar: tarfile.TarFile) -> None:
    for info in tar:
        ctx.check_time()
        if not info.isfile():
            continue  # directories, links and devices carry no content
        where = ctx.member_path(info.name)
        ctx.count_member(where)
        if info.size > ctx.limits.max_input_bytes:
            ctx.skip(where, "too_large", f"declares {info.size} bytes")
            continue
        stream = tar.extractfile(info)
        if stream is None:
            continue
        try:
            payload = ctx.read_stream(stream_chunks(stream), info.size)
        except Skipped as exc:
            ctx.skip(where, exc.reason, exc.detail)
            continue
        _extract_member(ctx, info.name, payload)


def extract_tar(ctx: Context, data: bytes, fmt: str, name: str) -> None:
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
            _iter_tar(ctx, tar)
    except TAR_ERRORS as exc:
        raise Skipped("corrupt", f"TAR: {exc}") from None


def _metered(ctx: Context, data: bytes, kind: str):
    """Decompressed chunks of ``data`` with the ratio check and expanded-bytes budget applied."""
    progress = [0]
    produced = 0
    for chunk in decompress_chunks(data, kind, progress):
        produced += len(chunk)
        ctx.check_ratio(produced, progress[0])
        ctx.charge_expanded(len(chunk))
        ctx.check_time()
        yield chunk


def _inner_name(data: bytes, kind: str, name: str) -> str:
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    if kind == "gz" and len(data) > 10 and data[3] & 0x08:  # FNAME in the gzip header
        pos = 10
        if data[3] & 0x04:  # FEXTRA
            pos += 2 + int.from_bytes(data[10:12], "little")
        end = data.find(b"\x00", pos, pos + 1024)
        if end > pos:
            return data[pos:end].decode("latin-1").replace("/", "_").replace("#", "_")
    lower = base.lower()
    for suffix, replacement in ((".tgz", ".tar"), (".tbz2", ".tar"), (".txz", ".tar"),
                                (".gz", ""), (".bz2", ""), (".xz", "")):
        if lower.endswith(suffix) and len(base) > len(suffix):
            return base[: -len(suffix)] + replacement
    return base + ".out" if base else "content"


def extract_compressed(ctx: Context, data: bytes, fmt: str, name: str) -> None:
    """gzip / bzip2 / xz: a tar inside is read as a tar (streaming), anything else is one member."""
    chunks = _metered(ctx, data, fmt)
    head = b""
    for chunk in chunks:  # peek far enough to see a tar header
        head += chunk
        if len(head) >= 512:
            break
    if len(head) >= 512 and head[257:262] == b"ustar":
        def replay():
            yield head
            yield from chunks
        try:
            with tarfile.open(fileobj=ChunkReader(replay()), mode="r|") as tar:
                _iter_tar(ctx, tar)
        except TAR_ERRORS as exc:
            raise Skipped("corrupt", f"compressed TAR: {exc}") from None
        return
    member = _inner_name(data, fmt, name)
    cap = ctx.limits.max_input_bytes
    out = io.BytesIO()
    out.write(head)
    ctx.count_member(ctx.member_path(member))
    try:
        if len(head) > cap:
            raise Skipped("too_large", f"expands beyond {cap} bytes")
        for chunk in chunks:
            if out.tell() + len(chunk) > cap:
                raise Skipped("too_large", f"expands beyond {cap} bytes")
            out.write(chunk)
    except Skipped as exc:
        ctx.skip(ctx.member_path(member), exc.reason, exc.detail)
        return
    _extract_member(ctx, member, out.getvalue())


def _safe_7z_name(name: str) -> bool:
    parts = name.replace("\\", "/").split("/")
    return bool(name) and not name.startswith(("/", "\\")) and ".." not in parts \
        and not (len(name) > 1 and name[1] == ":")


# -- 7z -----------------------------------------------------------------------------------------

def extract_7z(ctx: Context, data: bytes, fmt: str, name: str) -> None:
    import py7zr
    from py7zr.exceptions import Bad7zFile, PasswordRequired, UnsupportedCompressionMethodError
    from py7zr.io import Py7zIO, WriterFactory

    class MemberWriter(Py7zIO):
        """Receives one member's bytes from py7zr, metered; extracted when py7zr closes it."""

        def __init__(self, member: str, state: dict):
            self.member = member
            self.state = state
            self.buf = io.BytesIO()
            self.failed: Skipped | None = None

        def write(self, s):
            if self.failed:
                return len(s)
            self.state["produced"] += len(s)
            ctx.check_time()
            # The ratio of a solid 7z is judged over the whole archive: output vs its size.
            ctx.check_ratio(self.state["produced"], len(data))
            ctx.charge_expanded(len(s))
            if self.buf.tell() + len(s) > ctx.limits.max_input_bytes:
                self.failed = Skipped("too_large", f"expands beyond {ctx.limits.max_input_bytes} bytes")
                self.buf = io.BytesIO()
                return len(s)
            return self.buf.write(s)

        def read(self, size=None):
            return self.buf.read(size)

        def seek(self, offset, whence=0):
            return self.buf.seek(offset, whence)

        def flush(self):
            return None

        def size(self):
            return self.buf.getbuffer().nbytes

        def close(self):
            if self.state.get("done", set()).__contains__(self.member):
                return
            self.state.setdefault("done", set()).add(self.member)
            if self.failed:
                ctx.skip(ctx.member_path(self.member), self.failed.reason, self.failed.detail)
            else:
                _extract_member(ctx, self.member, self.buf.getvalue())
            self.buf = io.BytesIO()

    class Factory(WriterFactory):
        def __init__(self):
            self.state = {"produced": 0}

        def create(self, filename: str) -> Py7zIO:
            ctx.count_member(ctx.member_path(filename))
            return MemberWriter(filename, self.state)

    try:
        with py7zr.SevenZipFile(io.BytesIO(data), mode="r") as archive:
            if archive.needs_password():
                raise Skipped("encrypted", "7z archive needs a password")
            declared = sum(info.uncompressed or 0 for info in archive.list())
            ctx.check_ratio(declared, len(data))  # declared sizes: reject obvious bombs early
            for info in archive.list():
                if not info.is_directory and info.uncompressed > ctx.limits.max_input_bytes:
                    ctx.skip(ctx.member_path(info.filename), "too_large",
                             f"declares {info.uncompressed} bytes")
            wanted = []
            for info in archive.list():
                if info.is_directory or info.uncompressed > ctx.limits.max_input_bytes:
                    continue
                if not _safe_7z_name(info.filename):
                    # py7zr refuses the whole archive when asked for such a member.
                    ctx.count_member(ctx.member_path(info.filename))
                    ctx.skip(ctx.member_path(info.filename), "unsupported",
                             "absolute or parent-relative member name (py7zr will not read it)")
                    continue
                wanted.append(info.filename)
            if wanted:
                archive.extract(targets=wanted, factory=Factory())
    except PasswordRequired:
        raise Skipped("encrypted", "7z archive needs a password") from None
    except UnsupportedCompressionMethodError as exc:
        raise Skipped("unsupported", f"7z: {exc}") from None
    except (Bad7zFile, EOFError, OSError, ValueError, KeyError, IndexError, TypeError,
            zipfile.BadZipFile) as exc:
        raise Skipped("corrupt", f"7z: {type(exc).__name__}: {exc}") from None
    except Exception as exc:
        # py7zr wraps decoder failures in assorted exception types (lzma, bz2, zlib, struct).
        if isinstance(exc, (Skipped, BudgetExhausted)):
            raise
        raise Skipped("corrupt", f"7z: {type(exc).__name__}: {exc}") from None
