"""bench/thirdparty: Presidio's recognizer test cases read with ``ast``, the stored cases, their
scorer on cases worked out by hand, and the evaluation script on a real vigil engine."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.thirdparty import credsweeper_samples, presidio_cases  # noqa: E402
from bench.thirdparty.scoring import Hit, score_case, score_sample, tally  # noqa: E402

TEST_MODULE = '''
import pytest

@pytest.fixture(scope="module")
def entities():
    return ["US_SSN"]

@pytest.mark.parametrize(
    "text, expected_len, expected_positions, expected_score_ranges",
    [
        ("078-05-1123", 1, ((0, 11),), ((0.5, 0.6),),),
        ("abc 078 05 1123 and 078-05-1124", 2, ((4, 15), (20, 31),), ((0.5, 0.6), (0.5, "max"),),),
        ("0780511201", 0, (), (),),
        ("x".join(["a", "b"]), 0, (), (),),
    ],
)
def test_ssn(text, expected_len, expected_positions, expected_score_ranges, recognizer, entities):
    pass

@pytest.mark.parametrize("text, expected_len, leniency", [("078-05-1123", 1, 0)])
def test_with_a_setting(text, expected_len, leniency):
    pass

@pytest.mark.parametrize("number, expected", [("078051123", True)])
def test_checksum(number, expected):
    pass
'''


def test_cases_are_read_from_parametrize_literals_and_the_rest_is_counted():
    cases, left_out = presidio_cases.cases_of("tests/test_us_ssn_recognizer.py", TEST_MODULE)
    assert [(c.text, c.expected_len, c.entities, c.spans) for c in cases] == [
        ("078-05-1123", 1, ["US_SSN"], [[0, 11]]),
        ("abc 078 05 1123 and 078-05-1124", 2, ["US_SSN", "US_SSN"], [[4, 15], [20, 31]]),
        ("0780511201", 0, ["US_SSN"], []),
    ]
    assert cases[0].line == 11 and cases[0].function == "test_ssn"
    assert left_out == {"not a literal (built by a call)": 1, "test_with_a_setting: parameters ['leniency']": 1}


def test_the_stored_cases_say_where_they_come_from_and_point_at_their_values():
    meta = json.loads(presidio_cases.DATA.read_text(encoding="utf-8"))
    assert meta["source"] == "https://github.com/microsoft/presidio" and len(meta["commit"]) == 40
    assert (presidio_cases.DATA.parent / "presidio_recognizer_cases.NOTICE").read_text().count("MIT License") >= 1
    cases = presidio_cases.load()
    assert len(cases) > 500
    assert sum(c.expected_len == 0 for c in cases) > 100
    for c in cases:
        assert len(c.spans) == c.expected_len, c
        for span in c.spans:
            assert span is None or (0 <= span[0] < span[1] <= len(c.text) and c.text[span[0]:span[1]].strip()), c


CASE = presidio_cases.Case("f.py", 1, "t", "IBAN DE89370400440532013000 or 4111111111111111 or 10.1.2.3",
                           2, ["IBAN_CODE", "CREDIT_CARD"], [[5, 27], [31, 47]])


def test_scoring_counts_found_withheld_missed_and_false_within_the_cases_own_types():
    hits = [Hit("IBAN_CODE", 5, 27), Hit("IBAN_CODE", 5, 27),   # the same value twice: found once
            Hit("CREDIT_CARD_NUMBER", 31, 47, known_example=True),  # withheld by design
            Hit("IBAN_CODE", 51, 59),                           # overlaps nothing expected: false
            Hit("IP_ADDRESS", 51, 59)]                          # not the case's type: not scored
    outcomes = score_case(CASE, hits)
    assert sorted((o.entity, o.kind, o.value) for o in outcomes) == [
        ("CREDIT_CARD", "known_example", "4111111111111111"),
        ("IBAN_CODE", "false", "10.1.2.3"),
        ("IBAN_CODE", "found", "DE89370400440532013000"),
    ]
    counts = tally(outcomes)
    assert counts["*", "found"] == 1 and counts["*", "false"] == 1 and counts["IBAN_CODE", "found"] == 1
    missed = score_case(CASE, [])
    assert sorted(o.kind for o in missed) == ["missed", "missed"] and not any(o.bare for o in missed)
    bare = presidio_cases.Case("f.py", 1, "t", " 078-05-1123 ", 1, ["US_SSN"], [[1, 12]])
    assert [(o.kind, o.bare) for o in score_case(bare, [])] == [("missed", True)]


def test_a_count_without_a_position_is_found_by_any_finding_of_the_type():
    case = presidio_cases.Case("f.py", 1, "t", "2001:4860::8888", 1, ["IP_ADDRESS"], [None])
    assert [o.kind for o in score_case(case, [Hit("IP_ADDRESS", 0, 15)])] == ["found"]
    assert [o.kind for o in score_case(case, [])] == ["missed"]


def test_the_evaluation_script_scores_vigil_on_the_stored_cases(tmp_path):
    meta = json.loads(presidio_cases.DATA.read_text(encoding="utf-8"))
    picked = [c for c in meta["cases"] if c["entities"][0] in ("IBAN_CODE", "CREDIT_CARD", "US_SSN")][:60]
    data = tmp_path / "cases.json"
    data.write_text(json.dumps({**meta, "cases": picked}), encoding="utf-8")
    out = tmp_path / "thirdparty.md"
    subprocess.run([sys.executable, str(ROOT / "bench" / "thirdparty_eval.py"), "--tools", "vigil",
                    "--data", str(data), "--out", str(out)], check=True, capture_output=True, timeout=300)
    text = out.read_text(encoding="utf-8")
    assert f"at {meta['commit'][:12]}" in text
    row = next(line for line in text.splitlines() if line.startswith("| **all** |"))
    expected = sum(len(c["spans"]) for c in picked)
    found, withheld, missed = (int(x) for x in row.split("|")[3].replace("(", "/").split("/")[:3])
    assert found + withheld + missed == expected and found > 0 and withheld > 0  # Presidio's test cards


# ------------------------------------------------------------------ CredSweeper's samples

def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


def _credsweeper_clone(tmp_path: Path) -> Path:
    """A repository laid out like CredSweeper's: samples and the expected output."""
    repo = tmp_path / "credsweeper"
    (repo / "tests" / "samples").mkdir(parents=True)
    (repo / "tests" / "data").mkdir()
    samples = {
        "config.py": 'user = "ana"\n    db_password = "Quartz#6249river"  # prod\nid = "3f0c2a9e-1b7d-4c55-9e21-7a1d2b3c4d5e"\n',
        "look_alikes_n": "password = get_password()\n",
        "key.pem": "-----BEGIN PRIVATE KEY-----\nMIIBVAIBADAN\n-----END PRIVATE KEY-----\n",
        "blob.bin": "\0\1\2",
    }
    for name, text in samples.items():
        (repo / "tests" / "samples" / name).write_bytes(text.encode())
    line = '    db_password = "Quartz#6249river"  # prod'
    expected = [
        # CredSweeper gives the line stripped and the value's offsets in that line.
        {"rule": "Password", "line_data_list": [{"line": line.strip(), "line_num": 2, "path": "./tests/samples/config.py",
                                                 "value": "Quartz#6249river", "value_start": 15, "value_end": 31}]},
        {"rule": "UUID", "line_data_list": [{"line": 'id = "3f0c2a9e-1b7d-4c55-9e21-7a1d2b3c4d5e"', "line_num": 3,
                                             "path": "./tests/samples/config.py",
                                             "value": "3f0c2a9e-1b7d-4c55-9e21-7a1d2b3c4d5e", "value_start": 6,
                                             "value_end": 42}]},
        {"rule": "PEM Private Key", "line_data_list": [
            {"line": "-----BEGIN PRIVATE KEY-----", "line_num": 1, "path": "./tests/samples/key.pem",
             "value": "-----BEGIN PRIVATE KEY-----", "value_start": 0, "value_end": 27},
            {"line": "MIIBVAIBADAN", "line_num": 2, "path": "./tests/samples/key.pem", "value": "MIIBVAIBADAN",
             "value_start": 0, "value_end": 12}]},
        {"rule": "Token", "line_data_list": [{"line": "decoded", "line_num": 1, "path": "./tests/samples/config.py",
                                              "value": "not-in-the-file", "value_start": 0, "value_end": 15}]},
        {"rule": "Key", "line_data_list": [{"line": "x", "line_num": 1, "path": "./tests/samples/blob.bin",
                                            "value": "x", "value_start": 0, "value_end": 1}]},
    ]
    (repo / "tests" / "data" / "output.json").write_text(json.dumps(expected), encoding="utf-8")
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "samples")
    return repo


def test_samples_are_read_from_git_with_every_expected_value_placed_in_its_file(tmp_path):
    repo = _credsweeper_clone(tmp_path)
    samples, left_out = credsweeper_samples.extract(str(repo / ".git"))
    by_name = {s.name: s for s in samples}
    assert sorted(by_name) == ["config.py", "key.pem", "look_alikes_n"]
    assert [s.name for s in samples if s.negative] == ["look_alikes_n"]
    config = by_name["config.py"]
    (password, uuid) = config.expected
    assert (password.rule, password.scored, password.lines) == ("Password", True, [2])
    s, e = password.spans[0]
    assert config.text[s:e] == "Quartz#6249river"
    assert uuid.rule == "UUID" and not uuid.scored  # credsweeper_rules.yaml: not a secret
    key = by_name["key.pem"].expected[0]
    assert [by_name["key.pem"].text[s:e] for s, e in key.spans] == ["-----BEGIN PRIVATE KEY-----", "MIIBVAIBADAN"]
    assert left_out == {"binary or not UTF-8 sample files": 1, "expected values in such files": 1,
                        "expected values not found on their line": 1}


def test_the_stored_samples_say_where_they_come_from_and_point_at_their_values():
    meta = json.loads(credsweeper_samples.DATA.read_text(encoding="utf-8"))
    assert meta["source"] == "https://github.com/Samsung/CredSweeper" and len(meta["commit"]) == 40
    notice = (credsweeper_samples.DATA.parent / "credsweeper_samples.NOTICE").read_text()
    assert "Copyright (c) 2021 SAMSUNG" in notice and "Permission is hereby granted" in notice
    samples = credsweeper_samples.load()
    expected = [e for s in samples for e in s.expected]
    assert len(samples) > 150 and sum(s.negative for s in samples) >= 5 and sum(e.scored for e in expected) > 500
    for sample in samples:
        for exp in sample.expected:
            for s, e in exp.spans:
                assert 0 <= s < e <= len(sample.text) and sample.text[s:e].strip(), (sample.name, exp)


SAMPLE = credsweeper_samples.Sample("cfg", 'a = "Zx7R4mT1yW9e"\nb = "3f0c2a9e"\nc = "Rv8#kL2pQx"\nd = 1\n', False, [
    credsweeper_samples.Expected("cfg", "Token", [1], [[5, 17]], True),
    credsweeper_samples.Expected("cfg", "UUID", [2], [[24, 32]], False),
    credsweeper_samples.Expected("cfg", "Password", [3], [[39, 49]], True),
])


def test_sample_scoring_counts_found_withheld_missed_and_sets_findings_elsewhere_apart():
    hits = [Hit("GENERIC_SECRET", 5, 17), Hit("AUTH_TOKEN", 6, 12),  # one value, two findings: found once
            Hit("GENERIC_SECRET", 24, 32),                          # on an unscored value: neither
            Hit("PASSWORD", 39, 49, known_example=True),             # withheld by design
            Hit("PASSWORD", 51, 57)]                                # overlaps nothing expected
    outcomes = score_sample(SAMPLE, hits)
    assert sorted((o.entity, o.kind) for o in outcomes) == [
        ("PASSWORD", "unlabelled"), ("Password", "known_example"), ("Token", "found")]
    negative = credsweeper_samples.Sample("x_n", SAMPLE.text, True, [])
    assert [o.kind for o in score_sample(negative, hits)] == ["false"] * 4  # the withheld one is not reported
    assert sorted(o.kind for o in score_sample(SAMPLE, [])) == ["missed", "missed"]


def test_the_secrets_evaluation_script_scores_vigil_on_the_stored_samples(tmp_path):
    meta = json.loads(credsweeper_samples.DATA.read_text(encoding="utf-8"))
    picked = [s for s in meta["samples"] if s["name"] in ("doc_passwd_pair", "pem_key", "openai", "false_positive")]
    data = tmp_path / "samples.json"
    data.write_text(json.dumps({**meta, "samples": picked}), encoding="utf-8")
    out = tmp_path / "secrets.md"
    subprocess.run([sys.executable, str(ROOT / "bench" / "thirdparty_secrets_eval.py"), "--tools", "vigil",
                    "--data", str(data), "--out", str(out)], check=True, capture_output=True, timeout=300)
    text = out.read_text(encoding="utf-8")
    assert f"at {meta['commit'][:12]}" in text
    row = next(line for line in text.splitlines() if line.startswith("| **all** |"))
    expected = sum(e["scored"] for s in picked for e in s["expected"])
    found, withheld, missed = (int(x) for x in row.split("|")[3].split("/"))
    assert found + withheld + missed == expected and found > 0
