"""Every ground-truth row names a value that is really served at its locator."""

from __future__ import annotations

import csv
import html
import io
import json
import re
import tarfile
import zipfile
from collections import Counter

import pytest

TEXT_FORMATS = {"txt", "md", "csv", "tsv", "log", "py", "js", "ts", "go", "java", "rb", "sh", "c", "rs", "sql",
                "yaml", "json", "ndjson", "html", "xml", "ipynb"}


def in_paragraph(text: str, n: int, value: str) -> bool:
    """Line ``n`` starts a paragraph (blank-line separated) that holds the value."""
    lines = text.split("\n")
    if n > 1 and lines[n - 2].strip():
        return False
    para = []
    for line in lines[n - 1:]:
        if not line.strip():
            break
        para.append(line)
    return value in "\n".join(para)


def near_line(text: str, n: int, value: str) -> bool:
    """The value lies in the record starting at line ``n`` (a CSV row or snippet may span lines)."""
    lines = text.split("\n")
    return value in "\n".join(lines[n - 1:n + value.count("\n") + 3])


def json_path(doc, path: str):
    for part in re.findall(r"\.([A-Za-z_]\w*)|\[(\d+)\]", path[1:]):
        doc = doc[part[0]] if part[0] else doc[int(part[1])]
    return doc


def resolve(data: bytes, name: str, locator: str, value: str) -> bool | None:
    """True/False when the locator can be checked here, None for formats left to extraction tests."""
    if "#" in locator or (locator.count("/") and locator.split("/")[0].endswith((".txt", ".json", ".csv", ".docx", ".tar.gz", ".env"))):
        member, _, inner = locator.partition("#") if "#" in locator else (None, None, None)
        if member is None:
            return None
        first, _, rest = member.partition("/") if name.endswith(".eml") else (member, None, None)
        if name.endswith((".zip",)):
            zf = zipfile.ZipFile(io.BytesIO(data))
            # longest member prefix names the nested archive, the rest is inside it
            for m in sorted(zf.namelist(), key=len, reverse=True):
                if member == m:
                    return resolve(zf.read(m), m, inner, value)
                if member.startswith(m + "/"):
                    return resolve(zf.read(m), m, member[len(m) + 1:] + "#" + inner, value)
            return False
        if name.endswith((".tar.gz", ".tgz", ".tar")):
            tf = tarfile.open(fileobj=io.BytesIO(data))
            return resolve(tf.extractfile(member).read(), member, inner, value)
        return None
    ext = name.rsplit(".", 1)[-1].lower()
    if ext in TEXT_FORMATS or ext == "env":
        text = data.decode("utf-8")
        if locator.startswith("line:") and "/" not in locator and ext in ("csv", "tsv"):
            # the exact physical line where the value starts (what a finding's locator says)
            n = int(locator[5:])
            lines = text.split("\n")
            return value.split("\n")[0] in lines[n - 1] and near_line(text, n, value)
        if locator.startswith("line:") and "/" not in locator and ext == "yaml":  # a scalar at that line
            import yaml

            line = text.split("\n")[int(locator[5:]) - 1].strip()
            scalar = yaml.safe_load(line[2:] if line.startswith("- ") else line.partition(":")[2])
            return value in str(scalar)
        if locator.startswith("line:") and "/" not in locator:
            return near_line(text, int(locator[5:]), value)
        if locator.startswith("line:"):  # ndjson line:N/json:$.x
            line, _, path = locator.partition("/")
            return json_path(json.loads(text.split("\n")[int(line[5:]) - 1]), path[5:]) .count(value) > 0
        if locator.startswith("json:"):
            return value in json_path(json.loads(text), locator[5:])
        if locator == "text" or locator.startswith("attr:"):
            return value in html.unescape(text)
        return None
    if ext == "docx" and locator.startswith("paragraph:"):
        import docx
        paras = docx.Document(io.BytesIO(data)).paragraphs
        return value in paras[int(locator.split(":")[1]) - 1].text
    if ext == "xlsx" and locator.startswith("sheet:"):
        import openpyxl
        sheet, _, cell = locator[6:].rpartition("!")
        return value in str(openpyxl.load_workbook(io.BytesIO(data))[sheet][cell].value)
    return None


@pytest.fixture(scope="module")
def org():
    """A smaller org than the shared one: rendering every file for the ground truth is the cost."""
    from vigil.simulator import SyntheticOrg

    return SyntheticOrg.generate(seed=12, users=10, chats=70, days=10, now=1787000000.0, projects=6,
                                 huge_file_bytes=1024 * 1024)


@pytest.fixture(scope="module")
def api(org, serve):
    return serve(org)


@pytest.fixture(scope="module")
def rows(org):
    return list(org.ground_truth())


def test_ground_truth_covers_every_kind(rows):
    kinds = Counter(r.object_kind for r in rows)
    assert set(kinds) == {"message", "file", "generated_file", "artifact_version", "project_document",
                          "project_instructions"}, kinds


def test_message_values_are_at_their_locators(api, org, rows):
    transcripts = {}
    msg_chat = {}
    for c in org.chats:
        for m, _ in org.content.chat_messages(c):
            msg_chat[m["id"]] = c.id
    kinds = Counter()
    for r in (r for r in rows if r.object_kind == "message"):
        chat_id = msg_chat[r.object_id]
        if chat_id not in transcripts:
            body = api.get(f"/v1/compliance/apps/chats/{chat_id}/messages", tool_result_max_chars=-1,
                           tool_use_input_max_chars=-1).json()
            transcripts[chat_id] = {m["id"]: m for m in body["chat_messages"]}
        msg = transcripts[chat_id][r.object_id]
        kind, _, pos = r.locator.partition(":")
        kinds[kind] += 1
        if kind == "text":
            text = msg["content"][int(pos)]["text"]
        elif kind == "tool_use":
            text = msg["content"][int(pos)]["input"]
        else:
            i, j = pos.split("/")
            text = msg["content"][int(i)]["content"][int(j)]["text"]
        assert r.value in text, r
    assert set(kinds) == {"text", "tool_use", "tool_result"}


def test_text_object_values_are_at_their_locators(api, org, rows):
    for r in rows:
        if r.object_kind == "artifact_version":
            text = api.get(f"/v1/compliance/apps/artifacts/{r.object_id}/content").text
            assert in_paragraph(text, int(r.locator[5:]), r.value), r
        elif r.object_kind == "project_document":
            text = api.get(f"/v1/compliance/apps/projects/documents/{r.object_id}").json()["content"]
            assert in_paragraph(text, int(r.locator[5:]), r.value), r
        elif r.object_kind == "project_instructions":
            assert r.locator == "instructions"
            assert r.value in api.get(f"/v1/compliance/apps/projects/{r.object_id}").json()["instructions"]


def test_file_values_are_at_their_locators(api, org, rows):
    checked = unchecked = 0
    formats = set()
    bodies = {}
    for r in rows:
        if r.object_kind not in ("file", "generated_file"):
            continue
        f = org.files[r.object_id]
        if f.id not in bodies:
            path = "generated-files" if f.kind == "generated" else "files"
            resp = api.get(f"/v1/compliance/apps/chats/{path}/{f.id}/content")
            assert resp.status_code == 200
            bodies[f.id] = resp.content
        ok = resolve(bodies[f.id], f.filename, r.locator, r.value)
        if ok is None:
            unchecked += 1
            continue
        assert ok, (r, f.filename)
        checked += 1
        formats.add(f.fmt)
    assert checked > unchecked
    assert {"txt", "csv", "json", "docx", "xlsx", "zip"} <= formats, formats


def test_unreadable_files_plant_nothing(org, rows):
    planted = {r.object_id for r in rows}
    hostile = [f for f in org.files.values() if f.variant in ("encrypted", "corrupt", "huge")]
    assert hostile and not planted & {f.id for f in hostile}


def test_hard_negatives_are_present_but_not_planted(api, org, rows):
    text = json.dumps([m for c in org.chats[:80] for m, _ in org.content.chat_messages(c)])
    negatives = re.findall(r"sk-ant-xxxx|AKIAXXXXXXXXXXXXXXXX|device IMEI \d{15}|order #[A-H]-\d{5}-\d{2}|"
                           r"request id [0-9a-f-]{36}|version \d+\.\d+\.\d+", text)
    assert len(negatives) >= 10
    values = {r.value for r in rows}
    assert not any(n in values or n.split()[-1] in values for n in negatives)
