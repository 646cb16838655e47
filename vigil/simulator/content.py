"""On-demand content of the synthetic org: chat transcripts, file bytes, artifacts, project
documents and instructions, each derived from the org seed and the object's position.

Everything returned here comes with its plants: ``(locator, infotype, value)`` triples whose value
occurs verbatim at the locator (docs/contracts.md grammar). Rendered files are kept in a small
byte-bounded LRU so a metadata call followed by a download renders once; oversized files are
never held in memory (streamed, their MD5 computed once and remembered).
"""

from __future__ import annotations

import hashlib
import io
import json
import random
import re
import threading
import zipfile
from collections import OrderedDict
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from vigil.synth import documents
from vigil.synth import text as synth_text
from vigil.simulator.ids import make_id, sub_seed, ts_z

if TYPE_CHECKING:
    from vigil.simulator.org import ArtifactVersion, Chat, FileObj, Project, ProjectDoc, SyntheticOrg, Turn

Plant = tuple[str, str, str]  # (locator, infotype, value)

INTROS = ("Let me look into that.", "Sure, I'll check the details first.", "I'll pull the relevant records.",
          "Good question, let me run a quick check.", "On it.")
INTEGRATIONS = ((None, None), (None, None), ("Salesforce", "https://mcp.salesforce.example.com/sse"),
                ("GitHub", "https://api.githubcopilot.example.com/mcp"), ("Google Drive", None))
CHUNK = 64 * 1024


def locate_line(text: str, value: str) -> str:
    """``line:N`` (1-based) of the first line of the paragraph (blank-line separated, as text
    extraction segments it) holding the first occurrence of ``value``."""
    pos = text.index(value)
    start = text.rfind("\n\n", 0, pos)
    start = 0 if start < 0 else start + 2
    return f"line:{text.count(chr(10), 0, start) + 1}"


_ZIP_FAMILY = ("docx", "xlsx", "pptx", "odt", "ods", "odp", "zip")
_FIXED_ZIP_TIME = (2026, 1, 5, 10, 0, 0)
_XML_TIME = re.compile(rb"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?")
_PDF_TIME = re.compile(rb"\(D:\d{14}")
_PDF_ID = re.compile(rb"/ID \[<[0-9A-F]{32}><[0-9A-F]{32}>\]")
_BOUNDARY = re.compile(rb"===============\d+==")


def _zero_gzip_mtime(data: bytes) -> bytes:
    if data[:2] == b"\x1f\x8b" and len(data) > 8:
        return data[:4] + b"\x00\x00\x00\x00" + data[8:]
    return data


def normalize(fmt: str, data: bytes) -> bytes:
    """Make rendered bytes reproducible: fixed archive member times, document timestamps, PDF
    IDs and MIME boundaries (the renderers embed the current time). Content is unchanged."""
    name = fmt.lower()
    if name in _ZIP_FAMILY:
        src = zipfile.ZipFile(io.BytesIO(data))
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as dst:
            for info in src.infolist():
                body = src.read(info)
                member = info.filename.lower()
                if member in ("docprops/core.xml", "meta.xml"):
                    body = _XML_TIME.sub(b"2026-01-05T10:00:00Z", body)
                elif member.endswith((".gz", ".tgz")):
                    body = _zero_gzip_mtime(body)
                elif member.rsplit(".", 1)[-1] in _ZIP_FAMILY:
                    body = normalize(member.rsplit(".", 1)[-1], body)
                new = zipfile.ZipInfo(info.filename, date_time=_FIXED_ZIP_TIME)
                new.compress_type, new.external_attr = info.compress_type, info.external_attr
                new.create_system = 3
                dst.writestr(new, body)
        return out.getvalue()
    if name == "pdf":
        data = _PDF_TIME.sub(b"(D:20260105100000", data)
        data = _PDF_ID.sub(b"/ID [<" + b"0" * 32 + b"><" + b"0" * 32 + b">]", data)
        digest = hashlib.md5(data).hexdigest().upper().encode()
        return _PDF_ID.sub(b"/ID [<" + digest + b"><" + digest + b">]", data)
    if name in ("gz", "tar.gz", "tgz"):
        return _zero_gzip_mtime(data)
    if name == "eml":
        return _BOUNDARY.sub(b"===============0000000000000000001==", data)
    return data


def _latin1(s: str) -> str:
    return s.encode("latin-1", "replace").decode("latin-1")


class _LRU:
    def __init__(self, max_items: int, max_bytes: int):
        self._d: OrderedDict[Any, tuple[Any, int]] = OrderedDict()
        self._bytes = 0
        self._max_items, self._max_bytes = max_items, max_bytes
        self._lock = threading.Lock()

    def get(self, key):
        with self._lock:
            hit = self._d.get(key)
            if hit is None:
                return None
            self._d.move_to_end(key)
            return hit[0]

    def put(self, key, value, size: int) -> None:
        with self._lock:
            if key in self._d:
                self._bytes -= self._d.pop(key)[1]
            self._d[key] = (value, size)
            self._bytes += size
            while self._d and (len(self._d) > self._max_items or self._bytes > self._max_bytes):
                self._bytes -= self._d.popitem(last=False)[1][1]

    def drop(self, key) -> None:
        with self._lock:
            if key in self._d:
                self._bytes -= self._d.pop(key)[1]


class ContentStore:
    """Derives and caches the content of one ``SyntheticOrg``."""

    def __init__(self, org: "SyntheticOrg"):
        self.org = org
        self._chats = _LRU(256, 64 << 20)
        self._files = _LRU(128, 96 << 20)
        # Encrypted (random salts), corrupt and 7z bytes cannot be normalised; they are kept for
        # the life of the org so metadata MD5 and downloads agree. They are a few percent of files.
        self._pinned: dict[str, tuple[bytes, list[Plant]]] = {}
        self._plants: dict[str, list[Plant]] = {}  # small, kept for every rendered file

    # ---------------------------------------------------------------------------- chats
    def message_id(self, chat: "Chat", turn: "Turn", role: str) -> str:
        return make_id("claude_chat_msg_", self.org.seed, "msg", chat.idx, turn.k, role)

    def chat_messages(self, chat: "Chat") -> list[tuple[dict[str, Any], list[Plant]]]:
        """The full transcript (untruncated) with each message's plants."""
        key = (chat.idx, len(chat.turns), self.org.version)
        cached = self._chats.get(chat.idx)
        if cached is not None and cached[0] == key[:2]:
            return cached[1]
        out: list[tuple[dict[str, Any], list[Plant]]] = []
        for turn in chat.turns:
            if turn.kind == "gen":
                out.extend(self._gen_turn(chat, turn))
            else:
                out.append(self._explicit(chat, turn))
        size = sum(len(json.dumps(m)) for m, _ in out)
        self._chats.put(chat.idx, (key[:2], out), size)
        return out

    def _file_entries(self, file_ids: list[str], with_created: bool) -> list[dict[str, Any]]:
        entries = []
        for fid in file_ids:
            f = self.org.files[fid]
            size, md5 = self.file_info(f)
            e = {"id": f.id, "filename": f.filename, "mime_type": f.mime, "size_bytes": size, "md5": md5}
            if with_created:
                e["created_at"] = ts_z(f.created)
            entries.append(e)
        return entries

    @staticmethod
    def _absent_or_null(msg: dict[str, Any], key: str, rng: random.Random) -> None:
        if rng.random() < 0.5:
            msg[key] = None

    def _gen_turn(self, chat: "Chat", turn: "Turn") -> list[tuple[dict[str, Any], list[Plant]]]:
        rng = random.Random(sub_seed(self.org.seed, "turn", chat.idx, turn.k))
        topic = chat.topic
        attach_name = self.org.files[turn.file_ids[0]].filename if turn.file_ids else None
        if turn.k == 0:
            prompt, reply = synth_text.opening(rng, topic, chat.scenario, attach_name)
        else:
            prompt, reply = synth_text.follow_up(rng, attach_name)
        user = {"id": self.message_id(chat, turn, "user"), "role": "user", "created_at": ts_z(turn.user_ts),
                "content": [{"type": "text", "text": prompt.text, "thinking_redacted": False, "truncated": False}]}
        if turn.file_ids:
            user["files"] = self._file_entries(turn.file_ids, with_created=True)
        else:
            self._absent_or_null(user, "files", rng)
        self._absent_or_null(user, "generated_files", rng)
        self._absent_or_null(user, "artifacts", rng)
        user_plants = [("text:0", it, v) for it, v in prompt.plants]

        blocks: list[dict[str, Any]] = []
        plants: list[Plant] = []
        if turn.tools:
            blocks.append({"type": "text", "text": rng.choice(INTROS), "thinking_redacted": rng.random() < 0.15,
                           "truncated": False})
        for n in range(turn.tools):
            name, fields, result = synth_text.tool_call(rng, topic, chat.scenario)
            integration, mcp = rng.choice(INTEGRATIONS)
            tool_id = make_id("toolu_", self.org.seed, "tool", chat.idx, turn.k, n)
            payload = json.dumps({k: f.text for k, f in fields}, ensure_ascii=False)
            i = len(blocks)
            blocks.append({"type": "tool_use", "id": tool_id, "name": name, "input": payload,
                           "integration_name": integration, "mcp_server_url": mcp, "truncated": False})
            for _, f in fields:
                plants.extend((f"tool_use:{i}", it, v) for it, v in f.plants if v in payload)
            # Some tool output is long (logs), so a default tool_result_max_chars cap bites.
            out_text = result.text
            if rng.random() < 0.2:
                out_text += "\n" + "\n".join(f"[{n:04d}] {synth_text.hard_negative(rng)}" for n in range(60))
            blocks.append({"type": "tool_result", "tool_use_id": tool_id, "name": name, "is_error": False,
                           "content": [{"type": "text", "text": out_text}], "integration_name": integration,
                           "mcp_server_url": mcp, "truncated": False})
            plants.extend((f"tool_result:{i + 1}/0", it, v) for it, v in result.plants)
        plants.extend((f"text:{len(blocks)}", it, v) for it, v in reply.plants)
        blocks.append({"type": "text", "text": reply.text, "thinking_redacted": False, "truncated": False})
        asst = {"id": self.message_id(chat, turn, "assistant"), "role": "assistant",
                "created_at": ts_z(turn.asst_ts), "content": blocks}
        self._absent_or_null(asst, "files", rng)
        if turn.gen_id:
            asst["generated_files"] = self._file_entries([turn.gen_id], with_created=False)
        else:
            self._absent_or_null(asst, "generated_files", rng)
        if turn.art:
            a = self.org.artifacts[turn.art]
            asst["artifacts"] = [{"id": a.artifact_id, "version_id": a.version_id, "title": a.title,
                                  "artifact_type": a.artifact_type}]
        else:
            self._absent_or_null(asst, "artifacts", rng)
        return [(user, user_plants), (asst, plants)]

    def _explicit(self, chat: "Chat", turn: "Turn") -> tuple[dict[str, Any], list[Plant]]:
        spec = turn.explicit
        msg = {"id": self.message_id(chat, turn, spec["role"]), "role": spec["role"],
               "created_at": ts_z(turn.user_ts),
               "content": [{"type": "text", "text": spec["text"], "thinking_redacted": False, "truncated": False}],
               "files": self._file_entries(turn.file_ids, with_created=True) if turn.file_ids else None,
               "generated_files": None, "artifacts": None}
        return msg, [("text:0", it, v) for it, v in spec["plants"]]

    # ---------------------------------------------------------------------------- files
    def _blocks(self, f: "FileObj") -> list[synth_text.Fragment]:
        rng = random.Random(sub_seed(self.org.seed, "filebody", f.id))
        frags = synth_text.document_blocks(rng, f.topic, rng.randint(3, 8))
        frags.insert(rng.randrange(len(frags) + 1), synth_text.Fragment(f"Reference: {synth_text.hard_negative(rng)}"))
        if f.fmt == "pdf":
            frags = [synth_text.Fragment(_latin1(fr.text), [(it, v) for it, v in fr.plants if _latin1(v) == v])
                     for fr in frags]
        return frags

    def _render(self, f: "FileObj") -> tuple[bytes, list[Plant]]:
        if f.data is not None:
            return f.data, list(f.plants or ())
        hit = self._pinned.get(f.id) or self._files.get(f.id)
        if hit is not None:
            return hit
        frags = self._blocks(f)
        blocks = [fr.text for fr in frags]
        plants: list[Plant] = []
        if f.variant == "encrypted":
            data = documents.encrypted(f.fmt, blocks, password="Acme-2026!", filename=f.filename).data
        elif f.variant == "corrupt":
            data = documents.corrupt(f.fmt, blocks, mode="truncate" if f.id[-1] < "m" else "garble",
                                     seed=sub_seed(self.org.seed, "corrupt", f.id), filename=f.filename).data
        else:
            try:
                doc = documents.render(f.fmt, blocks, filename=f.filename)
            except ValueError:
                f.fmt, f.mime = "txt", "text/plain"
                doc = documents.render("txt", blocks, filename=f.filename)
            data = normalize(f.fmt, doc.data)
            for i, fr in enumerate(frags):
                plants.extend((doc.locate(i, v), it, v) for it, v in fr.plants)
        result = (data, plants)
        self._plants[f.id] = plants
        if f.variant in ("encrypted", "corrupt") or f.fmt == "7z":
            self._pinned[f.id] = result
        else:
            self._files.put(f.id, result, len(data))
        if f.size is None:
            f.size, f.md5 = len(data), hashlib.md5(data).hexdigest()
        return result

    def file_info(self, f: "FileObj") -> tuple[int, str]:
        """``(size_bytes, md5 hex)``; computed once per file (streamed for oversized files)."""
        if f.size is None:
            if f.variant == "huge":
                h = hashlib.md5()
                size = 0
                for chunk in self.file_chunks(f):
                    h.update(chunk)
                    size += len(chunk)
                f.size, f.md5 = size, h.hexdigest()
            else:
                self._render(f)
                if f.size is None:  # explicit data
                    f.size, f.md5 = len(f.data), hashlib.md5(f.data).hexdigest()
        return f.size, f.md5

    def file_chunks(self, f: "FileObj") -> Iterator[bytes]:
        """The file's bytes in chunks of at most 64 KiB (oversized ones generated on the fly)."""
        if f.variant == "huge":
            for chunk in documents.oversized(f.fmt, self.org.huge_file_bytes, chunk_bytes=256 * 1024):
                for i in range(0, len(chunk), CHUNK):
                    yield chunk[i:i + CHUNK]
            return
        data = self._render(f)[0]
        for i in range(0, len(data), CHUNK):
            yield data[i:i + CHUNK]

    def file_plants(self, f: "FileObj") -> list[Plant]:
        if f.variant == "huge":
            return []
        if f.data is None and f.id in self._plants:
            return self._plants[f.id]
        return self._render(f)[1]

    # ---------------------------------------------------------------------------- text objects
    def artifact(self, a: "ArtifactVersion") -> tuple[str, list[Plant]]:
        chat = self.org.chats[a.chat]
        rng = random.Random(sub_seed(self.org.seed, "artbody", a.chat, a.k))
        frag = synth_text.artifact_text(rng, chat.topic, a.revision)
        if a.md5 is None:
            raw = frag.text.encode()
            a.size, a.md5 = len(raw), hashlib.md5(raw).hexdigest()
        return frag.text, [(locate_line(frag.text, v), it, v) for it, v in frag.plants]

    def doc(self, d: "ProjectDoc") -> tuple[str, list[Plant]]:
        if d.content_override is not None:
            return d.content_override, list(d.plants_override or ())
        p = self.org.projects[d.project]
        rng = random.Random(sub_seed(self.org.seed, "docbody", d.id))
        frags = synth_text.document_blocks(rng, p.topic, rng.randint(2, 6))
        title = d.filename.rsplit(".", 1)[0].replace("-", " ").capitalize()
        content = title + "\n\n" + "\n\n".join(fr.text for fr in frags) + "\n"
        return content, [(locate_line(content, v), it, v) for fr in frags for it, v in fr.plants]

    def instructions(self, p: "Project") -> synth_text.Fragment:
        rng = random.Random(sub_seed(self.org.seed, "instructions", p.idx))
        return synth_text.project_instructions(rng, p.topic)
