"""The labelled corpus of the detection benchmark and the bench's scoring rule.

The corpus is the ground truth the benchmark's precision/recall numbers rest on, so these tests
check that it is deterministic, that every label points exactly at a value produced by
``vigil.synth.values``, and that hard negatives never carry a label.
"""

from __future__ import annotations

import importlib.util
import json
import random
import sys
import uuid
from collections import defaultdict
from pathlib import Path

import pytest
from stdnum import iban, luhn

from vigil.synth import values

BENCH = Path(__file__).resolve().parents[2] / "bench"


def _load(name: str):
    if name in sys.modules:
        return sys.modules[name]
    sys.path.insert(0, str(BENCH))
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


dc = _load("detect_corpus")


class Recorder:
    """A value source that remembers every value it handed out, per infoType."""

    def __init__(self) -> None:
        self.seen: dict[str, set[str]] = defaultdict(set)

    def __call__(self, infotype: str, rng: random.Random) -> str:
        value = values.generate(infotype, rng)
        self.seen[infotype].add(value)
        return value


@pytest.fixture(scope="module")
def recorded():
    rec = Recorder()
    docs = dc.quality_corpus(400_000, seed=7, values=rec)
    return docs, rec


def _snapshot(docs):
    return [(d.doc_id, d.filename, d.text, d.labels, d.decoys) for d in docs]


def test_generator_is_deterministic_and_seeded():
    a = dc.quality_corpus(150_000, seed=11)
    b = dc.quality_corpus(150_000, seed=11)
    c = dc.quality_corpus(150_000, seed=12)
    assert _snapshot(a) == _snapshot(b)
    assert [d.text for d in a] != [d.text for d in c]
    assert dc.build_document("code", 5, seed=3).text == dc.build_document("code", 5, seed=3).text


def test_labels_point_exactly_at_planted_values(recorded):
    docs, rec = recorded
    n = 0
    for doc in docs:
        for label in doc.labels:
            value = doc.text[label.start:label.end]
            forms = rec.seen[label.infotype] | {dc.written_variant(label.infotype, v) for v in rec.seen[label.infotype]}
            assert value in forms, (doc.doc_id, label)
            n += 1
    assert n > 500


def test_prose_uses_written_variants_for_some_values():
    rec = Recorder()
    docs = [dc.build_document("chat", i, plants=4, values=rec, infotypes=("PHONE_NUMBER",)) for i in range(20)]
    written = [doc.text[l.start:l.end] for doc in docs for l in doc.labels]
    variants = [v for v in written if v not in rec.seen["PHONE_NUMBER"]]
    assert len(written) == 80 and 5 <= len(variants) <= 60
    assert all(not v.startswith("+") for v in variants)


def test_planted_values_keep_their_checksums(recorded):
    docs, _ = recorded
    checked = 0
    for doc in docs:
        for label in doc.labels:
            value = doc.text[label.start:label.end]
            if label.infotype == "CREDIT_CARD_NUMBER":
                assert luhn.is_valid(value.replace(" ", "").replace("-", "")), value[:4]
                checked += 1
            elif label.infotype == "IBAN_CODE":
                assert iban.is_valid(value), value[:4]
                checked += 1
    assert checked >= 10


def test_hard_negatives_carry_no_labels(recorded):
    docs, _ = recorded
    kinds = set()
    for doc in docs:
        for decoy in doc.decoys:
            kinds.add(decoy.kind)
            assert decoy.end > decoy.start
            for label in doc.labels:
                assert decoy.end <= label.start or label.end <= decoy.start, (doc.doc_id, decoy, label)
    assert kinds == set(dc.DECOY_KINDS)


def test_decoys_have_the_shape_they_claim(recorded):
    docs, _ = recorded
    for doc in docs:
        for decoy in doc.decoys:
            text = doc.text[decoy.start:decoy.end]
            if decoy.kind == "uuid":
                assert str(uuid.UUID(text)) == text
            elif decoy.kind == "luhn_not_card":
                assert text.isdigit() and luhn.is_valid(text)
            elif decoy.kind == "placeholder":
                assert text in dc._PLACEHOLDERS
            elif decoy.kind == "hash":
                assert len(text) in (7, 12, 40, 64) and int(text, 16) >= 0


def test_every_infotype_kind_and_format_is_represented():
    docs = dc.quality_corpus(1_500_000)
    planted = {label.infotype for doc in docs for label in doc.labels}
    assert planted == set(values.PLANTED_INFOTYPES)
    assert {d.kind for d in docs} == set(dc.KINDS)
    suffixes = {Path(d.filename).suffix for d in docs}
    assert {".txt", ".py", ".js", ".go", ".yaml", ".env", ".ini", ".json", ".log", ".eml"} <= suffixes


def test_speed_corpus_has_requested_size_and_kind():
    docs = dc.speed_corpus("code", 200_000, seed=5)
    assert dc.corpus_bytes(docs) >= 200_000
    assert {d.kind for d in docs} == {"code"}
    assert sum(bool(d.labels) for d in docs) < len(docs)  # sparse plants


def test_unknown_kind_is_rejected():
    with pytest.raises(ValueError, match="unknown document kind"):
        dc.build_document("spreadsheet", 0)


def test_stdlib_corpus_reads_the_interpreter_stdlib():
    docs = dc.stdlib_corpus(limit_bytes=300_000)
    assert docs and dc.corpus_bytes(docs) >= 300_000
    assert all(d.filename.endswith(".py") and "site-packages" not in d.filename for d in docs)
    assert all(not d.labels for d in docs)
    assert (dc.stdlib_root() / docs[0].filename).is_file()


def test_write_corpus_round_trips_labels(tmp_path):
    docs = dc.quality_corpus(40_000, seed=2)
    dc.write_corpus(docs, tmp_path)
    lines = (tmp_path / "labels.jsonl").read_text().splitlines()
    assert len(lines) == len(docs)
    first = json.loads(lines[0])
    text = (tmp_path / first["doc"]).read_text(encoding="utf-8")
    for label in first["labels"]:
        assert text[label["start"]:label["end"]] == docs[0].text[label["start"]:label["end"]]
