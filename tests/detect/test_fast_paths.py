"""The engine's fast paths compute exactly what the plain versions they replace compute."""

import random
import re

import pytest

from vigil.detect.structure import _SQL_COLUMN_DEF, MAX_ROW_CHARS, Structure, _delimiter, split_camel
from vigil.detect.validators import has_long_run, is_placeholder

_RUN_REGEX = re.compile(r"(\S)\1{19}")


def test_long_run_equals_the_backreference_regex_on_random_text() -> None:
    rng = random.Random(5)
    alphabet = "AAAAAb \n\tx=é漢?"
    for _ in range(20_000):
        value = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 80)))
        if rng.random() < 0.3:
            i = rng.randint(0, len(value))
            value = value[:i] + rng.choice("Aé漢 ?\t") * rng.randint(18, 22) + value[i:]
        assert has_long_run(value) == (_RUN_REGEX.search(value) is not None), repr(value)


@pytest.mark.parametrize(("value", "expected"), [
    ("MIIEvQ" + "A" * 20 + "B", True),
    ("MIIEvQ" + "A" * 19 + "B", False),
    ("x" + " " * 40 + "y", False),         # blanks are indentation, not filler
    ("é" * 20, True),                       # non-Latin-1 characters are compared as characters
    ("é漢" * 15, False),                     # both encode to "?" but differ
])
def test_long_run_cases(value: str, expected: bool) -> None:
    assert has_long_run(value) is expected


def test_a_key_body_of_filler_is_a_placeholder_and_a_random_one_is_not() -> None:
    body = "MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQC7" * 20
    assert is_placeholder("-----BEGIN PRIVATE KEY-----\n" + body[:500] + "A" * 24 + body[500:])
    assert not is_placeholder("-----BEGIN PRIVATE KEY-----\n" + body)


def _keep_last_by_list(value: str, pattern: "re.Pattern[str]", keep: int) -> str:
    positions = [m.start() for m in pattern.finditer(value)]
    if len(positions) <= keep:
        return value
    cut = positions[-keep] if keep else len(value)
    return pattern.sub("*", value[:cut]) + value[cut:]


def test_masks_keep_the_same_characters_as_the_list_of_every_position() -> None:
    from vigil.detect import masking

    rng = random.Random(3)
    for _ in range(5_000):
        value = "".join(rng.choice("ab1 2_-é٣x") for _ in range(rng.randint(0, 30)))
        for pattern in (masking._DIGIT, masking._ALNUM_ANY):
            for keep in range(5):
                assert masking._keep_last(value, pattern, keep) == _keep_last_by_list(value, pattern, keep)


def test_rules_that_share_a_context_word_share_a_database() -> None:
    from vigil.detect.backends import _rule_groups

    # rules 1 and 2 share word 0, rule 2 and 3 share word 1, rule 4 stands alone, word 3 has
    # only a cell rule (not in ``loose``)
    groups, group_of, word_group = _rule_groups([1, 2, 3, 4], [[1, 2], [2, 3], [4], []])
    assert sorted(map(sorted, groups)) == [[1, 2, 3], [4]]
    assert group_of[1] == group_of[2] == group_of[3] != group_of[4]
    assert word_group == [group_of[1], group_of[1], group_of[4], -1]


def test_each_group_database_holds_only_its_own_rules() -> None:
    from vigil.detect.backends import HyperscanBackend
    from vigil.detect.rules import load_builtin_rules

    rules = load_builtin_rules()
    backend = HyperscanBackend(rules)
    plan = backend.plan
    assert len(backend.gated_dbs) == len(plan.groups) > 1
    phone = {i for i, r in enumerate(rules) if r.id.startswith("phone-number-national")}
    basic = next(i for i, r in enumerate(rules) if r.id == "basic-auth-credentials")
    assert len({plan.group_of[i] for i in phone}) == 1
    assert plan.group_of[basic] not in {plan.group_of[i] for i in phone}


@pytest.mark.parametrize("rule_id", ["secret-assignment", "azure-storage-key-assignment", "password-assignment",
                                     "http-cookie-header"])
def test_led_search_finds_what_finditer_finds(rule_id: str) -> None:
    from vigil.detect.backends import _led_matches
    from vigil.detect.rules import load_builtin_rules

    rule = next(r for r in load_builtin_rules() if r.id == rule_id)
    assert rule.lead_regex is not None
    rng = random.Random(rule_id)
    pieces = ["x", "_", ".", "-", " ", "\n", "=", ": ", "\"", "'", "\\\"", "Key", "key", "SECRET", "secret_",
              "api_key", "client_secret", "azure", "Storage", "account", "accountKey", "blob", "password",
              "pass", "pw", "DB_PASSWORD", "${", "Zx7R4mT1yW9eL3cB6aH0sD5fG2kN8pQ4", "q8Yt3LmZ0a",
              "A" * 43, "b/c+" * 22, "==", "7ab", "Cookie", "set-", "SET-COOKIE", "--cookie", "-b", "-b ", "=",
              "; ", "sid=q8Yt3LmZ", "\\", *rule.examples.get("positive", [])]
    for _ in range(300):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 60)))
        for _ in range(5):
            lo = rng.randint(0, len(text))
            hi = rng.randint(lo, len(text))
            expected = [m.span() for m in rule.regex.finditer(text, lo, hi)]
            assert [m.span() for m in _led_matches(rule.regex, rule.lead_regex, rule.lead_reach, text, lo, hi)] \
                == expected, (text, lo, hi)


def test_a_lead_that_misses_an_example_is_refused() -> None:
    from vigil.detect.rules import Rule, RuleError

    with pytest.raises(RuleError, match="lead does not start within lead_reach"):
        Rule.from_dict({"id": "t", "infotype": "T", "pattern": "[a-z_]{0,30}?token=(?P<value>[0-9]{4})",
                        "lead": "token", "lead_reach": 3,
                        "examples": {"positive": ["my_long_name_token=1234"]}})


def test_a_line_shape_is_the_delimiter_and_cell_count_of_its_parsed_row() -> None:
    from vigil.detect.structure import MAX_ROW_CHARS, Structure

    rng = random.Random(17)
    pieces = [",", ";", "\t", "|", '"', "a", "b c", " ", "+--", "--", "-+-", "=", "\r", "(x, y)", "é",
              "x" * (MAX_ROW_CHARS - 3)]
    for _ in range(2_000):
        lines = ["".join(rng.choice(pieces) for _ in range(rng.randint(0, 8))) for _ in range(rng.randint(1, 6))]
        text = "\n".join(lines)
        starts = [0] + [i + 1 for i, ch in enumerate(text) if ch == "\n"]
        shaped, parsed = Structure(text), Structure(text)
        for start in reversed(starts):  # shapes first, so they are not read from parsed rows
            row = parsed._row(start)
            assert shaped._shape(start) == (None if row is None else (row.delim, len(row.cells))), repr(text)


def test_a_tables_end_is_where_its_parsed_rows_stop_having_the_headers_shape() -> None:
    """``_block_end`` compares line shapes; the plain version parsed every row below the header."""
    from vigil.detect.structure import _parse_row

    rng = random.Random(29)
    cells = ["a", "b c", '"x, y"', "", "1", "é", '"q"']
    for _ in range(1_500):
        delim = rng.choice([",", ";", "\t", "|"])
        width = rng.randint(3, 5)
        lines = [delim.join(f"col{i}" for i in range(width))]
        for _ in range(rng.randint(1, 12)):
            n = width if rng.random() < 0.85 else rng.randint(1, 6)
            line = delim.join(rng.choice(cells) for _ in range(n))
            lines.append(line + ("\r" if rng.random() < 0.2 else "") if rng.random() < 0.95 else "")
        text = "\n".join(lines) + rng.choice(["", "\n", "\nprose after"])
        header = _parse_row(lines[0], 0)
        expected, start = None, len(lines[0]) + 1
        for line in lines[1:]:
            row = _parse_row(line[:-1] if line.endswith("\r") else line, start) if line else None
            if row is None or row.delim != header.delim or len(row.cells) != len(header.cells):
                break
            expected, start = row.end, start + len(line) + 1
        span = Structure(text).table_below_header(0)
        assert (span[1] if span else None) == (expected if span else None), repr(text)
        if expected is not None and Structure(text)._is_header(header):
            assert span is not None, repr(text)


@pytest.mark.parametrize("rule_id", ["secret-assignment", "password-assignment", "http-cookie-header"])
def test_confirming_with_a_lead_keeps_what_confirming_without_one_keeps(rule_id: str) -> None:
    from vigil.detect.backends import _confirm, _reach
    from vigil.detect.rules import load_builtin_rules

    rule = next(r for r in load_builtin_rules() if r.id == rule_id)
    lead = (rule.lead_regex, rule.lead_reach, rule.lead_width)
    assert rule.lead_regex is not None and rule.lead_width is not None
    before, after = _reach(rule)
    rng = random.Random(rule_id + "/confirm")
    pieces = ["x", " ", "\n", "=", ": ", "\"", "'", "Cookie", "set-", "-b ", "--cookie ", "; ", "sid=q8Yt3LmZ0aPw7RkN",
              "password", "pw", "db_pass", "client_secret", "Zx7R4mT1yW9eL3cB6aH0sD5fG2kN8pQ4", "é",
              *rule.examples.get("positive", [])]
    for _ in range(300):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 80)))
        positions = sorted(rng.sample(range(len(text) + 1), min(len(text) + 1, rng.randint(1, 4))))
        plain = [m.span() for m in _confirm(rule.regex, before, after, positions, text, len(text))]
        led = [m.span() for m in _confirm(rule.regex, before, after, positions, text, len(text), lead)]
        assert led == plain, (text, positions)


def _row_above_plain(text: str, start: int, end: int) -> bool:
    """``Structure._row_above`` as first written: the line's delimiter, then the line above."""
    if end - start > MAX_ROW_CHARS:
        return False
    delim = _delimiter(text[start:end])
    if delim is None:
        return False
    prev = text.rfind("\n", 0, start - 1) + 1
    return text.find(delim, prev, start - 1) >= 0 or (delim == "|" and text.find("+", prev, start - 1) >= 0)


def test_row_above_and_sql_column_test_equal_their_plain_versions_on_random_lines() -> None:
    # _row_above looks at the line above first; the column-definition regex is possessive.
    plain_sql = re.compile(_SQL_COLUMN_DEF.pattern.replace(r"[ \t]*+", r"[ \t]*", 1)
                           .replace("{1,64}+", "{1,64}", 1).replace(r"[ \t]++", r"[ \t]+", 1))
    assert plain_sql.pattern != _SQL_COLUMN_DEF.pattern
    rng = random.Random(9)
    pieces = ["a", "Z", "_", "$", "9", " ", "\t", ",", "|", ";", "+", "`", '"', "[", "]", "\n", "\r\n",
              "\n\n", " int", " varchar", "email", "x" * 63, "é"]
    for _ in range(5_000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 30)))
        structure = Structure(text)
        start = 0
        while start < len(text):
            end = text.find("\n", start)
            end = len(text) if end < 0 else end
            if start > 0:
                assert structure._row_above(start, end) == _row_above_plain(text, start, end), repr(text)
            for pos in range(start, end + 1):
                assert ((_SQL_COLUMN_DEF.match(text, start, pos) is None)
                        == (plain_sql.match(text, start, pos) is None)), repr(text)
            start = end + 1


def test_joined_escape_windows_report_what_each_window_scanned_alone_reports(hs_engine) -> None:
    """``_scan_word_windows`` scans every window after an escape in one Hyperscan call; on
    texts full of escapes, with context words cut by a window's end or glued to the next escape,
    it reports the same word events as one scan per window of the blanked text (the way it was
    done before)."""
    from vigil.detect.backends import _ESCAPE_THEN_LETTER, FAMILY_BASE, HOTWORD_BASE, _scan_word_windows

    backend = hs_engine.backend
    db, reach = backend.db, backend._escaped_word_reach
    rng = random.Random(23)
    words = ["ssn", "passport", "passportNumber", "routing number", "tel", "telefone", "dob",
             "social_security_number", "cardNumber", "iban", "password", "tax id", "Phone"]
    pieces = [r"\n", r"\t", r"\r", " ", "x", "Q", "q", ": ", "-", "_", "7", '\\"']

    def alone(blanked: bytes, windows: list[tuple[int, int]]) -> list[int]:
        out: list[int] = []
        for lo, hi in windows:
            def on_match(event_id, _from, to, _flags, _ctx, lo=lo):  # noqa: ANN001, ANN202
                if HOTWORD_BASE <= event_id < FAMILY_BASE:  # words, not rule families
                    out.append(event_id << 32 | (to + lo))
            db.scan(blanked[lo:min(hi, len(blanked))], match_event_handler=on_match)
        return sorted(set(out))

    # a longer word cut by its window's end right after a shorter word it starts with, then
    # another window: the join must not give the shorter word its right boundary
    cut = [r"\n" + " " * (reach - 2 - len(short)) + longer + r"\nssn 1 \tx"
           for longer, short in [("telefone", "tel"), ("passportNumber", "passport"), ("dobs", "dob")]]
    cut.append(r"a\tssn")  # a word at the very end, with no character after it to end it
    compared = 0
    for k in range(600 + len(cut)):
        parts = [cut[k - 600]] if k >= 600 else []
        for _ in range(rng.randint(1, 12) if k < 600 else 0):
            parts.append(rng.choice(pieces))
            if rng.random() < 0.6:
                word = rng.choice(words)
                parts.append(word[:rng.randint(1, len(word))] if rng.random() < 0.3 else word)
            parts.append(" " * rng.randint(0, reach + 3) if rng.random() < 0.3 else "")
        data = ("".join(parts) + ("\n" if k < 600 else "")).encode()
        starts = [m.start() for m in _ESCAPE_THEN_LETTER.finditer(data)]
        if not starts:
            continue
        blanked = _ESCAPE_THEN_LETTER.sub(b"\0\0", data)
        windows = [(p, p + reach) for p in starts]
        joined: list[int] = []
        _scan_word_windows(db, data, starts, reach, joined)
        expected = alone(blanked, windows)
        assert sorted(set(joined)) == expected, data
        compared += bool(expected) and len(starts) > 1
    assert compared > 120  # texts with several windows and words in them


def test_no_context_word_in_the_main_database_starts_with_a_character_class(hs_engine) -> None:
    """A one-character class before a word (``[a-z]SSN``) made the whole main pass 12-15% slower;
    such spellings are in the database without it, and their events are checked for it."""
    from vigil.detect.backends import FAMILY_BASE, HOTWORD_BASE, LOWER_BEFORE_BASE

    backend = hs_engine.backend
    expressions, ids, _ = backend._expressions()
    words = [e for e, i in zip(expressions, ids) if HOTWORD_BASE <= i < FAMILY_BASE or i >= LOWER_BEFORE_BASE]
    assert len(words) > 500
    assert not [e for e in words if e.startswith(b"[")]
    assert len(backend.lower_before) > 100  # ``customerSSN``, ``userPassword``: checked after the scan


def _word_spellings(rng: random.Random, words: list[str]) -> str:
    """Text of context words in every case, glued to letters of either case, digits and
    punctuation on both sides, in plural and run together."""
    glue = ["", "", " ", "x", "X", "q", "Q", "user", "USER", "User", "7", "_", "-", ":", "\\n", ".", "Id", "ID", "s"]
    out = []
    for _ in range(rng.randint(1, 30)):
        word = rng.choice(words)
        shape = rng.randrange(5)
        if shape == 0:
            word = word.upper()
        elif shape == 1:
            word = word.title().replace(" ", "")
        elif shape == 2:
            word = word[:1] + word.title().replace(" ", "")[1:]
        elif shape == 3:
            word = word.replace(" ", rng.choice(["", "_", " "]))
        out.append(rng.choice(glue) + word + rng.choice(["", "s", "es", "S", "ES"]) * (rng.random() < 0.2)
                   + rng.choice(glue))
    return "".join(out)


def test_word_events_checked_for_a_lower_case_letter_before_equal_the_exact_expressions(hs_engine) -> None:
    """The main database reports the spellings that need a lower-case letter before them
    (``customerSSN``) without that letter, and ``_lower_before_events`` checks it: the word
    events then equal those of a database holding every spelling whole, on random texts of
    context words glued to letters of either case, digits and punctuation."""
    import hyperscan

    from vigil.detect.backends import (FAMILY_BASE, HOTWORD_BASE, LOWER_BEFORE_BASE, UNICODE_BOUNDARY,
                                       _hs_word_forms)

    backend = hs_engine.backend
    plan = backend.plan
    exact, exact_ids, exact_flags = [], [], []
    for w, forms in enumerate(plan.forms):
        for left, core, right, caseless in _hs_word_forms(forms):
            if left != UNICODE_BOUNDARY:
                exact.append(f"{left}{core}{right}".encode())
                exact_ids.append(HOTWORD_BASE + w)
                exact_flags.append(hyperscan.HS_FLAG_CASELESS if caseless else 0)
    reference = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
    reference.compile(expressions=exact, ids=exact_ids, flags=exact_flags)
    # each word as text (``accessKey(?:e?s)?``: "access key"), from its camelCase spelling
    words = sorted({split_camel(forms[1].core.replace("(?:e?s)?", "")).lower()
                    for forms in plan.forms if len(forms) > 1})
    assert len(words) > 150 and all(re.fullmatch(r"[a-z ]+", w) for w in words)
    rng = random.Random(31)
    texts = ["customerSSN=1 XSSN ASsn 1Ssn userPasswords mrnMRN patientMRNs DOBs aDOB", "aSSN", "SSN"]
    texts += [_word_spellings(rng, words) for _ in range(1500)]
    checked = 0
    for text in texts:
        data = text.encode() + b"\n"
        got: list[int] = []
        backend.db.scan(data, lambda i, _f, to, _fl, _c: got.append(i << 32 | to))
        got.sort()
        if got and got[-1] >= LOWER_BEFORE_BASE << 32:
            checked += 1
            backend._lower_before_events(data, got)
        want: list[int] = []
        reference.scan(data, lambda i, _f, to, _fl, _c: want.append(i << 32 | to))
        assert sorted({e for e in got if HOTWORD_BASE << 32 <= e < FAMILY_BASE << 32}) == sorted(set(want)), text
    assert checked > 1000


def test_the_context_digit_run_regex_masks_what_a_plain_repeat_masks() -> None:
    """``engine._DIGIT_RUN`` is written ``\\d\\d{5,}`` so that ``re`` can skip to digits; it masks
    exactly the runs ``\\d{6,}`` masks (Unicode digits included)."""
    from vigil.detect.engine import _DIGIT_RUN, _stars

    plain = re.compile(r"\d{6,}")
    rng = random.Random(5)
    for _ in range(3000):
        text = "".join(rng.choice("0123456789 x-٣") for _ in range(rng.randint(0, 40)))
        assert _DIGIT_RUN.sub(_stars, text) == plain.sub(_stars, text), text


def test_rule_families_hold_every_direct_rule_once(hs_engine) -> None:
    """Each direct rule is in exactly one family; families respect their size and byte bounds
    and one case mode."""
    from vigil.detect.backends import FAMILY_BYTES, FAMILY_SIZE

    backend = hs_engine.backend
    members = [idx for family in backend.families for idx in family]
    assert sorted(members) == sorted(backend.plan.direct) and len(set(members)) == len(members)
    assert len(backend.families) == len(backend.family_dbs) > 5
    for family in backend.families:
        assert len(family) <= FAMILY_SIZE
        assert len(family) == 1 or sum(len(backend.rules[i].hs_pattern) for i in family) <= FAMILY_BYTES
        assert len({backend.rules[i].ignore_case for i in family}) == 1


def test_family_events_give_the_findings_of_whole_text_regexes_on_long_mixed_texts(hs_engine, py_engine) -> None:
    """A family event says only that one of its rules may end there; the family's own database
    must find which, including several members close together, a match at the very end of the
    text and matches of one family in two windows far apart. The Python backend (whole-text
    regexes) is the reference."""
    rng = random.Random(29)
    direct = {hs_engine.rules[i].id for i in hs_engine.backend.plan.direct}
    examples = [text for rule in hs_engine.rules if rule.id in direct for text in rule.examples["positive"]]
    fillers = ["\n", " ", "; ", "\n\n" + "lorem ipsum dolor " * 20 + "\n", ", ", "\t"]
    for _ in range(12):
        picked = rng.sample(examples, 40)
        text = "".join(example + rng.choice(fillers) for example in picked[:-1]) + picked[-1]
        got = [(f.detector, f.start, f.end, f.likelihood) for f in hs_engine.scan(text)]
        assert got == [(f.detector, f.start, f.end, f.likelihood) for f in py_engine.scan(text)]
        assert len(got) >= 30


def test_families_of_one_are_their_rules(monkeypatch, tmp_path, py_engine) -> None:
    """With families of one rule each, every rule keeps its own id in the main database (no
    window scans) and the findings are still the whole-text regexes'."""
    from vigil.detect import Engine, backends

    monkeypatch.setattr(backends, "FAMILY_SIZE", 1)
    engine = Engine.load(bytes(range(32)), backend="hyperscan", cache_dir=tmp_path)
    assert all(len(family) == 1 for family in engine.backend.families)
    _, ids, _ = engine.backend._expressions()
    assert not any(backends.FAMILY_BASE <= i < backends.LOWER_BEFORE_BASE for i in ids)
    rng = random.Random(7)
    examples = [text for rule in engine.rules for text in rule.examples["positive"]]
    text = "\n".join(rng.sample(examples, 60))
    assert [(f.detector, f.start, f.end) for f in engine.scan(text)] == \
        [(f.detector, f.start, f.end) for f in py_engine.scan(text)]


@pytest.mark.parametrize(("pattern", "expected"), [
    (r"(?<![A-Za-z0-9_-])gsk_[A-Za-z0-9]{48}(?![A-Za-z0-9_-])", 4),
    (r"(?<![A-Za-z0-9_])cf(?:ut|at|k)_[A-Za-z0-9]{44}", 4),          # shortest branch counted
    (r"(?<![A-Za-z0-9_])vc[pikar]_[A-Za-z0-9_-]{50,64}", 4),          # a small class is one character
    (r"(?:sandbox-)?sq0atp-[A-Za-z0-9_-]{22}", 7),                   # an optional prefix is passed over
    (r"(?<![A-Za-z0-9%+/_-])A{20,26}[A-Za-z0-9%]{80}", 20),
    (r"(?<![A-Za-z0-9_])password\s{0,3}=", 8),
    (r"(?<!\d)\d{3}-\d{2}-\d{4}(?!\d)", 0),                          # a digit class is no selective start
    (r"[a-f0-9]{32}-us[0-9]{1,2}", 0),
])
def test_literal_prefix_counts_the_selective_start_of_a_pattern(pattern, expected) -> None:
    from vigil.detect.backends import _literal_prefix

    assert _literal_prefix(pattern) == expected


def test_only_rules_with_a_selective_start_share_a_family(hs_engine) -> None:
    """A family event costs a window scan: rules that fire on common text (password keywords,
    digit runs) stay alone, prefixed tokens share families."""
    from vigil.detect.backends import FAMILY_PREFIX, _literal_prefix

    backend = hs_engine.backend
    by_id = {backend.rules[f[0]].id: f for f in backend.families}
    for rule_id in ("password-assignment", "credit-card-number", "email-address", "ipv4-address"):
        assert len(by_id[rule_id]) == 1
    shared = [i for f in backend.families if len(f) > 1 for i in f]
    assert len(shared) > 60
    assert all(_literal_prefix(backend.rules[i].pattern) >= FAMILY_PREFIX for i in shared)


@pytest.mark.parametrize(("pattern", "expected"), [
    ("(?:비밀번호|パスワード|пароль)[ \\t]{0,2}:(?P<value>\\S{6,64})", True),
    ("密码: (?P<value>\\S{6,64})", True),
    ("(?:비밀번호|password): (?P<value>\\S{6,64})", False),   # one branch is ASCII
    ("(?<![A-Za-z])password: (?P<value>\\S{6,64})", False),
])
def test_rules_that_need_a_non_ascii_letter_are_told_apart(pattern, expected) -> None:
    from vigil.detect.backends import _needs_non_ascii

    assert _needs_non_ascii(pattern) is expected


def test_non_ascii_keyword_rules_run_outside_the_database_on_non_ascii_text_only(hs_engine, py_engine) -> None:
    """Hyperscan sees non-ASCII letters as "?": such a rule is not in its database, and its regex
    runs only over text that is not pure ASCII, with the Python backend's results."""
    backend = hs_engine.backend
    ids = {backend.rules[i].id for i in backend.plan.non_ascii}
    assert "password-non-latin-keyword" in ids
    assert not ids & {backend.rules[i].id for f in backend.families for i in f}
    for text in ("계정:ops 비밀번호:Tq7#mVx2Lp, 재설정 필요", "パスワード：Rt5$vN8qZx\nthanks", "password: Tq7#mVx2Lp"):
        assert [(f.detector, f.start, f.end) for f in hs_engine.scan(text)] == \
            [(f.detector, f.start, f.end) for f in py_engine.scan(text)]
    assert [f.detector for f in hs_engine.scan("계정:ops 비밀번호:Tq7#mVx2Lp")] == ["password-non-latin-keyword"]


@pytest.mark.parametrize(("pattern", "expected"), [
    ("(?:비밀번호|パスワード)[ \\t]{0,2}:", ["비밀번호", "パスワード"]),
    ("密码: (?P<value>\\S{6,64})", ["密码: "]),
    ("(?i:пароль|password):", []),                        # case-insensitive: no plain substring
    ("(?:비밀번호|\\w+):", []),                             # a branch with no literal start
])
def test_leading_literals_are_what_every_match_starts_with(pattern, expected) -> None:
    from vigil.detect.backends import _leading_literals

    assert _leading_literals(pattern) == expected


@pytest.mark.parametrize(("pattern", "text", "value"), [
    ("ACME-[0-9]{4}-番号", "see ACME-1234-番号 here", "ACME-1234-番号"),        # non-ASCII after the start
    ("ACME-[0-9]{4}(?:-番号)?", "see ACME-1234 here", "ACME-1234"),            # optional: ASCII text too
    ("プロジェクト-[0-9]{6}", "コード: プロジェクト-123456", "プロジェクト-123456"),
])
def test_custom_detectors_with_non_ascii_characters_match_on_both_backends(tmp_path, pattern, text, value) -> None:
    """Hyperscan sees non-ASCII characters as "?": a custom detector whose pattern holds one used
    to match nothing on the Hyperscan backend when that character was not its first (found
    2026-12-06); such rules run their regex outside the database."""
    from vigil.detect import Engine

    config = {"detectors": [{"id": "acme-code", "infotype": "ACME_CODE", "pattern": pattern}]}
    for backend in ("hyperscan", "python"):
        engine = Engine.load(bytes(range(32)), custom_rules=config, backend=backend, cache_dir=tmp_path)
        assert [text[f.start:f.end] for f in engine.scan(text) if f.detector == "acme-code"] == [value], backend


@pytest.mark.parametrize("text, found", [
    ("employee EMP-1234-番号 here", True),
    ("EMP-1234-番号 here", False),                    # no context word: not reported
    ("name,employee\nana,EMP-1234-番号\n", True),     # the column header speaks for the cell
])
def test_context_required_custom_detectors_with_non_ascii_characters(tmp_path, text, found) -> None:
    """The same blind spot in the context-required path: such a rule's regex runs over the whole
    text near its words and in its table regions, as the Python backend runs it."""
    from vigil.detect import Engine

    config = {"detectors": [{"id": "acme-emp", "infotype": "ACME_EMP", "pattern": "EMP-[0-9]{4}-番号",
                             "hotwords": ["employee"], "missing_hotword": -3}]}
    for backend in ("hyperscan", "python"):
        engine = Engine.load(bytes(range(32)), custom_rules=config, backend=backend, cache_dir=tmp_path)
        values = [text[f.start:f.end] for f in engine.scan(text) if f.detector == "acme-emp"]
        assert values == (["EMP-1234-番号"] if found else []), backend
