"""bench/eval: the evaluation corpus that shares no code with vigil's rules.

The corpus is the ground truth for the independent detection numbers, so these tests check that
it is deterministic, that every label's span holds a valid value of its infoType (checked with
the library that defines the standard, not with vigil), that hard negatives and value-free
documents carry no label, and that the corpus and the rules do not import each other.
"""

from __future__ import annotations

import ast
import base64
import ipaddress
import json
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import phonenumbers
import pytest
from stdnum import bic, iban, luhn
from stdnum.br import cpf
from stdnum.ca import sin
from stdnum.de import idnr
from stdnum.es import dni, nie
from stdnum.fr import nir
from stdnum.gb import nhs
from stdnum.in_ import aadhaar, pan
from stdnum.it import codicefiscale
from stdnum.nl import bsn
from stdnum.pl import pesel
from stdnum.us import ein, itin, rtn, ssn

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.eval import corpus, escaped, layouts, negatives, presidio_set, values  # noqa: E402


@pytest.fixture(scope="module")
def docs():
    return corpus.generate(seed=31, docs=900, free_docs=150)


def _snapshot(ds):
    return [(d.doc_id, d.filename, d.text, d.labels, d.decoys, d.locale, d.value_free) for d in ds]


_DRAWS_IN_A_FRESH_PROCESS = """
import hashlib, sys
sys.path.insert(0, sys.argv[1])
from bench.eval import corpus, values
fake = values._faker("it_IT")
fake.seed_instance(1)
cities = [fake.city() for _ in range(30)]
texts = [d.text for d in corpus.generate(seed=5, docs=300, free_docs=20)]
print(cities, hashlib.sha256("".join(texts).encode()).hexdigest())
"""


def test_the_corpus_is_the_same_in_every_process():
    """Faker's it_IT cities came from a set, so the corpus changed with PYTHONHASHSEED."""
    root = str(Path(__file__).resolve().parents[2])
    runs = {subprocess.run([sys.executable, "-c", _DRAWS_IN_A_FRESH_PROCESS, root], capture_output=True, text=True,
                           check=True, timeout=300, env={**os.environ, "PYTHONHASHSEED": seed}).stdout
            for seed in ("1", "2")}
    assert len(runs) == 1, runs


def test_generator_is_deterministic_and_seeded():
    a = corpus.generate(seed=5, docs=60, free_docs=20)
    b = corpus.generate(seed=5, docs=60, free_docs=20)
    c = corpus.generate(seed=6, docs=60, free_docs=20)
    assert _snapshot(a) == _snapshot(b)
    assert [d.text for d in a] != [d.text for d in c]
    assert corpus.build_document("csv", 7, seed=3).text == corpus.build_document("csv", 7, seed=3).text
    p1, p2 = presidio_set.generate(seed=5, docs=50), presidio_set.generate(seed=5, docs=50)
    assert _snapshot(p1) == _snapshot(p2)


def _digits(v: str) -> str:
    return re.sub(r"\D", "", v)


def _phone_ok(v: str, region: str) -> bool:
    try:
        return phonenumbers.is_valid_number(phonenumbers.parse(v, region))
    except phonenumbers.NumberParseException:
        return False


def _b64url_json(part: str) -> dict:
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def _dea_ok(v: str) -> bool:
    d = [int(x) for x in v[2:]]
    return len(v) == 9 and (d[0] + d[2] + d[4] + 2 * (d[1] + d[3] + d[5])) % 10 == d[6]


_SHAPES = {
    "AWS_CREDENTIALS": r"(AKIA|ASIA)[A-Z2-7]{16}|[A-Za-z0-9/+]{40}",
    "GCP_API_KEY": r"AIza[A-Za-z0-9_-]{35}",
    "GITHUB_TOKEN": r"gh[pousr]_[A-Za-z0-9]{36}|github_pat_\w{82}",
    "GITLAB_TOKEN": r"gl(pat|dt|rt)-[\w-]{20}",
    "SLACK_TOKEN": r"xox[bp]-[\d-]+-[A-Za-z0-9]+|xapp-1-A\w+-\d+-[0-9a-f]{64}",
    "SLACK_WEBHOOK": r"https://hooks\.slack\.com/services/T\w+/B\w+/\w{24}",
    "STRIPE_API_KEY": r"(sk|rk)_live_\w{24,99}",
    "OPENAI_API_KEY": r"sk-(proj-|svcacct-)?[\w-]+T3BlbkFJ[\w-]+",
    "ANTHROPIC_API_KEY": r"sk-ant-api03-[\w-]{93}AA",
    "SENDGRID_API_KEY": r"SG\.[\w-]{22}\.[\w-]{43}",
    "NPM_TOKEN": r"npm_[A-Za-z0-9]{36}",
    "TWILIO_API_KEY": r"SK[0-9a-f]{32}",
    "HUGGINGFACE_TOKEN": r"hf_[A-Za-z]{34}",
    "DATABRICKS_TOKEN": r"dapi[0-9a-f]{32}(-\d)?",
    "UK_NATIONAL_INSURANCE_NUMBER": r"[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?\d\d ?\d\d ?\d\d ?[A-D]",
    "US_PASSPORT": r"[1-9]\d{8}|[A-Z]\d{8}",
    "MEDICAL_RECORD_NUMBER": r"[\w-]{6,12}",
    "US_DRIVERS_LICENSE_NUMBER": r"[A-Z0-9][A-Z0-9 -]{5,20}",
    "EMAIL_ADDRESS": r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}",
    "DATE_OF_BIRTH": r".*\b(19|20)\d\d\b.*",
    "PASSWORD": r"\S{8,}",
}


def _valid(infotype: str, v: str, region: str) -> bool:
    c = re.sub(r"[\s.-]", "", v)  # the compact form stdnum validates
    checks = {
        "CREDIT_CARD_NUMBER": lambda: 12 <= len(_digits(v)) <= 19 and luhn.is_valid(_digits(v)),
        "IBAN_CODE": lambda: iban.is_valid(c),
        "SWIFT_CODE": lambda: bic.is_valid(c),
        "US_BANK_ROUTING_MICR": lambda: rtn.is_valid(c),
        "IP_ADDRESS": lambda: bool(ipaddress.ip_address(v)),
        "PHONE_NUMBER": lambda: _phone_ok(v, region) or any(_phone_ok(v, r) for r in ("US", "GB", "DE", "CA")),
        "US_SOCIAL_SECURITY_NUMBER": lambda: ssn.is_valid(c),
        "US_INDIVIDUAL_TAXPAYER_IDENTIFICATION_NUMBER": lambda: itin.is_valid(c),
        "US_EMPLOYER_IDENTIFICATION_NUMBER": lambda: ein.is_valid(c),
        "UK_NATIONAL_HEALTH_SERVICE_NUMBER": lambda: nhs.is_valid(c),
        "CANADA_SOCIAL_INSURANCE_NUMBER": lambda: sin.is_valid(c),
        "FRANCE_NIR": lambda: nir.is_valid(c),
        "GERMANY_TAXPAYER_IDENTIFICATION_NUMBER": lambda: idnr.is_valid(c),
        "SPAIN_DNI_NUMBER": lambda: dni.is_valid(c),
        "SPAIN_NIE_NUMBER": lambda: nie.is_valid(c),
        "ITALY_FISCAL_CODE": lambda: codicefiscale.is_valid(c),
        "NETHERLANDS_BSN_NUMBER": lambda: bsn.is_valid(c),
        "INDIA_AADHAAR_INDIVIDUAL": lambda: aadhaar.is_valid(c),
        "INDIA_PAN_INDIVIDUAL": lambda: pan.is_valid(c),
        "BRAZIL_CPF_NUMBER": lambda: cpf.is_valid(c),
        "POLAND_PESEL_NUMBER": lambda: pesel.is_valid(c),
        "US_HEALTHCARE_NPI": lambda: len(v) == 10 and luhn.is_valid("80840" + v),
        "US_DEA_NUMBER": lambda: _dea_ok(v),
        "JSON_WEB_TOKEN": lambda: "alg" in _b64url_json(v.split(".")[0]) and len(v.split(".")) == 3,
        "GCP_CREDENTIALS": lambda: json.loads(v)["type"] == "service_account",
        "ENCRYPTION_KEY": lambda: v.startswith("-----BEGIN ") and "PRIVATE KEY-----" in v.rstrip()[-30:],
        "AZURE_AUTH_TOKEN": lambda: ("Q~" in v and len(v) == 40) or ("sig=" in v and "sv=" in v),
        "AZURE_STORAGE_KEY": lambda: len(base64.b64decode(v)) == 64 if "=" == v[-1] and ";" not in v
        else "AccountKey=" in v,
        "HTTP_COOKIE": lambda: "=" in v and "\n" not in v,
        "BASIC_AUTH_HEADER": lambda: ":" in base64.b64decode(v).decode(),
        "DATABASE_CONNECTION_STRING": lambda: "://" in v or "Password=" in v,
    }
    if infotype in checks:
        try:
            return bool(checks[infotype]())
        except ValueError:
            return False
    return re.fullmatch(_SHAPES[infotype], v) is not None


def test_every_label_spans_a_valid_value_of_its_infotype(docs):
    checked = Counter()
    for doc in docs:
        region = values.LOCALES[doc.locale].region
        spans = sorted((label.start, label.end) for label in doc.labels)
        assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:])), f"{doc.doc_id}: overlapping labels"
        for label in doc.labels:
            v = doc.text[label.start:label.end]
            assert v and v == v.strip(), (doc.doc_id, label)
            if label.infotype == "ENCRYPTION_KEY" and "\\n" in v:  # JSON-escaped in a .json file
                v = json.loads(f'"{v}"')
            elif label.infotype in values.MULTILINE and doc.kind == "yaml":  # re-indented block scalar
                v = re.sub(r"\n +", "\n", v)
            assert _valid(label.infotype, v, region), (doc.doc_id, label.infotype)
            checked[label.infotype] += 1
    assert sum(checked.values()) > 2000
    assert len(checked) == len(values.INFOTYPES)


def test_corpus_covers_every_infotype_kind_and_locale_family(docs):
    labelled = Counter(label.infotype for d in docs for label in d.labels)
    assert set(labelled) == set(values.INFOTYPES) and len(labelled) >= 42
    assert {d.kind for d in docs} == set(layouts.KINDS)
    assert len({d.locale for d in docs}) >= 20
    suffixes = {Path(d.filename).suffix for d in docs}
    assert {".csv", ".tsv", ".md", ".html", ".json", ".env", ".log", ".eml", ".sql", ".py"} <= suffixes


def test_value_free_documents_and_decoys_carry_no_labels(docs):
    free = [d for d in docs if d.value_free]
    assert len(free) == 150 and all(not d.labels for d in free)
    kinds = Counter()
    known = {v for vs in values.known_examples().values() for v in vs}
    for doc in docs:
        for decoy in doc.decoys:
            kinds[decoy.kind] += 1
            assert decoy.end > decoy.start
            assert all(decoy.end <= l.start or l.end <= decoy.start for l in doc.labels), (doc.doc_id, decoy)
            if decoy.kind == "known_example":
                assert doc.text[decoy.start:decoy.end] in known
    assert set(kinds) == set(negatives.KINDS)


def test_known_examples_are_never_labelled(docs):
    known = {re.sub(r"\W", "", v).upper() for vs in values.known_examples().values() for v in vs}
    for doc in docs:
        for label in doc.labels:
            assert re.sub(r"\W", "", doc.text[label.start:label.end]).upper() not in known


def test_presidio_templates_are_filled_with_labelled_values():
    ps = presidio_set.generate(seed=9, docs=len(presidio_set.templates()))
    assert len(ps) == 210  # the upstream file's non-blank lines
    assert all("{{" not in d.text for d in ps)
    labelled = Counter(label.infotype for d in ps for label in d.labels)
    assert set(labelled) == set(presidio_set.LABELLED.values())
    for d in ps:
        for label in d.labels:
            v = d.text[label.start:label.end]
            assert _valid(label.infotype, v, values.LOCALES[d.locale].region), (d.doc_id, label.infotype)


def test_json_string_set_holds_the_same_documents_with_labels_on_the_escaped_values(docs):
    written = escaped.as_json_strings(docs)
    by_id = {d.doc_id: d for d in docs}
    assert len(written) > 0.9 * len(docs)  # nearly every document has a line break or a quote
    moved = escapes = 0
    for new in written:
        old = by_id[new.doc_id.removesuffix("-json")]
        assert json.loads(new.text) == {"id": old.doc_id, "text": old.text}
        assert (new.kind, new.locale, new.value_free) == (old.kind, old.locale, old.value_free)
        assert len(new.labels) == len(old.labels) and len(new.decoys) == len(old.decoys)
        for a, b in zip(old.labels + old.decoys, new.labels + new.decoys):
            value = old.text[a.start:a.end]
            assert new.text[b.start:b.end] == json.dumps(value, ensure_ascii=False)[1:-1]
            moved += b.start != a.start
        escapes += new.text.count("\\n")
    assert moved > 0.9 * sum(len(d.labels) + len(d.decoys) for d in written)
    assert escapes > len(written)


def test_write_round_trips_documents_and_labels(tmp_path):
    ds = corpus.generate(seed=2, docs=30, free_docs=5)
    corpus.write(ds, tmp_path)
    rows = [json.loads(x) for x in (tmp_path / "labels.jsonl").read_text().splitlines()]
    assert len(rows) == len(ds)
    for row, doc in zip(rows, ds):
        text = (tmp_path / row["doc"]).read_bytes().decode("utf-8")
        assert text == doc.text
        assert [tuple(x) for x in row["labels"]] == [(l.infotype, l.start, l.end) for l in doc.labels]


def test_unknown_kind_is_rejected():
    with pytest.raises(ValueError, match="unknown document kind"):
        corpus.build_document("spreadsheet", 0)


# ------------------------------------------------------------------------ independence

def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
    return out


def test_corpus_does_not_import_vigil_and_vigil_does_not_import_the_corpus():
    eval_files = sorted((ROOT / "bench" / "eval").glob("*.py"))
    assert len(eval_files) >= 8
    for path in eval_files:
        bad = {m for m in _imports(path) if m == "vigil" or m.startswith("vigil.")}
        assert not bad, f"{path.name} imports {bad}"
    vigil_files = sorted((ROOT / "vigil").rglob("*.py"))
    assert len(vigil_files) > 20
    for path in vigil_files:
        bad = {m for m in _imports(path) if m.split(".")[0] in ("bench", "detect_corpus")}
        assert not bad, f"{path.relative_to(ROOT)} imports {bad}"
    # and at run time, transitively: loading every bench.eval module pulls in no vigil module
    code = ("import sys; sys.path.insert(0, sys.argv[1]); "
            "import bench.eval.corpus, bench.eval.escaped, bench.eval.presidio_set, bench.eval.scoring, bench.eval.report, "
            "bench.eval.inspect_run, bench.eval.__main__; "
            "print(sorted(m for m in sys.modules if m == 'vigil' or m.startswith('vigil.')))")
    out = subprocess.run([sys.executable, "-c", code, str(ROOT)], capture_output=True, text=True, timeout=120,
                         cwd=str(ROOT / "bench"))
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
