"""Same seed, same org: IDs, metadata, content and ground truth; another seed differs."""

from __future__ import annotations

import json

from vigil.simulator import SyntheticOrg


def random_bytes(f):
    """Encryption salts/IVs (and corrupted copies of them, and 7z headers) differ per render by design."""
    return f.variant in ("encrypted", "corrupt") or f.fmt == "7z"


def snapshot(org):
    chats = [(c.id, c.name, c.created, c.updated, c.deleted, c.project, len(c.turns)) for c in org.chats]
    content = []
    for c in org.chats[:15]:
        for m, plants in org.content.chat_messages(c):
            m = json.loads(json.dumps(m))
            for entry in (m.get("files") or []) + (m.get("generated_files") or []):
                if random_bytes(org.files[entry["id"]]):
                    entry.pop("md5"), entry.pop("size_bytes")
            content.append((json.dumps(m, sort_keys=True), plants))
    files = sorted((f.id, f.filename, org.content.file_info(f) if not random_bytes(f) else None)
                   for f in org.files.values() if f.variant != "huge")
    acts = [(a.id, a.t, a.type) for a in org.activities.all()]
    return chats, content, files, acts


def test_same_seed_same_org():
    a = SyntheticOrg.generate(seed=42, users=10, chats=30, days=15, now=1787000000)
    b = SyntheticOrg.generate(seed=42, users=10, chats=30, days=15, now=1787000000)
    assert snapshot(a) == snapshot(b)
    assert [r.as_dict() for r in a.ground_truth()] == [r.as_dict() for r in b.ground_truth()]


def test_other_seed_other_org():
    a = SyntheticOrg.generate(seed=42, users=10, chats=20, days=15, now=1787000000)
    c = SyntheticOrg.generate(seed=43, users=10, chats=20, days=15, now=1787000000)
    assert {x.id for x in a.chats}.isdisjoint({x.id for x in c.chats})
    assert snapshot(a)[1] != snapshot(c)[1]


def test_ids_and_values_do_not_depend_on_now():
    a = SyntheticOrg.generate(seed=9, users=5, chats=8, days=10, now=1787000000)
    b = SyntheticOrg.generate(seed=9, users=5, chats=8, days=10, now=1797000000)
    assert [(r.object_id, r.locator, r.value) for r in a.ground_truth()] == \
        [(r.object_id, r.locator, r.value) for r in b.ground_truth()]


def test_history_lies_before_now_and_spans_the_days():
    org = SyntheticOrg.generate(seed=4, users=12, chats=300, days=30, now=1787000000)
    times = [a.t for a in org.activities.all()]
    assert max(times) < org.now
    assert min(c.created for c in org.chats) < org.now - 25 * 86400
    for c in org.chats:
        assert c.created <= c.updated < org.now
        ts = [t.user_ts for t in c.turns] + [t.asst_ts for t in c.turns]
        assert max(ts) <= c.updated


def test_org_has_every_kind_of_object():
    org = SyntheticOrg.generate(seed=4, users=12, chats=200, days=30, now=1787000000, huge_file_bytes=1 << 20)
    variants = {f.variant for f in org.files.values()}
    assert {"plain", "encrypted", "corrupt", "huge"} <= variants
    fmts = {f.fmt for f in org.files.values() if f.kind == "chat"}
    assert {"txt", "csv", "json", "pdf", "docx", "xlsx", "pptx", "zip", "7z", "eml", "html"} <= fmts
    assert any(c.deleted for c in org.chats)
    revised = {a.artifact_id for a in org.artifacts.values() if a.revision > 0}
    assert revised, "some artifacts are revised across turns"
    lengths = sorted(len(c.turns) for c in org.chats)
    assert lengths[0] == 1 and lengths[-1] >= 10
    infotypes = {r.infotype for r in org.ground_truth()}
    from vigil.synth.values import PLANTED_INFOTYPES
    assert infotypes == set(PLANTED_INFOTYPES), set(PLANTED_INFOTYPES) - infotypes
