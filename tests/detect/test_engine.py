"""Engine behaviour: backend conformance, chunk seams, masking and fingerprints, custom rules."""

from __future__ import annotations

import json
import random

import pytest

from vigil.detect import Engine, Finding
from vigil.detect.custom import edm_hash
from vigil.detect.keys import load_fingerprint_key
from vigil.detect.rules import RuleError, load_builtin_rules
from vigil.synth import values

KEY = bytes(range(32))  # same key as the conftest engines

FILLER = (
    "Thanks, that worked. Next question: how should we structure the runbook?\n",
    "def total(rows):\n    return sum(r['count'] for r in rows if r.get('count'))\n",
    "Order #123456789 shipped; ticket OPS-4521; build 415-555-2671 is green; v1.2.3.4\n",
    "Café Müller — naïve façade, 東京, emoji 🙂, tracking 4532015112830366\n",
    "request id 1b4e28ba-2fa1-11d2-883f-0016d3cca427 failed in commit 3f1e2d4c5b6a7988\n",
    "the docs say api_key=<your-api-key> and AKIAIOSFODNN7EXAMPLE is an example\n",
    "NIR and SWIFT and BSN and ssn words without numbers; birthday party on 2021-03-12\n",
)
SAY = {"US_SOCIAL_SECURITY_NUMBER": "SSN", "US_PASSPORT": "passport number",
       "US_BANK_ROUTING_MICR": "routing number", "SWIFT_CODE": "SWIFT code", "IP_ADDRESS": "server IP",
       "DATE_OF_BIRTH": "date of birth", "CANADA_SOCIAL_INSURANCE_NUMBER": "SIN",
       "GERMANY_TAXPAYER_IDENTIFICATION_NUMBER": "Steuer-ID", "SPAIN_DNI_NUMBER": "DNI",
       "NETHERLANDS_BSN_NUMBER": "BSN", "INDIA_AADHAAR_INDIVIDUAL": "Aadhaar", "US_HEALTHCARE_NPI": "NPI",
       "US_DEA_NUMBER": "DEA number", "ICD10_CODE": "diagnosis code", "MEDICAL_RECORD_NUMBER": "medical record"}


def mixed_corpus(seed: int, n: int) -> tuple[str, list[tuple[str, int, int]]]:
    """Filler (with non-ASCII text and decoys) and planted values of every infoType."""
    rng = random.Random(seed)
    parts: list[str] = []
    planted: list[tuple[str, int, int]] = []
    pos = 0
    for i in range(n):
        filler = rng.choice(FILLER)
        infotype = values.PLANTED_INFOTYPES[i % len(values.PLANTED_INFOTYPES)]
        value = values.generate(infotype, rng)
        lead = f"{filler}Also, the {SAY.get(infotype, infotype.lower())} is "
        parts += [lead, value, ".\n\n"]
        planted.append((infotype, pos + len(lead), pos + len(lead) + len(value)))
        pos += len(lead) + len(value) + 3
    return "".join(parts), planted


def key(findings: list[Finding]) -> list[tuple]:
    return [(f.detector, f.start, f.end, f.likelihood, f.masked, f.fingerprint, f.context) for f in findings]


def test_backends_agree_on_every_rule_example(hs_engine, py_engine):
    for rule in hs_engine.rules:
        for text in rule.examples["positive"] + rule.examples["negative"]:
            assert key(hs_engine.scan(text)) == key(py_engine.scan(text)), (rule.id, text[:60])


def test_backends_agree_on_every_rule_example_written_in_escaped_text(hs_engine, py_engine):
    """Each example as it stands in a JSON string or a log line: its line breaks and tabs written
    out (``\\n``, ``\\t``), after ``\\n`` and ``\\t``, and with its blanks written as ``\\t``.
    Both backends read every rule's boundary after an escape alike (a consumed anchor boundary
    once let Hyperscan miss a SWIFT code after ``\\t`` that Python found)."""
    found = 0
    for rule in hs_engine.rules:
        for example in rule.examples["positive"] + rule.examples["negative"]:
            written = example.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t")
            # after an escape; and with every blank an escaped tab, so values follow escapes
            for text in (f"note\\n{written}", f"k:\\t{written}\\n", written.replace(" ", "\\t")):
                hs = key(hs_engine.scan(text))
                assert hs == key(py_engine.scan(text)), (rule.id, text[:80])
                found += bool(hs)
    assert found > len(hs_engine.rules)


@pytest.mark.parametrize("seed", [1, 2])
def test_backends_agree_on_a_mixed_corpus(hs_engine, py_engine, seed):
    text, planted = mixed_corpus(seed, 120)
    found = hs_engine.scan(text)
    assert key(found) == key(py_engine.scan(text))
    hit = sum(any(f.infotype == t and f.start < e and f.end > s for f in found) for t, s, e in planted)
    assert hit >= 0.95 * len(planted)


def test_non_ascii_and_surrogates_agree(hs_engine, py_engine):
    text = ("naïve 東京 ☃ user é@x.com ok j.doe@acme-corp.com, SSN 839-41-5573 \udcff "
            "password=Sümmer!2024x and IBAN DE63 3137 2159 0109 2815 90")
    assert key(hs_engine.scan(text)) == key(py_engine.scan(text))
    assert {f.infotype for f in hs_engine.scan(text)} >= {"EMAIL_ADDRESS", "US_SOCIAL_SECURITY_NUMBER", "IBAN_CODE"}


def test_chunked_scan_equals_whole_scan_without_seam_duplicates(cache_dir):
    whole = Engine.load(KEY, cache_dir=cache_dir)
    chunked = Engine.load(KEY, cache_dir=cache_dir, chunk_chars=4096)
    text, planted = mixed_corpus(3, 600)
    assert len(text) > 20 * (chunked.chunk_chars + chunked.overlap) / 4
    a, b = whole.scan(text), chunked.scan(text)
    assert key(a) == key(b)
    spans = [(f.detector, f.start, f.end) for f in b]
    assert len(spans) == len(set(spans))
    # values planted right across each chunk boundary are found exactly once
    seam_text = "x" * 4090 + " 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 " + "y" * 4096 * 8 + " 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\n"
    seam = [f for f in chunked.scan(seam_text * 3) if f.infotype == "GITHUB_TOKEN"]
    assert len(seam) == 6 and len({f.start for f in seam}) == 6


def test_offsets_are_character_offsets_and_bytes_are_accepted(hs_engine):
    text = "Grüße 東京 — mail ana.silva@acme-corp.com now"
    (f,) = [f for f in hs_engine.scan(text) if f.infotype == "EMAIL_ADDRESS"]
    assert f.raw(text) == "ana.silva@acme-corp.com"
    (g,) = [g for g in hs_engine.scan(text.encode("utf-8")) if g.infotype == "EMAIL_ADDRESS"]
    assert (g.start, g.end) == (f.start, f.end)


def test_masking_styles(hs_engine):
    cases = {
        "key sk-ant-api03-Zty1-Z4RlvUOUjNwoLR1uLAy0xhnTf0baNaMYmbdzw_Isz0psundmjv-73hbPsETJveImiSy5XcgCYf4gEFCfuwOa6M1GAA": "sk-ant-…1GAA",
        "card 5420-4653-7556-4644": "****-****-****-4644",
        "contact jane.doe@acme-corp.com": "j***@acme-corp.com",
        "DATABASE_URL=postgres://etl_user:9iMdfeZ04KvU!@db.internal.acme-corp.com:5432/hr": "postgres://etl_user:****@db.internal.acme-corp.com:5432/hr",
        "Authorization: Basic amVua2luczpUT2FROVFEY0Y2ZnNzSVhJaSM=": "Authorization: Basic ****",
    }
    for text, masked in cases.items():
        assert masked in [f.masked for f in hs_engine.scan(text)], text


def test_raw_value_never_in_repr_json_or_context(hs_engine):
    secrets = ["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", "839-41-5573", "Quartz#6249river",
               "PiYGFDm7ena8D5VfLDpgyyjVw5HanSBeVRsfAGeA", "5420465375564644"]
    text = (f"token {secrets[0]} and SSN {secrets[1]}\nDB_PASSWORD={secrets[2]}\n"
            f"AWS_ACCESS_KEY_ID=AKIASSRRXQQM4PLPPJSM\nAWS_SECRET_ACCESS_KEY={secrets[3]}\ncard {secrets[4]}")
    found = hs_engine.scan(text)
    assert len(found) == 5
    blob = repr(found) + json.dumps([f.to_dict() for f in found]) + repr(hs_engine)
    for secret in secrets:
        assert secret not in blob
    assert [f.raw(text) for f in found][0] == secrets[0]
    assert hs_engine.scan_with_raw(text)[1][1] == secrets[1]


def test_fingerprints_are_keyed_and_normalised(cache_dir):
    a = Engine.load(KEY, cache_dir=cache_dir)
    b = Engine.load(bytes(32), cache_dir=cache_dir)
    fa = {f.masked: f.fingerprint for f in a.scan("card 5420 4653 7556 4644 and card 5420465375564644")}
    assert len(set(fa.values())) == 1  # same card, different spacing
    fb = b.scan("card 5420465375564644")[0].fingerprint
    assert fb not in fa.values()
    assert len(fb) == 64 and int(fb, 16) >= 0


def test_placeholders_and_documentation_keys_are_suppressed(hs_engine):
    text = ("AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE\nghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n"
            "password = \"changeme\"\napi_key=${API_KEY}\nsk_live_XXXXXXXXXXXXXXXXXXXXXXXX\n"
            "postgres://user:${DB_PASSWORD}@localhost/db\n4242 4242 4242 4242\n")
    assert hs_engine.scan(text) == []


def test_aws_key_id_and_secret_pair_into_one_finding(hs_engine):
    text = "AWS_ACCESS_KEY_ID=AKIASSRRXQQM4PLPPJSM\nAWS_SECRET_ACCESS_KEY=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"
    (f,) = hs_engine.scan(text)
    assert (f.infotype, f.likelihood, f.start, f.end) == ("AWS_CREDENTIALS", "VERY_LIKELY", 18, len(text))
    (alone,) = hs_engine.scan("key AKIASSRRXQQM4PLPPJSM")
    assert alone.likelihood == "LIKELY"


def test_min_likelihood_filters(cache_dir):
    strict = Engine.load(KEY, cache_dir=cache_dir, min_likelihood="VERY_LIKELY")
    text = "key AKIASSRRXQQM4PLPPJSM; token 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"
    assert [f.infotype for f in strict.scan(text)] == ["GITHUB_TOKEN"]
    with pytest.raises(ValueError):
        Engine.load(KEY, min_likelihood="SURE")
    with pytest.raises(ValueError):
        Engine.load(b"short")


CUSTOM = """
detectors:
  - id: acme-employee-id
    infotype: ACME_EMPLOYEE_ID
    pattern: '\\bEMP-\\d{6}\\b'
    hotwords: [employee]
    missing_hotword: -3
    severity: low
    examples: {positive: ["employee EMP-123456"], negative: ["EMP-123456"]}
  - id: acme-codenames
    type: dictionary
    infotype: ACME_PROJECT
    words: [bluebird, night jar]
  - id: acme-customers
    type: exact_match
    infotype: ACME_CUSTOMER_NUMBER
    pattern: '\\b\\d{8}\\b'
    normalize: digits
    salt: s1
    hashes: [%s]
overrides:
  ipv4-address: {disabled: true}
  email-address: {min_likelihood: VERY_LIKELY}
"""


def test_custom_detectors_from_yaml(cache_dir, tmp_path):
    config = CUSTOM % edm_hash("12345678", "digits", "s1")
    path = tmp_path / "rules.yaml"
    path.write_text(config)
    for source in (config, path):
        engine = Engine.load(KEY, custom_rules=source, cache_dir=cache_dir)
        text = ("employee EMP-123456; Project Bluebird and night jar; customers 12345678 "
                "and 87654321; server IP 186.178.186.21; mail ana@acme-corp.com" + " ." * 60 + "EMP-654321")
        got = sorted((f.detector, f.raw(text)) for f in engine.scan(text))
        assert got == [("acme-codenames", "Bluebird"), ("acme-codenames", "night jar"),
                       ("acme-customers", "12345678"), ("acme-employee-id", "EMP-123456")]
        assert "12345678" not in config



def test_overrides_change_only_the_engine_they_configure(cache_dir):
    """The built-in rules are compiled once per process and shared by every engine
    (``load_builtin_rules``): one engine's overrides must not reach another's rules."""
    text = "mail ana@acme-corp.com about card 4111 1111 1111 1111"
    before = {f.detector: (f.likelihood, f.severity) for f in Engine.load(KEY, cache_dir=cache_dir).scan(text)}
    assert "email-address" in before
    custom = Engine.load(KEY, cache_dir=cache_dir, custom_rules={"overrides": {
        "email-address": {"min_likelihood": "VERY_LIKELY", "severity": "critical", "likelihood": "UNLIKELY",
                          "allowlist": ["ana@acme-corp\\.com"]},
        "credit-card-number": {"disabled": True}}})
    assert not {f.detector for f in custom.scan(text)} & {"email-address", "credit-card-number"}
    after = {f.detector: (f.likelihood, f.severity) for f in Engine.load(KEY, cache_dir=cache_dir).scan(text)}
    assert after == before
    email = next(r for r in load_builtin_rules() if r.id == "email-address")
    assert (email.severity, email.min_likelihood, email.allowlist) != ("critical", 4, ("ana@acme-corp\\.com",))
    assert load_builtin_rules() is not load_builtin_rules()  # a new list each call, the same rules
    assert all(a is b for a, b in zip(load_builtin_rules(), load_builtin_rules()))

def test_custom_rule_errors_are_clear():
    with pytest.raises(RuleError, match="hashes"):
        Engine.load(KEY, custom_rules={"detectors": [{"id": "x", "type": "exact_match", "infotype": "X",
                                                      "pattern": "\\d{3}", "hashes": ["abc"]}]})
    with pytest.raises(RuleError, match="unknown detector"):
        Engine.load(KEY, custom_rules={"overrides": {"nope": {"disabled": True}}})
    with pytest.raises(RuleError, match="duplicate"):
        Engine.load(KEY, custom_rules={"detectors": [{"id": "email-address", "infotype": "X", "pattern": "a"}]})
    with pytest.raises(RuleError, match="not found"):
        Engine.load(KEY, custom_rules="/nonexistent/rules.yaml")


def test_fingerprint_key_file_is_created_once_and_env_overrides(tmp_path, monkeypatch):
    monkeypatch.delenv("VIGIL_FINGERPRINT_KEY", raising=False)
    monkeypatch.setenv("VIGIL_HOME", str(tmp_path))
    first = load_fingerprint_key()
    assert len(first) == 32 and load_fingerprint_key() == first
    assert (tmp_path / "fingerprint.key").stat().st_mode & 0o077 == 0
    monkeypatch.setenv("VIGIL_FINGERPRINT_KEY", "ab" * 16)
    assert load_fingerprint_key() == b"\xab" * 16
    monkeypatch.setenv("VIGIL_FINGERPRINT_KEY", "not-hex")
    with pytest.raises(ValueError, match="hex") as info:
        load_fingerprint_key()
    assert "not-hex" not in str(info.value)


def test_rule_ids_are_unique():
    rules = load_builtin_rules()
    assert len({r.id for r in rules}) == len(rules)


def test_engine_pickles_for_worker_processes(cache_dir):
    import pickle
    engine = Engine.load(KEY, cache_dir=cache_dir, min_likelihood="LIKELY")
    clone = pickle.loads(pickle.dumps(engine))
    text = "token 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 and SSN 839-41-5573"
    assert key(clone.scan(text)) == key(engine.scan(text))
    assert "GITHUB_TOKEN" in clone.infotypes


def test_trailing_lookahead_becomes_one_consumed_character():
    from vigil.detect.rules import Rule, _consuming_lookahead

    assert _consuming_lookahead(r"ab[0-9]{5,50}(?![0-9A-Z])") == r"ab[0-9]{5,50}(?:[^0-9A-Z]|$)"
    assert _consuming_lookahead(r"\d{13,19}(?![0-9A-Za-z-]|[.,]\d)") == r"\d{13,19}(?:[^0-9A-Za-z-]|$)"
    assert _consuming_lookahead(r"\d{1,3}(?!\d|\.\d)") == r"\d{1,3}(?:[^\d]|$)"
    assert _consuming_lookahead(r"x(?![^a])") == r"x(?![^a])"  # a negated class is left alone
    rule = Rule.from_dict({"id": "t", "infotype": "T", "pattern": r"(?<![a-z])tok_[a-z]{8,40}(?![a-z])"})
    assert rule.hs_end_shift == 1 and rule.hs_pattern.endswith("(?:[^a-z]|$)")


def test_leading_lookbehind_becomes_one_consumed_character_with_its_escape_exception():
    import random
    import re

    from vigil.detect.rules import _consuming_lookbehind

    assert _consuming_lookbehind(r"(?<![A-Za-z0-9])\d{7}") == r"(?:^|[^A-Za-z0-9])\d{7}"
    pattern = r"(?<![A-Za-z0-9+.-](?<!\\[nrt]))\d{3}-\d{4}"
    consumed = _consuming_lookbehind(pattern)
    assert consumed == r"(?:^|[^A-Za-z0-9+.-]|[nrt])\d{3}-\d{4}"
    # A superset with the same ends: every match of the pattern ends where one of the consumed
    # form does (what prefilter events need), on random text made of the characters that matter.
    exact, wide = re.compile(pattern), re.compile(consumed)
    rng = random.Random(5)
    for _ in range(2000):
        text = "".join(rng.choice("\\nrtx5-. +") for _ in range(rng.randint(0, 6))) + "212-4567"
        ends = {m.end() for i in range(len(text) + 1) if (m := wide.match(text, i))}
        assert {m.end() for m in exact.finditer(text)} <= ends, text


def test_unit_test_modules_demote_contact_details(cache_dir):
    from vigil.detect.engine import is_test_code

    value = "aisha.rossi@outlook.com"
    plain = f"Please write to {value} today.\n"
    module = f"import unittest\n\nclass T(unittest.TestCase):\n    ADDR = 'x'\n# {plain}"
    assert is_test_code(module) and not is_test_code(plain)
    everything = Engine.load(KEY, min_likelihood="VERY_UNLIKELY", cache_dir=cache_dir)
    [in_prose] = [f for f in everything.scan(plain) if f.infotype == "EMAIL_ADDRESS"]
    [in_test] = [f for f in everything.scan(module) if f.infotype == "EMAIL_ADDRESS"]
    assert (in_prose.likelihood, in_test.likelihood) == ("LIKELY", "UNLIKELY")
    default = Engine.load(KEY, cache_dir=cache_dir)
    assert not [f for f in default.scan(module) if f.infotype == "EMAIL_ADDRESS"]


def test_context_words_are_looked_up_around_each_candidate(hs_engine, py_engine):
    # "build" sits right before the first value (anti-context), "IP" before the second (context).
    text = "build 186.178.186.21 was slow; meanwhile, after the deploy, client IP 59.240.100.87 failed"
    found = hs_engine.scan(text)
    assert key(found) == key(py_engine.scan(text))
    assert [text[f.start:f.end] for f in found] == ["59.240.100.87"]


def test_credentials_in_unit_test_modules_are_still_reported(hs_engine):
    # test_code_penalty is only on contact details: a live key in a fixture is still a leak.
    for rule in hs_engine.rules:
        if rule.category == "credential" and rule.examples["positive"]:
            assert rule.test_code_penalty == 0, rule.id
    example = next(r for r in hs_engine.rules if r.id == "stripe-secret-key").examples["positive"][0]
    module = "import unittest\n\n" + example + "\n"
    assert "STRIPE_API_KEY" in {f.infotype for f in hs_engine.scan(module)}


def test_python_backend_finds_context_words_only_where_their_stem_is(py_engine):
    """The pure-Python backend tries each word regex only at its stem: the same ends as a full
    finditer, on camelCase, run-together, upper-case, plural and overlapping spellings, and
    on text whose lower() changes length (İ)."""
    plan = py_engine.backend.plan
    texts = ["customerSSN=1; cardNumber cardnumber CARD_NO card-holder cardholders passport passport number "
             "ТЕЛЕФОН: 1, Móvil 2, 電話番号 3, numéro d'assurance sociale",
             "SSNs, ssn no ssno; DateOfBirth dateOfBirth date_of_birth DOB d.o.b. tel:tel. phonephone",
             "İstanbul card İ phone 123 passwordPassword pass_word"]
    checked = 0
    for text in texts:
        low = text.lower()
        for w, rx in enumerate(plan.word_regexes):
            if len(low) == len(text):
                assert plan.word_ends(w, text, low) == [m.end() for m in rx.finditer(text)], (plan.words[w], text)
                checked += 1
    assert checked == 2 * len(plan.words)


def test_backends_agree_where_lower_case_changes_the_length(hs_engine, py_engine):
    text = "İstanbul office, SSN 839-41-5573, İ mail: j.doe@acme-corp.com"
    assert len(text.lower()) != len(text)
    found = py_engine.scan(text)
    assert key(found) == key(hs_engine.scan(text))
    assert {f.infotype for f in found} >= {"US_SOCIAL_SECURITY_NUMBER", "EMAIL_ADDRESS"}
