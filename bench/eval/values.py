"""Sensitive values for the evaluation corpus, one generator per Google Cloud DLP infoType.

Sources: Faker's locale providers (names, phone numbers, SSNs, IBANs, national IDs, e-mail
addresses), libphonenumber's example numbers (``phonenumbers.example_number_for_type``, with
their subscriber digits redrawn and the result checked with ``is_valid_number``), and
python-stdnum's check-digit and format functions for identifiers Faker does not make or makes
wrongly. Provider credentials follow the vendors' published token formats. Every value is
checked with the library that defines its standard before it is handed out, and none is a
well-known public example (``known_examples.yaml``): those are hard negatives.

This module is written independently of vigil and must not import it.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import ipaddress
import json
import random
import string
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable

import phonenumbers
import yaml
from faker import Faker
from stdnum import bic, iban, luhn
from stdnum.br import cpf
from stdnum.ca import sin
from stdnum.de import idnr
from stdnum.es import dni, nie
from stdnum.fr import nir
from stdnum.gb import nhs
from stdnum.in_ import aadhaar, pan
from stdnum.iso7064 import mod_11_10
from stdnum.it import codicefiscale
from stdnum.nl import bsn
from stdnum.pl import pesel
from stdnum.us import ein, itin, rtn, ssn

DATA = Path(__file__).resolve().parent / "data"


@dataclass(frozen=True)
class Locale:
    """A Faker locale with the phone region and the national identifiers people there carry."""

    region: str
    weight: float
    national_ids: tuple[str, ...] = ()
    iban: bool = False


LOCALES: dict[str, Locale] = {
    "en_US": Locale("US", 30, ("US_SOCIAL_SECURITY_NUMBER", "US_INDIVIDUAL_TAXPAYER_IDENTIFICATION_NUMBER",
                               "US_PASSPORT", "US_DRIVERS_LICENSE_NUMBER")),
    "en_GB": Locale("GB", 8, ("UK_NATIONAL_INSURANCE_NUMBER", "UK_NATIONAL_HEALTH_SERVICE_NUMBER"), True),
    "de_DE": Locale("DE", 6, ("GERMANY_TAXPAYER_IDENTIFICATION_NUMBER",), True),
    "fr_FR": Locale("FR", 5, ("FRANCE_NIR",), True),
    "es_ES": Locale("ES", 5, ("SPAIN_DNI_NUMBER", "SPAIN_NIE_NUMBER"), True),
    "it_IT": Locale("IT", 4, ("ITALY_FISCAL_CODE",), True),
    "nl_NL": Locale("NL", 4, ("NETHERLANDS_BSN_NUMBER",), True),
    "pt_BR": Locale("BR", 4, ("BRAZIL_CPF_NUMBER",), True),
    "pl_PL": Locale("PL", 3, ("POLAND_PESEL_NUMBER",), True),
    "en_IN": Locale("IN", 5, ("INDIA_AADHAAR_INDIVIDUAL", "INDIA_PAN_INDIVIDUAL")),
    "en_CA": Locale("CA", 4, ("CANADA_SOCIAL_INSURANCE_NUMBER",)),
    "fr_CA": Locale("CA", 1.5, ("CANADA_SOCIAL_INSURANCE_NUMBER",)),
    "en_AU": Locale("AU", 2),
    "sv_SE": Locale("SE", 1),
    "da_DK": Locale("DK", 1, iban=True),
    "no_NO": Locale("NO", 1, iban=True),
    "fi_FI": Locale("FI", 1, iban=True),
    "cs_CZ": Locale("CZ", 1, iban=True),
    "pt_PT": Locale("PT", 1, iban=True),
    "de_AT": Locale("AT", 1, iban=True),
    "de_CH": Locale("CH", 1, iban=True),
    "en_IE": Locale("IE", 1, iban=True),
    "en_NZ": Locale("NZ", 1),
    "ja_JP": Locale("JP", 1),
    "tr_TR": Locale("TR", 1, iban=True),
    "ro_RO": Locale("RO", 1, iban=True),
    "el_GR": Locale("GR", 1, iban=True),
    "es_MX": Locale("MX", 1.5),
    "ko_KR": Locale("KR", 1),
    "hu_HU": Locale("HU", 1),
}

IBAN_LOCALES = tuple(name for name, loc in LOCALES.items() if loc.iban)


@lru_cache(maxsize=None)
def _faker(locale: str) -> Faker:
    fake = Faker(locale)
    for provider in fake.providers:
        # Faker 40's it_IT address provider builds ``cities`` from a set, so its order (and
        # every city drawn from it) changed with PYTHONHASHSEED: the corpus was not the same
        # in two processes. Sorted, a seed gives the same documents everywhere.
        cities = getattr(provider, "cities", None)
        if isinstance(cities, list):
            provider.cities = sorted(cities)
    return fake


@lru_cache(maxsize=None)
def known_examples() -> dict[str, tuple[str, ...]]:
    """Well-known public example values by the infoType they imitate (``data/known_examples.yaml``)."""
    raw = yaml.safe_load((DATA / "known_examples.yaml").read_text(encoding="utf-8"))
    return {k: tuple(str(v) for v in vs) for k, vs in raw.items()}


@lru_cache(maxsize=None)
def _known_compact() -> frozenset[str]:
    return frozenset(_compact(v) for vs in known_examples().values() for v in vs)


def _compact(value: str) -> str:
    return "".join(ch for ch in value if ch.isalnum()).upper()


class Gen:
    """Random source for one document: a seeded ``random.Random`` and seeded Faker instances."""

    def __init__(self, rng: random.Random, locale: str = "en_US") -> None:
        self.rng = rng
        self.locale = locale

    @property
    def region(self) -> str:
        return LOCALES[self.locale].region

    def fake(self, locale: str | None = None) -> Faker:
        """The Faker for ``locale`` (default: the document's), reseeded from this document's rng."""
        f = _faker(locale or self.locale)
        f.seed_instance(self.rng.getrandbits(48))
        return f

    def chars(self, alphabet: str, n: int) -> str:
        return "".join(self.rng.choices(alphabet, k=n))

    def digits(self, n: int) -> str:
        return self.chars(string.digits, n)

    def value(self, infotype: str, fits: Callable[[str], bool] | None = None, tries: int = 12) -> str | None:
        """A fresh value of ``infotype`` that ``fits`` accepts, or None when none was found."""
        make = GENERATORS[infotype]
        for _ in range(tries):
            v = make(self)
            if _compact(v) in _known_compact():
                continue
            if fits is None or fits(v):
                return v
        return None


ALNUM = string.ascii_letters + string.digits
B64 = string.ascii_letters + string.digits + "+/"
B64URL = string.ascii_letters + string.digits + "-_"
HEX = "0123456789abcdef"
UPPER_ALNUM = string.ascii_uppercase + string.digits


def _group(value: str, sizes: tuple[int, ...], sep: str) -> str:
    out, i = [], 0
    for n in sizes:
        if i >= len(value):
            break
        out.append(value[i:i + n])
        i += n
    if i < len(value):
        out.append(value[i:])
    return sep.join(out)


# --------------------------------------------------------------------------- contact details

def email(g: Gen) -> str:
    for _ in range(10):
        f = g.fake()
        r = g.rng.random()
        v = f.free_email() if r < 0.35 else f.company_email() if r < 0.75 else f.email()
        local, _, domain = v.partition("@")
        if not v.isascii() or domain.startswith("example.") or ".example." in domain:
            continue
        r = g.rng.random()
        if r < 0.08:
            local += "+" + g.rng.choice(("billing", "jira", "news", "ops", "2024"))
        elif r < 0.14:
            domain = g.rng.choice(("mail.", "eu.", "corp.", "us.")) + domain
        elif r < 0.18:
            local = local.capitalize()
        return f"{local}@{domain}"
    return f"{g.fake('en_US').user_name()}@{g.rng.choice(('gmail.com', 'outlook.com', 'proton.me'))}"


_PHONE_TYPES = (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE)
_NANP = {"US", "CA"}


def _phone_ok(num: phonenumbers.PhoneNumber, region: str) -> bool:
    if not phonenumbers.is_valid_number(num):
        return False
    national = str(num.national_number)
    # 555 exchanges in North America are fictional; keep them out of both labels and decoys
    return not (phonenumbers.region_code_for_number(num) in _NANP and national[3:6] == "555")


def phone(g: Gen, region: str | None = None) -> str:
    """A valid phone number of ``region`` as people write it: Faker's national formats, or a
    libphonenumber example number with fresh subscriber digits in a national, international,
    E.164 or hand-punctuated form."""
    region = region or g.region
    locale = g.locale if LOCALES[g.locale].region == region else next(
        (n for n, loc in LOCALES.items() if loc.region == region), "en_US")
    if g.rng.random() < 0.5:
        for _ in range(6):
            v = g.fake(locale).phone_number()
            if "x" in v.lower() or "ext" in v.lower():
                continue
            try:
                num = phonenumbers.parse(v, region)
            except phonenumbers.NumberParseException:
                continue
            if _phone_ok(num, region):
                return v
    for _ in range(30):
        example = phonenumbers.example_number_for_type(region, g.rng.choice(_PHONE_TYPES))
        if example is None:
            continue
        national = str(example.national_number)
        keep = g.rng.randint(min(3, len(national) - 4), len(national) - 4)
        candidate = national[:keep] + g.digits(len(national) - keep)
        num = phonenumbers.parse("+" + str(example.country_code) + candidate)
        if _phone_ok(num, region):
            return _format_phone(g, num)
    raise RuntimeError(f"no valid phone number for region {region}")


def _format_phone(g: Gen, num: phonenumbers.PhoneNumber) -> str:
    fmt = phonenumbers.PhoneNumberFormat
    r = g.rng.random()
    if r < 0.45:
        return phonenumbers.format_number(num, fmt.NATIONAL)
    if r < 0.7:
        return phonenumbers.format_number(num, fmt.INTERNATIONAL)
    if r < 0.8:
        return phonenumbers.format_number(num, fmt.E164)
    national = phonenumbers.format_number(num, fmt.NATIONAL)
    sep = g.rng.choice((".", "-", " ", ""))
    out = "".join(sep if ch in " -" else ch for ch in national if ch not in "()")
    return out if sep or len(out) <= 12 else national


# --------------------------------------------------------------------------- financial

# (issuer prefixes, lengths); numbers in brackets are inclusive prefix ranges
_CARD_BRANDS: dict[str, tuple[tuple, tuple[int, ...]]] = {
    "visa": (("4",), (13, 16, 16, 16, 19)),
    "mastercard": (((51, 55), (2221, 2720)), (16,)),
    "amex": (("34", "37"), (15,)),
    "discover": (("6011", (644, 649), "65"), (16, 16, 19)),
    "diners": (((300, 305), "36", "38", "39"), (14, 14, 16)),
    "jcb16": (((3528, 3589),), (16, 16, 19)),
    "jcb15": (("2131", "1800"), (15,)),
    "maestro": (("5018", "5020", "5038", "5893", "6304", "6759", "6761", "6762", "6763"),
                (12, 13, 15, 16, 16, 18, 19)),
    "unionpay": (("62",), (16, 16, 17, 18, 19)),
    "mir": (((2200, 2204),), (16,)),
}
_CARD_WEIGHTS = {"visa": 30, "mastercard": 25, "amex": 10, "discover": 7, "diners": 4, "jcb16": 5,
                 "jcb15": 3, "maestro": 7, "unionpay": 5, "mir": 4}
_FAKER_CARDS = ("visa13", "visa16", "visa19", "mastercard", "amex", "discover", "diners", "jcb15", "jcb16",
                "maestro")


def _card_digits(g: Gen) -> str:
    if g.rng.random() < 0.3:
        return g.fake("en_US").credit_card_number(g.rng.choice(_FAKER_CARDS))
    brand = g.rng.choices(list(_CARD_WEIGHTS), weights=list(_CARD_WEIGHTS.values()))[0]
    prefixes, lengths = _CARD_BRANDS[brand]
    p = g.rng.choice(prefixes)
    prefix = str(g.rng.randint(*p)) if isinstance(p, tuple) else p
    length = g.rng.choice(lengths)
    body = prefix + g.digits(length - len(prefix) - 1)
    return body + luhn.calc_check_digit(body)


def credit_card(g: Gen) -> str:
    digits = _card_digits(g)
    n = len(digits)
    sep = g.rng.choice((" ", " ", "-", ""))
    if not sep or g.rng.random() < 0.2:
        return digits
    if n == 15:
        return _group(digits, (4, 6, 5), sep)
    if n == 14:
        return _group(digits, (4, 6, 4), sep)
    if n == 13:
        return digits
    if n == 12:
        return _group(digits, (4, 4, 4), sep)
    return _group(digits, (4, 4, 4, 4), sep)


def iban_code(g: Gen) -> str:
    locale = g.locale if LOCALES[g.locale].iban else g.rng.choice(IBAN_LOCALES)
    for _ in range(10):
        v = g.fake(locale).iban()
        if v[:2] == LOCALES[locale].region and iban.is_valid(v):
            break
    else:
        raise RuntimeError(f"Faker made no valid IBAN for {locale}")
    return iban.format(v) if g.rng.random() < 0.5 else v


def swift_code(g: Gen) -> str:
    country = g.region if g.region not in ("GB",) or g.rng.random() < 0.5 else "GB"
    for _ in range(20):
        bank = g.chars(string.ascii_uppercase, 4)
        location = g.rng.choice(string.ascii_uppercase + "23456789") + g.rng.choice(UPPER_ALNUM.replace("0", ""))
        branch = g.rng.choice(("", "", "XXX", g.chars(UPPER_ALNUM, 3)))
        v = bank + country + location + branch
        if bic.is_valid(v):
            return v
    raise RuntimeError("no valid BIC")


def routing_number(g: Gen) -> str:
    prefix = g.rng.choice([*range(1, 13), *range(21, 33), *range(61, 73), 80])
    body = f"{prefix:02d}" + g.digits(6)
    return body + rtn.calc_check_digit(body)


# --------------------------------------------------------------------------- network

_NOT_LABELLED_V4 = [ipaddress.ip_network(n) for n in (
    "0.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24",
    "224.0.0.0/3", "100.64.0.0/10", "255.255.255.255/32")]
_V6_PREFIXES = ("2a01:4f8", "2a00:1450", "2600:1f18", "2606:4700", "2406:da18", "2a02:c207", "2001:41d0",
                "2620:10d", "2804:14c", "fd12:3456", "fd00:a1b2", "fdc4:7e21")


def ip_address(g: Gen) -> str:
    r = g.rng.random()
    if r < 0.65:
        f = g.fake("en_US")
        while True:
            v = f.ipv4_private() if r < 0.3 else f.ipv4_public()
            addr = ipaddress.ip_address(v)
            if not any(addr in n for n in _NOT_LABELLED_V4) and not v.endswith(".0"):
                return v
    prefix = g.rng.choice(_V6_PREFIXES)
    hextets = [int(h, 16) for h in prefix.split(":")]
    while len(hextets) < 8:
        hextets.append(g.rng.getrandbits(16) if g.rng.random() < 0.7 else 0)
    if g.rng.random() < 0.35:  # a server's ::1-style address
        hextets[4:] = [0, 0, 0, g.rng.choice((1, 2, 0x10, 0x53, g.rng.getrandbits(16)))]
    addr = ipaddress.IPv6Address(":".join(f"{h:x}" for h in hextets))
    style = g.rng.random()
    if style < 0.6:
        return addr.compressed
    if style < 0.8:
        return addr.exploded
    return ":".join(f"{h:x}" for h in hextets)


# --------------------------------------------------------------------------- dates

_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December")


def format_date(g: Gen, d: dt.date) -> str:
    """A date as people in the document's locale write it."""
    region = g.region
    styles = ["iso", "long", "dmy_long", "abbr"]
    if region in ("US",):
        styles += ["mdy", "mdy", "mdy2"]
    elif region in ("DE", "AT", "CH", "PL", "CZ", "FI", "NO", "DK", "RO", "TR", "HU"):
        styles += ["dot", "dot"]
    else:
        styles += ["dmy", "dmy", "dmy_dash"]
    s = g.rng.choice(styles)
    if s == "iso":
        return d.isoformat()
    if s == "long":
        return f"{_MONTHS[d.month - 1]} {d.day}, {d.year}"
    if s == "dmy_long":
        return f"{d.day} {_MONTHS[d.month - 1]} {d.year}"
    if s == "abbr":
        return f"{d.day:02d}-{_MONTHS[d.month - 1][:3]}-{d.year}"
    if s == "mdy":
        return f"{d.month:02d}/{d.day:02d}/{d.year}"
    if s == "mdy2":
        return f"{d.month}/{d.day}/{d.year}"
    if s == "dot":
        return f"{d.day:02d}.{d.month:02d}.{d.year}"
    if s == "dmy_dash":
        return f"{d.day:02d}-{d.month:02d}-{d.year}"
    return f"{d.day:02d}/{d.month:02d}/{d.year}"


def moment(g: Gen, first: dt.datetime = dt.datetime(2024, 1, 1), days: int = 1000) -> dt.datetime:
    """A time drawn from the document's rng (never from the clock, so the corpus does not change
    from one day to the next)."""
    return first + dt.timedelta(seconds=g.rng.randrange(days * 86400))


def date_of_birth(g: Gen) -> str:
    """Someone aged about 16 to 92 in 2026."""
    return format_date(g, moment(g, dt.datetime(1934, 1, 1), 76 * 365).date())


# --------------------------------------------------------------------------- US identifiers

def us_ssn(g: Gen) -> str:
    while True:
        v = g.fake("en_US").ssn()
        if ssn.is_valid(v):
            break
    digits = ssn.compact(v)
    r = g.rng.random()
    return ssn.format(digits) if r < 0.7 else _group(digits, (3, 2, 4), " ") if r < 0.8 else digits


def us_itin(g: Gen) -> str:
    while True:
        v = g.fake("en_US").itin()
        if itin.is_valid(v):
            return v if g.rng.random() < 0.8 else itin.compact(v)


def us_ein(g: Gen) -> str:
    while True:
        v = g.fake("en_US").ein()
        if ein.is_valid(v):
            return v if g.rng.random() < 0.85 else ein.compact(v)


def us_passport(g: Gen) -> str:
    if g.rng.random() < 0.5:
        return str(g.rng.randint(1, 9)) + g.digits(8)
    return g.rng.choice("ABCEFGHJKLMNPRSTUVWXZ") + g.digits(8)


def _L(g: Gen) -> str:
    return g.rng.choice(string.ascii_uppercase)


# State driver's licence formats (state DMV formats as published by the AAMVA member states).
_DL_FORMATS: dict[str, Callable[[Gen], str]] = {
    "CA": lambda g: _L(g) + g.digits(7),
    "NY": lambda g: g.rng.choice((g.digits(9), _group(g.digits(9), (3, 3, 3), " "))),
    "TX": lambda g: g.rng.choice("0123") + g.digits(7),
    "FL": lambda g: g.rng.choice((_L(g) + g.digits(12), _L(g) + _group(g.digits(12), (3, 2, 3, 3, 1), "-"))),
    "IL": lambda g: g.rng.choice((_L(g) + g.digits(11), _L(g) + _group(g.digits(11), (3, 4, 4), "-"))),
    "PA": lambda g: g.rng.choice((g.digits(8), _group(g.digits(8), (2, 3, 3), " "))),
    "OH": lambda g: _L(g) + _L(g) + g.digits(6),
    "MI": lambda g: g.rng.choice((_L(g) + g.digits(12), _L(g) + " " + _group(g.digits(12), (3, 3, 3, 3), " "))),
    "NJ": lambda g: g.rng.choice((_L(g) + g.digits(14), _L(g) + _group(g.digits(14), (4, 5, 5), " "))),
    "WA": lambda g: "WDL" + g.chars(UPPER_ALNUM, 9),
    "GA": lambda g: g.digits(9),
    "AZ": lambda g: g.rng.choice((_L(g) + g.digits(8), g.digits(9))),
    "MA": lambda g: "S" + g.digits(8),
    "VA": lambda g: g.rng.choice((_L(g) + g.digits(8), _L(g) + _group(g.digits(8), (2, 2, 4), "-"))),
    "CO": lambda g: _group(g.digits(9), (2, 3, 4), "-"),
    "WI": lambda g: _L(g) + _group(g.digits(13), (3, 4, 4, 2), "-"),
    "MN": lambda g: _L(g) + g.digits(12),
    "NC": lambda g: g.digits(g.rng.randint(8, 12)),
}
DL_STATES = tuple(_DL_FORMATS)


def us_drivers_license(g: Gen, state: str | None = None) -> str:
    return _DL_FORMATS[state or g.rng.choice(DL_STATES)](g)


# --------------------------------------------------------------------------- other national IDs

_NINO_BAD_FIRST = set("DFIQUV")
_NINO_BAD_SECOND = set("DFIOQUV")
_NINO_BAD_PAIRS = {"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"}


def uk_nino(g: Gen) -> str:
    while True:
        a, b = _L(g), _L(g)
        if a in _NINO_BAD_FIRST or b in _NINO_BAD_SECOND or a + b in _NINO_BAD_PAIRS:
            continue
        digits, suffix = g.digits(6), g.rng.choice("ABCD")
        if g.rng.random() < 0.4:
            return f"{a}{b} {digits[:2]} {digits[2:4]} {digits[4:]} {suffix}"
        return f"{a}{b}{digits}{suffix}"


def uk_nhs(g: Gen) -> str:
    while True:
        v = str(g.rng.randint(4, 9)) + g.digits(9)
        if nhs.is_valid(v):
            return nhs.format(v) if g.rng.random() < 0.6 else v


def canada_sin(g: Gen) -> str:
    while True:
        v = sin.compact(g.fake("en_CA").ssn())
        if sin.is_valid(v):
            break
    r = g.rng.random()
    return sin.format(v) if r < 0.5 else _group(v, (3, 3, 3), " ") if r < 0.8 else v


def france_nir(g: Gen) -> str:
    while True:
        v = g.fake("fr_FR").ssn()
        if nir.is_valid(v):
            return nir.format(v) if g.rng.random() < 0.5 else v


def germany_idnr(g: Gen) -> str:
    """Steuer-ID: in the first ten digits one digit occurs twice (or three times) and the others
    at most once, the first is not 0, then an ISO 7064 MOD 11,10 check digit."""
    while True:
        digits = g.rng.sample(string.digits, 9)
        digits.append(g.rng.choice(digits))
        if g.rng.random() < 0.3:  # the three-times variant drops one more digit
            digits[g.rng.randrange(9)] = digits[-1]
        g.rng.shuffle(digits)
        body = "".join(digits)
        if body[0] == "0":
            continue
        v = body + mod_11_10.calc_check_digit(body)
        if idnr.is_valid(v):
            return idnr.format(v) if g.rng.random() < 0.4 else v


def spain_dni(g: Gen) -> str:
    digits = g.digits(8)
    letter = dni.calc_check_digit(digits)
    r = g.rng.random()
    if r < 0.6:
        return digits + letter
    if r < 0.85:
        return f"{digits}-{letter}"
    return f"{digits[:2]}.{digits[2:5]}.{digits[5:]}-{letter}"


def spain_nie(g: Gen) -> str:
    body = g.rng.choice("XYZ") + g.digits(7)
    v = body + nie.calc_check_digit(body)
    return v if g.rng.random() < 0.7 else f"{v[0]}-{v[1:8]}-{v[8]}"


def italy_cf(g: Gen) -> str:
    while True:
        v = g.fake("it_IT").ssn()
        if codicefiscale.is_valid(v):
            return v


def netherlands_bsn(g: Gen) -> str:
    while True:
        v = g.fake("nl_NL").ssn()
        if bsn.is_valid(v):
            return v if g.rng.random() < 0.75 else f"{v[:4]}.{v[4:6]}.{v[6:]}"


def india_aadhaar(g: Gen) -> str:
    while True:
        v = g.fake("en_IN").aadhaar_id()
        if aadhaar.is_valid(v):
            break
    r = g.rng.random()
    return aadhaar.format(v) if r < 0.6 else _group(v, (4, 4, 4), "-") if r < 0.7 else v


def india_pan(g: Gen) -> str:
    while True:
        v = g.chars(string.ascii_uppercase, 3) + g.rng.choice("PPPPCHFATBLJG") + _L(g) + g.digits(4) + _L(g)
        if pan.is_valid(v):
            return v


def brazil_cpf(g: Gen) -> str:
    while True:
        v = g.fake("pt_BR").cpf()
        if cpf.is_valid(v):
            return v if g.rng.random() < 0.75 else cpf.compact(v)


def poland_pesel(g: Gen) -> str:
    while True:
        v = g.fake("pl_PL").pesel()
        if pesel.is_valid(v):
            return v


# --------------------------------------------------------------------------- health

def npi(g: Gen) -> str:
    body = g.rng.choice("12") + g.digits(8)
    check = luhn.calc_check_digit("80840" + body)
    return body + check


def dea_number(g: Gen) -> str:
    first = g.rng.choice("ABFGMPRX")
    second = g.fake("en_US").last_name()[0].upper()
    d = [g.rng.randint(0, 9) for _ in range(6)]
    check = (d[0] + d[2] + d[4] + 2 * (d[1] + d[3] + d[5])) % 10
    return first + second + "".join(map(str, d)) + str(check)


def medical_record_number(g: Gen) -> str:
    r = g.rng.random()
    if r < 0.35:
        return g.digits(g.rng.randint(7, 10))
    if r < 0.55:
        return "00" + g.digits(g.rng.randint(5, 7))
    if r < 0.75:
        return g.rng.choice("EHMPRZ") + g.digits(7)
    if r < 0.9:
        return _group(g.digits(8), (3, 3, 2), "-")
    return f"{g.rng.choice(('MRN', 'MR', 'PT'))}-{g.digits(6)}"


# --------------------------------------------------------------------------- credentials

_B32 = string.ascii_uppercase + "234567"


def aws_access_key_id(g: Gen) -> str:
    return g.rng.choice(("AKIA", "AKIA", "AKIA", "ASIA")) + g.chars(_B32, 16)


def aws_secret_key(g: Gen) -> str:
    return g.chars(B64, 40)


def aws_credentials(g: Gen) -> str:
    return aws_access_key_id(g) if g.rng.random() < 0.6 else aws_secret_key(g)


def azure_client_secret(g: Gen) -> str:
    """An Entra ID (Azure AD) application client secret: 3 characters, a digit, ``Q~``, 34 more."""
    return g.chars(ALNUM + "_~.", 3) + g.rng.choice(string.digits) + "Q~" + g.chars(ALNUM + "_~.-", 34)


def azure_sas(g: Gen) -> str:
    """A storage shared access signature query string (account or service SAS)."""
    day = dt.date(2024, 1, 1) + dt.timedelta(days=g.rng.randint(0, 900))
    sig = base64.b64encode(g.rng.randbytes(32)).decode()
    sig = sig.replace("+", "%2B").replace("/", "%2F").replace("=", "%3D")
    version = g.rng.choice(("2022-11-02", "2021-06-08", "2023-01-03", "2020-08-04"))
    if g.rng.random() < 0.5:
        return (f"sv={version}&ss={g.rng.choice(('b', 'bfqt', 'bf'))}&srt=sco&sp={g.rng.choice(('rwdlacup', 'r', 'rl', 'rwdlacupiytfx'))}"
                f"&se={day.isoformat()}T{g.rng.randint(0, 23):02d}:00:00Z&st={(day - dt.timedelta(days=30)).isoformat()}"
                f"T00:00:00Z&spr=https&sig={sig}")
    return (f"sp={g.rng.choice(('r', 'racwdl', 'rl'))}&st={(day - dt.timedelta(days=7)).isoformat()}T08:00:00Z"
            f"&se={day.isoformat()}T16:00:00Z&spr=https&sv={version}&sr={g.rng.choice(('b', 'c'))}&sig={sig}")


def azure_auth_token(g: Gen) -> str:
    return azure_client_secret(g) if g.rng.random() < 0.6 else azure_sas(g)


def azure_storage_key(g: Gen) -> str:
    return base64.b64encode(g.rng.randbytes(64)).decode()


def azure_storage_connection_string(g: Gen) -> str:
    account = g.fake("en_US").user_name().replace("_", "").replace(".", "")[:14] + g.digits(3)
    return (f"DefaultEndpointsProtocol=https;AccountName={account};AccountKey={azure_storage_key(g)};"
            f"EndpointSuffix=core.windows.net")


def gcp_api_key(g: Gen) -> str:
    return "AIza" + g.chars(B64URL, 35)


def _pem(label: str, der: bytes) -> str:
    body = base64.b64encode(der).decode()
    lines = [body[i:i + 64] for i in range(0, len(body), 64)]
    return f"-----BEGIN {label}-----\n" + "\n".join(lines) + f"\n-----END {label}-----"


def private_key(g: Gen) -> str:
    """A PEM or OpenSSH private key. EC and Ed25519 keys are well-formed DER around a random
    scalar; RSA and OpenSSH bodies have the real prefix and size with random content."""
    r = g.rng.random()
    if r < 0.3:  # SEC1 EC key on P-256, public key omitted
        der = bytes.fromhex("30310201010420") + g.rng.randbytes(32) + bytes.fromhex("a00a06082a8648ce3d030107")
        return _pem("EC PRIVATE KEY", der)
    if r < 0.5:  # PKCS#8 Ed25519
        der = bytes.fromhex("302e020100300506032b657004220420") + g.rng.randbytes(32)
        return _pem("PRIVATE KEY", der)
    if r < 0.8:
        der = bytes.fromhex("308204a40201000282010100") + g.rng.randbytes(1180)
        return _pem(g.rng.choice(("RSA PRIVATE KEY", "PRIVATE KEY")), der)
    blob = b"openssh-key-v1\x00\x00\x00\x00\x04none\x00\x00\x00\x04none" + g.rng.randbytes(300)
    return _pem("OPENSSH PRIVATE KEY", blob)


def gcp_service_account(g: Gen) -> str:
    f = g.fake("en_US")
    project = f"{f.word()}-{f.word()}-{g.digits(6)}"
    account = f"{f.word()}-{g.rng.choice(('sa', 'runner', 'etl', 'deploy'))}"
    client_email = f"{account}@{project}.iam.gserviceaccount.com"
    key = private_key_for_json(g)
    doc = {
        "type": "service_account", "project_id": project, "private_key_id": g.chars(HEX, 40),
        "private_key": key, "client_email": client_email, "client_id": g.digits(21),
        "auth_uri": "https://accounts.google.com/o/oauth2/auth", "token_uri": "https://oauth2.googleapis.com/token",
        "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
        "client_x509_cert_url": "https://www.googleapis.com/robot/v1/metadata/x509/"
                                + client_email.replace("@", "%40"),
    }
    return json.dumps(doc, indent=2)


def private_key_for_json(g: Gen) -> str:
    der = bytes.fromhex("308204bd020100300d06092a864886f70d0101010500048204a7") + g.rng.randbytes(1180)
    return _pem("PRIVATE KEY", der) + "\n"


_B62 = string.digits + string.ascii_uppercase + string.ascii_lowercase


def _base62(n: int, width: int) -> str:
    out = ""
    while n:
        n, r = divmod(n, 62)
        out = _B62[r] + out
    return out.rjust(width, "0")


def github_token(g: Gen) -> str:
    """GitHub tokens with their CRC32 checksum (classic ``ghp_``-style) or fine-grained PATs."""
    if g.rng.random() < 0.2:
        return "github_pat_" + g.chars(ALNUM, 22) + "_" + g.chars(ALNUM, 59)
    prefix = g.rng.choice(("ghp_", "ghp_", "ghp_", "gho_", "ghs_", "ghu_", "ghr_"))
    body = g.chars(ALNUM, 30)
    return prefix + body + _base62(binascii.crc32(body.encode()), 6)


def gitlab_token(g: Gen) -> str:
    r = g.rng.random()
    if r < 0.7:
        return "glpat-" + g.chars(ALNUM + "-_", 20)
    if r < 0.85:
        return "gldt-" + g.chars(ALNUM + "-_", 20)
    return "glrt-" + g.chars(ALNUM + "-_", 20)


def slack_token(g: Gen) -> str:
    r = g.rng.random()
    if r < 0.5:
        return f"xoxb-{g.digits(g.rng.randint(11, 13))}-{g.digits(g.rng.randint(11, 13))}-{g.chars(ALNUM, 24)}"
    if r < 0.8:
        return (f"xoxp-{g.digits(g.rng.randint(11, 13))}-{g.digits(g.rng.randint(11, 13))}-"
                f"{g.digits(g.rng.randint(11, 13))}-{g.chars(HEX, 32)}")
    return f"xapp-1-A{g.chars(UPPER_ALNUM, 10)}-{g.digits(13)}-{g.chars(HEX, 64)}"


def slack_webhook(g: Gen) -> str:
    return (f"https://hooks.slack.com/services/T{g.chars(UPPER_ALNUM, g.rng.choice((8, 10)))}/"
            f"B{g.chars(UPPER_ALNUM, g.rng.choice((8, 10)))}/{g.chars(ALNUM, 24)}")


def stripe_key(g: Gen) -> str:
    kind = g.rng.choice(("sk_live_", "sk_live_", "rk_live_"))
    if g.rng.random() < 0.5:
        return kind + g.chars(ALNUM, 24)
    return kind + "51" + g.chars(ALNUM, 97)


def openai_key(g: Gen) -> str:
    r = g.rng.random()
    if r < 0.4:
        return "sk-" + g.chars(ALNUM, 20) + "T3BlbkFJ" + g.chars(ALNUM, 20)
    if r < 0.85:
        return "sk-proj-" + g.chars(B64URL, 74) + "T3BlbkFJ" + g.chars(B64URL, 74)
    return "sk-svcacct-" + g.chars(B64URL, 74) + "T3BlbkFJ" + g.chars(B64URL, 74)


def anthropic_key(g: Gen) -> str:
    return "sk-ant-api03-" + g.chars(B64URL, 93) + "AA"


def sendgrid_key(g: Gen) -> str:
    return "SG." + g.chars(B64URL, 22) + "." + g.chars(B64URL, 43)


def npm_token(g: Gen) -> str:
    """npm access tokens follow GitHub's format: 30 random characters and a base62 CRC32."""
    body = g.chars(ALNUM, 30)
    return "npm_" + body + _base62(binascii.crc32(body.encode()), 6)


def twilio_key(g: Gen) -> str:
    return "SK" + g.chars(HEX, 32)


def huggingface_token(g: Gen) -> str:
    return "hf_" + g.chars(string.ascii_letters, 34)


def databricks_token(g: Gen) -> str:
    return "dapi" + g.chars(HEX, 32) + g.rng.choice(("", "", "-2", "-3"))


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def json_web_token(g: Gen) -> str:
    f = g.fake("en_US")
    alg = g.rng.choice(("HS256", "RS256", "ES256"))
    header = {"alg": alg, "typ": "JWT"}
    if alg != "HS256":
        header["kid"] = g.chars(B64URL, 16)
    now = 1_700_000_000 + g.rng.randint(0, 60_000_000)
    claims = {"sub": g.rng.choice((g.digits(10), f.uuid4(), f.user_name())), "iat": now,
              "exp": now + g.rng.choice((900, 3600, 86400))}
    if g.rng.random() < 0.6:
        claims["email"] = f.company_email()
    if g.rng.random() < 0.5:
        claims["iss"] = g.rng.choice(("https://auth.", "https://login.")) + f.domain_name()
    if g.rng.random() < 0.4:
        claims["scope"] = g.rng.choice(("read:orders", "openid profile email", "admin"))
    signing = _b64url(json.dumps(header, separators=(",", ":")).encode()) + "." + \
        _b64url(json.dumps(claims, separators=(",", ":")).encode())
    if alg == "HS256":
        sig = hmac.new(g.rng.randbytes(32), signing.encode(), hashlib.sha256).digest()
    else:
        sig = g.rng.randbytes(256 if alg == "RS256" else 64)
    return signing + "." + _b64url(sig)


def basic_auth(g: Gen) -> str:
    user = g.fake().user_name()
    return base64.b64encode(f"{user}:{password(g, url_safe=True)}".encode()).decode()


_WORDS = ("Summer", "Winter", "Autumn", "Spring", "Dragon", "Monkey", "Tiger", "Sunshine", "Falcon", "Purple",
          "Coffee", "Rocket", "Bailey", "Charlie", "Shadow", "Hunter", "Ranger", "Maple", "Harbor", "Velvet",
          "Copper", "Orbit", "Lemon", "Nimbus", "Quartz", "Willow", "Zephyr", "Matrix", "Cobalt", "Thunder")
_SYMBOLS = "!@#$%^&*?"


def password(g: Gen, url_safe: bool = False) -> str:
    """A password as people and generators make them: random strings, word-and-digits, passphrases."""
    for _ in range(20):
        r = g.rng.random()
        if r < 0.4:
            v = g.fake("en_US").password(length=g.rng.randint(10, 22), special_chars=g.rng.random() < 0.7)
        elif r < 0.75:
            word = g.rng.choice(_WORDS)
            if g.rng.random() < 0.3:
                word = word.replace("o", "0").replace("a", "@").replace("e", "3")
            v = word + str(g.rng.randint(1, 2025)) + g.rng.choice(_SYMBOLS + "!!")
        else:
            words = [w.lower() for w in g.rng.sample(_WORDS, 3)]
            v = g.rng.choice("-_.").join(words) + str(g.rng.randint(0, 99))
        if any(c in v for c in "\"'\\` ,;<>&|") or len(v) < 8:
            continue
        if url_safe and any(c in v for c in ":@/?#%"):
            continue
        return v
    return g.chars(ALNUM, 16)


_COOKIE_SESSIONS: tuple[tuple[str, Callable[[Gen], str]], ...] = (
    ("sessionid", lambda g: g.chars(string.ascii_lowercase + string.digits, 32)),
    ("connect.sid", lambda g: "s%3A" + g.chars(B64URL, 32) + "." + g.chars(B64, 43).replace("/", "%2F").replace("+", "%2B")),
    ("PHPSESSID", lambda g: g.chars(string.ascii_lowercase + string.digits, 26)),
    ("JSESSIONID", lambda g: g.chars("0123456789ABCDEF", 32)),
    ("ASP.NET_SessionId", lambda g: g.chars(string.ascii_lowercase + string.digits, 24)),
    ("laravel_session", lambda g: g.chars(B64, 180) + "%3D%3D"),
    ("_gitlab_session", lambda g: g.chars(HEX, 32)),
    ("__Secure-next-auth.session-token", lambda g: "eyJ" + g.chars(B64URL, 120)),
    ("_shop_session", lambda g: g.chars(B64, 96) + "--" + g.chars(HEX, 40)),
    ("SID", lambda g: g.chars(B64URL, 70) + "."),
)
_COOKIE_EXTRAS = (
    lambda g: f"_ga=GA1.2.{g.digits(9)}.{g.digits(10)}",
    lambda g: f"csrftoken={g.chars(ALNUM, 32)}",
    lambda g: f"theme={g.rng.choice(('dark', 'light'))}",
    lambda g: f"lang={g.rng.choice(('en-US', 'de', 'fr-FR'))}",
    lambda g: f"_gid=GA1.2.{g.digits(9)}.{g.digits(10)}",
)


def session_cookie(g: Gen) -> str:
    """One ``name=value`` session cookie."""
    name, make = g.rng.choice(_COOKIE_SESSIONS)
    return f"{name}={make(g)}"


def http_cookie(g: Gen) -> str:
    """The value of a ``Cookie:`` header carrying a session cookie, sometimes among others."""
    parts = [session_cookie(g)]
    for extra in g.rng.sample(_COOKIE_EXTRAS, g.rng.randint(0, 3)):
        parts.insert(g.rng.randint(0, len(parts)), extra(g))
    return "; ".join(parts)


_DB_HOSTS = ("db", "postgres", "pg-primary", "mysql-01", "mongo", "redis", "rds", "warehouse", "orders-db")


def database_connection_string(g: Gen) -> str:
    f = g.fake("en_US")
    user = g.rng.choice((f.user_name(), "app", "admin", "svc_" + f.word(), "postgres", "root", "etl"))
    pw = password(g, url_safe=True)
    host = g.rng.choice((f"{g.rng.choice(_DB_HOSTS)}.{f.domain_name()}", g.rng.choice(_DB_HOSTS) + ".internal",
                         f"{g.rng.choice(_DB_HOSTS)}-{g.digits(2)}.{g.chars(string.ascii_lowercase + string.digits, 12)}.us-east-1.rds.amazonaws.com"))
    db = g.rng.choice(("app", "orders", "analytics", "prod", "billing", "users", "core"))
    r = g.rng.random()
    if r < 0.3:
        return f"{g.rng.choice(('postgres', 'postgresql', 'postgresql+psycopg2'))}://{user}:{pw}@{host}:5432/{db}"
    if r < 0.45:
        return f"mysql://{user}:{pw}@{host}:3306/{db}"
    if r < 0.6:
        return f"mongodb+srv://{user}:{pw}@cluster0.{g.chars(string.ascii_lowercase + string.digits, 5)}.mongodb.net/{db}?retryWrites=true&w=majority"
    if r < 0.7:
        return f"redis://:{pw}@{host}:6379/{g.rng.randint(0, 5)}"
    if r < 0.78:
        return f"amqp://{user}:{pw}@{host}:5672/{g.rng.choice(('%2F', 'prod', 'jobs'))}"
    if r < 0.9:
        return (f"Server=tcp:{host},1433;Initial Catalog={db};User ID={user};Password={pw};"
                f"Encrypt=True;Connection Timeout=30;")
    return f"jdbc:postgresql://{host}:5432/{db}?user={user}&password={pw}&ssl=true"


def url_with_password(g: Gen) -> tuple[str, str, str]:
    """(before, password, after) of a ``scheme://user:password@host/...`` URL that is not a
    database DSN: git remotes, package indexes, SMTP and FTP."""
    f = g.fake("en_US")
    user = g.rng.choice((f.user_name(), "deploy", "ci", "build-bot", "admin", "oauth2"))
    pw = password(g, url_safe=True)
    host = f.domain_name()
    before, after = g.rng.choice((
        (f"https://{user}:", f"@git.{host}/{f.word()}/{f.word()}.git"),
        (f"https://{user}:", f"@nexus.{host}/repository/pypi/simple"),
        (f"smtp://{user}:", f"@smtp.{host}:587"),
        (f"ftp://{user}:", f"@ftp.{host}/incoming/"),
        (f"https://{user}:", f"@{host}/api/v2/"),
        (f"http://{user}:", f"@proxy.{host}:3128"),
    ))
    return before, pw, after


GENERATORS: dict[str, Callable[[Gen], str]] = {
    "EMAIL_ADDRESS": email,
    "PHONE_NUMBER": phone,
    "CREDIT_CARD_NUMBER": credit_card,
    "IBAN_CODE": iban_code,
    "SWIFT_CODE": swift_code,
    "US_BANK_ROUTING_MICR": routing_number,
    "IP_ADDRESS": ip_address,
    "DATE_OF_BIRTH": date_of_birth,
    "US_SOCIAL_SECURITY_NUMBER": us_ssn,
    "US_INDIVIDUAL_TAXPAYER_IDENTIFICATION_NUMBER": us_itin,
    "US_EMPLOYER_IDENTIFICATION_NUMBER": us_ein,
    "US_PASSPORT": us_passport,
    "US_DRIVERS_LICENSE_NUMBER": us_drivers_license,
    "UK_NATIONAL_INSURANCE_NUMBER": uk_nino,
    "UK_NATIONAL_HEALTH_SERVICE_NUMBER": uk_nhs,
    "CANADA_SOCIAL_INSURANCE_NUMBER": canada_sin,
    "FRANCE_NIR": france_nir,
    "GERMANY_TAXPAYER_IDENTIFICATION_NUMBER": germany_idnr,
    "SPAIN_DNI_NUMBER": spain_dni,
    "SPAIN_NIE_NUMBER": spain_nie,
    "ITALY_FISCAL_CODE": italy_cf,
    "NETHERLANDS_BSN_NUMBER": netherlands_bsn,
    "INDIA_AADHAAR_INDIVIDUAL": india_aadhaar,
    "INDIA_PAN_INDIVIDUAL": india_pan,
    "BRAZIL_CPF_NUMBER": brazil_cpf,
    "POLAND_PESEL_NUMBER": poland_pesel,
    "US_HEALTHCARE_NPI": npi,
    "US_DEA_NUMBER": dea_number,
    "MEDICAL_RECORD_NUMBER": medical_record_number,
    "PASSWORD": password,
    "AWS_CREDENTIALS": aws_credentials,
    "AZURE_AUTH_TOKEN": azure_auth_token,
    "AZURE_STORAGE_KEY": azure_storage_key,
    "GCP_API_KEY": gcp_api_key,
    "GCP_CREDENTIALS": gcp_service_account,
    "ENCRYPTION_KEY": private_key,
    "JSON_WEB_TOKEN": json_web_token,
    "BASIC_AUTH_HEADER": basic_auth,
    "HTTP_COOKIE": http_cookie,
    "DATABASE_CONNECTION_STRING": database_connection_string,
    "GITHUB_TOKEN": github_token,
    "GITLAB_TOKEN": gitlab_token,
    "SLACK_TOKEN": slack_token,
    "SLACK_WEBHOOK": slack_webhook,
    "STRIPE_API_KEY": stripe_key,
    "OPENAI_API_KEY": openai_key,
    "ANTHROPIC_API_KEY": anthropic_key,
    "SENDGRID_API_KEY": sendgrid_key,
    "NPM_TOKEN": npm_token,
    "TWILIO_API_KEY": twilio_key,
    "HUGGINGFACE_TOKEN": huggingface_token,
    "DATABRICKS_TOKEN": databricks_token,
}

INFOTYPES: tuple[str, ...] = tuple(GENERATORS)
MULTILINE = frozenset({"GCP_CREDENTIALS", "ENCRYPTION_KEY"})
