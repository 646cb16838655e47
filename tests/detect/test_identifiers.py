"""Structured identifiers in the forms people write them (issue 9): national phone numbers without a
country code (plain digits, parenthesised area codes, slashes, dots, signatures), Indian PANs of
every holder type, EINs as nine digits, DNI/SIN/SWIFT keywords in the local language, context
words that belong to another field, and the card brand table read from ``card_brands.yaml``."""

from __future__ import annotations

import pytest
from stdnum import luhn

from vigil.detect.known import load_known_examples
from vigil.detect.validators import (CARD_BRANDS_FILE, card_brand, card_brands, in_pan, phone_national,
                                     payment_card)


def found(engine, text: str) -> list[tuple[str, str]]:
    return [(f.infotype, text[f.start:f.end]) for f in engine.scan(text)]


def key(findings) -> list[tuple]:
    return [(f.detector, f.start, f.end, f.likelihood, f.masked, f.fingerprint, f.context) for f in findings]


# -- phone numbers in national form ---------------------------------------------------------------

NATIONAL_PHONES = [
    ("Mobile: 612345678", "612345678"),                                   # Spain, plain digits
    ("mobile: 2124567890", "2124567890"),                                 # NANP, plain digits
    ('{"id": 7, "tel": "5064827743", "city": "Moncton"}', "5064827743"),  # JSON key
    ("id,Phone,joined\n822,090-9402-9345,06-Feb-2023\n", "090-9402-9345"),  # next cell starts with digits
    ("phone: (06 1) 234 5625", "(06 1) 234 5625"),                        # Budapest area code
    ("Telefon: 0316/123456", "0316/123456"),                              # Graz, slash
    ("Teléfono: 612.34.56.67", "612.34.56.67"),                           # dotted, no IPv4 address
    ("tel. 08.12.34.93", "08.12.34.93"),                                  # Stockholm, dotted
    ("Mobile: 212 345 647", "212 345 647"),                               # Prague
    ("please call 02 51 23 45 00 tomorrow.", "02 51 23 45 00"),            # Nantes
    ("const phone_number: string = '0171 8234569';", "0171 8234569"),     # typed declaration
]


@pytest.mark.parametrize("text, value", NATIONAL_PHONES, ids=[v for _, v in NATIONAL_PHONES])
def test_national_phone_numbers_next_to_a_phone_word(hs_engine, py_engine, text, value):
    assert ("PHONE_NUMBER", value) in found(hs_engine, text)
    assert key(hs_engine.scan(text)) == key(py_engine.scan(text))


def test_parenthesised_area_code_needs_no_keyword(hs_engine):
    assert ("PHONE_NUMBER", "(415) 555-2671") in found(hs_engine, "got this from the vault: (415) 555-2671.")
    assert not found(hs_engine, "got this from the vault: 415-555-2671.")  # other NANP forms need a word


@pytest.mark.parametrize("closing", ["Regards,", "Best,", "Mit freundlichen Grüßen,", "Cordialement,", "Saludos,"])
def test_phone_alone_on_the_last_line_of_a_signature(hs_engine, py_engine, closing):
    text = f"Thanks for looking into it.\n\n{closing}\nMargaud Roger\nAntiquaire\n02 51 23 45 00\n"
    assert ("PHONE_NUMBER", "02 51 23 45 00") in found(hs_engine, text)
    assert key(hs_engine.scan(text)) == key(py_engine.scan(text))


@pytest.mark.parametrize("text", [
    "Regards,\nMargaud Roger\n\n02 51 23 45 00\n",              # a blank line: no longer the signature
    "Status,\nticket 4432\n0251234500\n",                       # no closing
    "Best,\nSam\nbuild 0251234500 is green\n",                  # not alone on its line
    "Regards,\nSam\n2024-03-12\n",                              # a date
])
def test_not_a_signature_phone(hs_engine, text):
    assert not [v for t, v in found(hs_engine, text) if t == "PHONE_NUMBER"]


@pytest.mark.parametrize("value", ["45 272.26", "1.234.567,89", "10.20.30.40", "03.09.2007", "1111111",
                                   "8414-551", "49300-096"])
def test_amounts_addresses_dates_and_postcodes_are_not_national_phone_numbers(value):
    assert phone_national(value, ("US",)) is False


# -- context words of another field ---------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "Emergency contact: Debbie Moore\nimei: 357123456789012\n",          # the key of the line above
    '{"sms_to": "+1 206 555 0100", "amount": "3550002"}',                 # an earlier key of the line
    "run_id: 2024612345678\nEmergency contact: Gina Wilson\n",           # the key of the line below
    "INSERT INTO t (id, ref) VALUES ('7', '2029266687');\nINSERT INTO contacts (id) VALUES ('8');",
])
def test_a_word_that_names_another_field_is_no_context(hs_engine, py_engine, text):
    assert not [v for t, v in found(hs_engine, text) if t == "PHONE_NUMBER"]
    assert key(hs_engine.scan(text)) == key(py_engine.scan(text))


def test_a_field_keeps_its_own_key_and_its_heading(hs_engine):
    assert ("PHONE_NUMBER", "030 1234567") in found(hs_engine, '{"sms_to": "030 1234567", "amount": "3550002"}')
    assert ("PHONE_NUMBER", "030 1234567") in found(hs_engine, "Phone:\n  home: 030 1234567\n")
    assert ("UK_NATIONAL_HEALTH_SERVICE_NUMBER", "943 476 5919") in found(
        hs_engine, "Emergency contact: Mohammed Hopkins\nnhs_no: 943 476 5919\n")


# -- national identifiers ---------------------------------------------------------------------------

def test_pan_of_every_holder_type(hs_engine):
    assert in_pan("FMOPW5148X") is True     # individual
    assert in_pan("AAWFL9160R") == -2       # firm: needs a PAN keyword
    assert in_pan("ABMXA3211G") is False    # X is no holder type
    assert ("INDIA_PAN_INDIVIDUAL", "FMOPW5148X") in found(hs_engine, "ref FMOPW5148X")
    assert ("INDIA_PAN_INDIVIDUAL", "AAWFL9160R") in found(hs_engine, "PAN of the firm: AAWFL9160R")
    assert ("INDIA_PAN_INDIVIDUAL", "KGKTG8577U") in found(hs_engine, "id\tpan_card\n3486\tKGKTG8577U\n")
    assert not found(hs_engine, "ref AAWFL9160R")


@pytest.mark.parametrize("text, value", [
    ("EIN: 47-1234563", "47-1234563"),
    ("FEIN 471234563", "471234563"),
    ("Employer ID:\t95-1234558", "95-1234558"),
    ("id,name,ein\n3426,Acme Corp,471234563\n", "471234563"),
])
def test_ein_dashed_and_as_nine_digits(hs_engine, text, value):
    assert ("US_EMPLOYER_IDENTIFICATION_NUMBER", value) in found(hs_engine, text)


def test_nine_digits_are_an_ein_only_right_after_the_keyword(hs_engine):
    assert not [t for t, _ in found(hs_engine, "EIN - 90-3797487\ncreated: 2021\npassport_no = 471234563")
                if t == "US_EMPLOYER_IDENTIFICATION_NUMBER" and _ == "471234563"]
    assert not found(hs_engine, "471234563")


@pytest.mark.parametrize("text, infotype, value", [
    ("Documento: 51361341H", "SPAIN_DNI_NUMBER", "51361341H"),
    ("Documento de identidad 51.361.341-H", "SPAIN_DNI_NUMBER", "51.361.341-H"),
    ("numéro d'assurance sociale : 182-633-040", "CANADA_SOCIAL_INSURANCE_NUMBER", "182-633-040"),
    ("my bank identifier code is DEUTDEFF500.", "SWIFT_CODE", "DEUTDEFF500"),
])
def test_local_language_keywords(hs_engine, py_engine, text, infotype, value):
    assert (infotype, value) in found(hs_engine, text)
    assert key(hs_engine.scan(text)) == key(py_engine.scan(text))


# -- context words in other scripts -------------------------------------------------------------

@pytest.mark.parametrize("text, infotype", [
    ("आधार संख्या: 8304 8137 3436", "INDIA_AADHAAR_INDIVIDUAL"),
    ("numéro d'assurance sociale 182 633 040", "CANADA_SOCIAL_INSURANCE_NUMBER"),
    ("téléphone : 06 12 34 56 78", "PHONE_NUMBER"),
    ("電話番号: 03-1234-5678", "PHONE_NUMBER"),          # no spaces around the word in Japanese
    ("전화번호 010-1234-5678", "PHONE_NUMBER"),
    ("телефон: 8 (495) 123-45-67", "PHONE_NUMBER"),
])
def test_non_ascii_context_words_in_both_backends(hs_engine, py_engine, text, infotype):
    assert infotype in {t for t, _ in found(hs_engine, text)}
    assert key(hs_engine.scan(text)) == key(py_engine.scan(text))


def test_a_non_ascii_word_needs_its_own_boundaries(hs_engine, py_engine):
    text = "आधारकार्ड 8304 8137 3436"  # glued to another word: not the keyword
    assert not found(hs_engine, text) and not found(py_engine, text)


# -- card brands from card_brands.yaml --------------------------------------------------------------

def test_card_brand_table_is_read_once_from_its_yaml_file():
    assert CARD_BRANDS_FILE.name == "card_brands.yaml" and CARD_BRANDS_FILE.exists()
    assert card_brands() is card_brands()
    brands = {row.brand for row in card_brands()}
    assert {"visa", "mastercard", "amex", "discover", "jcb", "diners", "unionpay", "maestro", "mir",
            "rupay", "verve"} <= brands


@pytest.mark.parametrize("prefix, length, brand", [
    ("4", 16, "visa"), ("2720", 16, "mastercard"), ("37", 15, "amex"), ("622126", 16, "discover"),
    ("6221", 16, "unionpay"), ("3589", 19, "jcb"), ("2131", 15, "jcb"), ("36", 14, "diners"),
    ("6759", 12, "maestro"), ("0604", 16, "maestro"), ("2204", 16, "mir"), ("508", 16, "rupay"),
    ("506099", 18, "verve"), ("4", 15, None), ("9999", 16, None),
])
def test_card_brand_ranges_lengths_and_precedence(prefix, length, brand):
    number = prefix + "0" * (length - len(prefix))
    assert card_brand(number) == brand


def test_every_published_test_card_has_a_brand():
    known = load_known_examples()
    cards = [v for group in _card_groups() for v in group]
    assert cards
    for number in cards:
        assert card_brand(number) is not None, number
        assert known.matches("CREDIT_CARD_NUMBER", number)


def _card_groups():
    import yaml

    from vigil.detect.known import KNOWN_EXAMPLES_FILE
    data = yaml.safe_load(KNOWN_EXAMPLES_FILE.read_text(encoding="utf-8"))
    return [g.get("values", []) for g in data["groups"] if "CREDIT_CARD_NUMBER" in g["infotypes"]]


@pytest.mark.parametrize("body, message", [
    ("brands: []\n", "non-empty 'brands'"),
    ("brands:\n  - {brand: x, ranges: ['51-5'], lengths: [16]}\n", "equal length"),
    ("brands:\n  - {brand: x, ranges: ['51'], lengths: ['sixteen']}\n", "not a number"),
    ("brands:\n  - {brand: x, ranges: ['51'], lengths: [25]}\n", "between 8 and 19"),
    ("brands:\n  - {brand: x, ranges: ['51']}\n", "exactly brand, ranges and lengths"),
])
def test_a_malformed_card_brand_file_is_rejected_with_the_row(tmp_path, body, message):
    path = tmp_path / "card_brands.yaml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        card_brands(path)


def test_payment_card_validator_uses_the_table():
    number = "6759" + "1819093786"
    number += str(luhn.calc_check_digit(number))
    assert card_brand(number) == "maestro" and payment_card(number) is not False
    assert payment_card("9999" + "0" * 11 + str(luhn.calc_check_digit("9999" + "0" * 11))) is False


def test_unescape_reads_every_escape_as_the_one_regex_does() -> None:
    """The plain-replacement path (single backslashes) gives what the regex gives."""
    import itertools
    import re

    from vigil.detect.validators import unescape

    def reference(value: str) -> str:
        return re.sub(r"\\+([nrt/])", lambda m: {"n": "\n", "r": "\r", "t": "\t"}.get(m.group(1), m.group(1)), value)

    pieces = ["\\", "\\\\", "n", "r", "t", "/", "a", "\n", "-----"]
    for length in range(1, 5):
        for parts in itertools.product(pieces, repeat=length):
            value = "".join(parts)
            assert unescape(value) == reference(value), value


def test_a_private_key_body_needs_varied_bytes_anywhere() -> None:
    """Seventeen byte values that appear only after the first 64 bytes still count."""
    import base64

    from vigil.detect.validators import pem_private_key

    def armour(raw: bytes) -> str:
        body = base64.b64encode(raw).decode()
        return "-----BEGIN PRIVATE KEY-----\n" + body + "\n-----END PRIVATE KEY-----"

    assert not pem_private_key(armour(bytes(200)))
    assert pem_private_key(armour(bytes(64) + bytes(range(17)) * 4))
    assert not pem_private_key(armour(bytes(64) + bytes(range(16)) * 4))
    assert pem_private_key(armour(bytes(range(256))).replace("\n", "\\n"))
    assert pem_private_key(armour(bytes(range(256))).replace("\n", "\\\\n"))


def test_a_long_value_holds_a_placeholder_part_as_substring_search_says() -> None:
    """The one-pass literal search of long values agrees with a substring search for every part,
    at the start, the end and inside a key body, and in values with non-ASCII text."""
    import random

    from vigil.detect.validators import _PLACEHOLDER_PARTS, _holds_placeholder_part

    rng = random.Random(7)
    body = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789+/") for _ in range(1600))
    values = [body, body + "é…ü", "ü" * 90]
    for part in _PLACEHOLDER_PARTS:
        values += [part + body, body + part, body[:800] + part + body[800:], "ü" * 50 + part + "ü" * 50]
    for value in values:
        assert _holds_placeholder_part(value) == any(part in value for part in _PLACEHOLDER_PARTS), value[:40]


def test_long_values_are_checked_from_many_threads_at_once() -> None:
    """Each thread has its own Hyperscan scratch space: concurrent checks give the same answers."""
    from concurrent.futures import ThreadPoolExecutor

    from vigil.detect.validators import _holds_placeholder_part

    values = [("k" * 40 + str(i)) * 20 + ("example" if i % 3 == 0 else "") for i in range(300)]
    expected = [v.endswith("example") for v in values]
    with ThreadPoolExecutor(max_workers=4) as pool:
        for _ in range(3):
            assert list(pool.map(_holds_placeholder_part, values)) == expected
