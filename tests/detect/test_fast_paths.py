"""The engine's fast paths compute exactly what the plain versions they replace compute."""

import random
import re

import pytest

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
