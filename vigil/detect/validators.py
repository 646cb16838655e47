"""Validators that rules reference by name (``validator:`` in the rule YAML).

A validator receives the matched value and returns ``True`` (keep), ``False`` (drop) or an
``int`` likelihood adjustment (keep, shifted by that many levels). Checksums come from
``python-stdnum`` where it has the scheme; phone numbers are checked with ``phonenumbers`` on the
candidate span only. Validators named in ``REGIONAL_VALIDATORS`` also receive the regions to read
national numbers in: the configured ``phone_regions`` first, then those of the document's
language (``vigil.detect.language``).
"""

from __future__ import annotations

import base64
import binascii
import datetime as _dt
import ipaddress
import json
import re
import threading
import zlib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Callable

import phonenumbers
from stdnum import bic, iban, luhn
from stdnum.br import cnpj, cpf
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

from vigil.detect.tlds import top_level_domains
from vigil.yamldata import load_data_yaml

_hs: Any
try:
    import hyperscan as _hs
except ImportError:  # pragma: no cover - exercised on machines without the wheel
    _hs = None

# A national phone number is read in up to ~25 regions, and libphonenumber compiles each region's
# metadata patterns with re.compile: together they overflow re's own cache (512 patterns), after
# which every phone check recompiled patterns (most of its cost). phonenumbers' own switch keeps
# them compiled (process-wide, bounded by its metadata; 9.0.43 has it).
_keep_phone_patterns = getattr(phonenumbers, "enable_pattern_cache", None)
if _keep_phone_patterns is not None:
    _keep_phone_patterns()

Validator = Callable[..., "bool | int"]
"""A validator returns True (valid), False (invalid) or a negative int (valid, that many
likelihood steps less likely). Read a verdict by value (``not verdict``, ``verdict > 0``,
``min(int(verdict), 0)``), never by identity (``is False``): compiled (vigil.detect.native),
``bool | int`` is an int, and True and False arrive as 1 and 0."""
VALIDATORS: dict[str, Validator] = {}
REGIONAL_VALIDATORS: set[str] = set()
"""Validators called as ``fn(value, regions)``."""

_NON_DIGITS = re.compile(r"[^0-9]")
_DIGITS_RE = re.compile(r"[0-9]")
_ISO_DATE = re.compile(r"^(\d{4})([-/])(\d{2})\2(\d{2})$")
_SLASH_DATE = re.compile(r"^(\d{1,2})([-/])(\d{1,2})\2(\d{4})$")
_DOT_DATE = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")
_MONTH_FIRST = re.compile(r"^([A-Za-z]+)\.? (\d{1,2}),? (\d{4})$")
_DAY_FIRST = re.compile(r"^(\d{1,2})([ -])([A-Za-z]+)\.?,?\2(\d{4})$")


def validator(name: str, regional: bool = False) -> Callable[[Validator], Validator]:
    """Register a validator under ``name`` for rules to reference (``regional``: it takes the
    regions as a second argument)."""
    def register(fn: Validator) -> Validator:
        VALIDATORS[name] = fn
        if regional:
            REGIONAL_VALIDATORS.add(name)
        return fn
    return register


def check_regions(regions) -> tuple[str, ...]:  # noqa: ANN001 - any iterable of codes
    """Upper-cased ISO 3166 region codes that libphonenumber knows; ``ValueError`` otherwise."""
    if isinstance(regions, str):
        regions = [regions]
    out = []
    for region in regions:
        code = str(region).strip().upper()
        if code not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(f"unknown phone region {region!r}; expected an ISO 3166 code such as US, GB, DE")
        if code not in out:
            out.append(code)
    return tuple(out)


def digits(value: str) -> str:
    """The value's digits only."""
    return _NON_DIGITS.sub("", value)


def _stdnum(module) -> Validator:  # noqa: ANN001 - any stdnum module with is_valid()
    def check(value: str) -> bool:
        number = digits(value)
        if number and len(set(number)) == 1:  # 111.111.111-11 and friends pass some checksums
            return False
        return bool(module.is_valid(value.replace(".", "") if module is not cpf and module is not cnpj else value))
    return check


# ----------------------------------------------------------------------------------- payment cards

# Not next to this file: compiled (vigil.detect.native), this module is loaded from the build directory.
CARD_BRANDS_FILE = Path(str(resources.files("vigil.detect") / "card_brands.yaml"))


@dataclass(frozen=True)
class CardBrand:
    """One row of ``card_brands.yaml``: a brand, its IIN prefix ranges as ``(low, high)`` digit
    strings of equal length, and the card lengths it issues."""

    brand: str
    ranges: tuple[tuple[str, str], ...]
    lengths: frozenset[int]


def _card_lengths(items: object, where: str) -> frozenset[int]:
    out: set[int] = set()
    for item in items if isinstance(items, list) else [items]:
        text = str(item)
        low, _, high = text.partition("-")
        if not low.isdigit() or (high and not high.isdigit()):
            raise ValueError(f"{where}: length {item!r} is not a number or low-high")
        out.update(range(int(low), int(high or low) + 1))
    if not out or min(out) < 8 or max(out) > 19:
        raise ValueError(f"{where}: card lengths must lie between 8 and 19")
    return frozenset(out)


def _card_range(item: object, where: str) -> tuple[str, str]:
    low, _, high = str(item).partition("-")
    high = high or low
    if not (low.isdigit() and high.isdigit() and len(low) == len(high) and low <= high):
        raise ValueError(f"{where}: range {item!r} must be a prefix or low-high with bounds of equal length")
    return low, high


@lru_cache(maxsize=None)
def card_brands(path: Path = CARD_BRANDS_FILE) -> tuple[CardBrand, ...]:
    """The brand table of ``card_brands.yaml``, read once (``ValueError`` naming the row when it
    is malformed)."""
    data = load_data_yaml(path.read_text(encoding="utf-8"))
    rows = data.get("brands") if isinstance(data, dict) else None
    if not isinstance(rows, list) or not rows:
        raise ValueError(f"{path.name}: expected a non-empty 'brands' list")
    out = []
    for i, row in enumerate(rows):
        where = f"{path.name}: brands[{i}]"
        if not isinstance(row, dict) or set(row) != {"brand", "ranges", "lengths"}:
            raise ValueError(f"{where}: a row has exactly brand, ranges and lengths")
        ranges = row["ranges"] if isinstance(row["ranges"], list) else [row["ranges"]]
        out.append(CardBrand(str(row["brand"]), tuple(_card_range(r, where) for r in ranges),
                             _card_lengths(row["lengths"], where)))
    return tuple(out)


@lru_cache(maxsize=None)
def _card_index() -> dict[int, tuple[tuple[int, dict[str, tuple[int, str]]], ...]]:
    """``card_brands()`` by number length, then prefix width: prefix digits -> (row order,
    brand), so that a lookup costs one dict probe per width instead of a walk over the table."""
    index: dict[int, dict[int, dict[str, tuple[int, str]]]] = {}
    for order, row in enumerate(card_brands()):
        for low, high in row.ranges:
            width = len(low)
            for size in row.lengths:
                heads = index.setdefault(size, {}).setdefault(width, {})
                for head in range(int(low), int(high) + 1):
                    heads.setdefault(str(head).zfill(width), (order, row.brand))
    return {size: tuple(sorted(by_width.items())) for size, by_width in index.items()}


def card_brand(number: str) -> str | None:
    """The brand whose IIN range and length table admit ``number`` (digits only), or ``None``
    (the first such row of ``card_brands.yaml``)."""
    best = None
    for width, heads in _card_index().get(len(number), ()):
        hit = heads.get(number[:width])
        if hit is not None and (best is None or hit < best):
            best = hit
    return best[1] if best is not None else None


@validator("payment_card")
def payment_card(value: str) -> bool | int:
    """Luhn plus brand IIN ranges and lengths; consistent grouping. A 12-digit number (Maestro
    only), one made of one or two repeated digits, or a UATP number that is also a valid French
    NIR needs more than its shape."""
    number = digits(value)
    brand = card_brand(number)
    if brand is None or not luhn.is_valid(number):
        return False
    separators = set(_DIGITS_RE.sub("", value))
    if len(separators) > 1:
        return False
    if len(set(number[1:])) <= 2:
        return -3
    if len(number) == 12:
        return -2
    if brand == "uatp" and nir.is_valid(number):
        # UATP's "1" and 15 digits also admit every French NIR of a man; one in ten is
        # Luhn-valid too. An airline card that passes NIR's mod-97 key by chance is rarer.
        return -2
    return True


# ---------------------------------------------------------------------------------- US numbers

_SSN_SHAPE = re.compile(r"^\d{3}([- ]?)\d{2}\1\d{4}$")


@validator("us_ssn")
def us_ssn(value: str) -> bool:
    """Area/group/serial structure (no 000, 666, 9xx, 00, 0000), known advertised numbers."""
    if not _SSN_SHAPE.match(value):
        return False
    return bool(ssn.is_valid(digits(value)))


@validator("us_itin")
def us_itin(value: str) -> bool:
    """9XX-GG-SSSS (or nine plain digits) with the IRS group ranges."""
    if not (_SSN_SHAPE.match(value) or (len(value) == 9 and value.isdigit())):
        return False
    return bool(itin.is_valid(digits(value)))


@validator("us_ein")
def us_ein(value: str) -> bool:
    """Employer identification number with a known campus prefix."""
    return bool(ein.is_valid(value))


@validator("aba_routing")
def aba_routing(value: str) -> bool:
    """ABA routing number: 3-7-1 weighted checksum and a Federal Reserve prefix."""
    number = digits(value)
    return bool(rtn.is_valid(number)) and int(number[:2]) in _ABA_PREFIXES


_ABA_PREFIXES = frozenset(list(range(0, 13)) + list(range(21, 33)) + list(range(61, 73)) + [80])


@validator("us_npi")
def us_npi(value: str) -> bool:
    """National Provider Identifier: Luhn over the ``80840`` prefix."""
    number = digits(value)
    return len(number) == 10 and number[0] in "12" and luhn.is_valid("80840" + number)


@validator("us_dea")
def us_dea(value: str) -> bool:
    """DEA registration: two letters, six digits and the weighted check digit."""
    d = [int(c) for c in value[2:]]
    if len(d) != 7:
        return False
    return (d[0] + d[2] + d[4] + 2 * (d[1] + d[3] + d[5])) % 10 == d[6]


# ------------------------------------------------------------------------ international numbers

validator("iban")(lambda value: bool(iban.is_valid(value)))
validator("swift_bic")(lambda value: bool(bic.is_valid(value)))
validator("ca_sin")(_stdnum(sin))
validator("fr_nir")(_stdnum(nir))
validator("de_idnr")(_stdnum(idnr))
validator("es_dni")(_stdnum(dni))
validator("es_nie")(_stdnum(nie))
validator("it_codice_fiscale")(_stdnum(codicefiscale))
validator("nl_bsn")(_stdnum(bsn))
validator("in_aadhaar")(_stdnum(aadhaar))
validator("br_cpf")(_stdnum(cpf))
validator("br_cnpj")(_stdnum(cnpj))
validator("pl_pesel")(_stdnum(pesel))
validator("uk_nhs")(_stdnum(nhs))


@validator("in_pan_individual")
def in_pan_individual(value: str) -> bool:
    """Indian PAN whose fourth letter marks an individual (``P``)."""
    return bool(pan.is_valid(value)) and value[3] == "P"


@validator("in_pan")
def in_pan(value: str) -> bool | int:
    """Indian PAN of any holder type (fourth letter ``ABCFGHJLPT``, serial not ``0000``): an
    individual's (``P``) as is, a firm's, trust's, company's or family's (HUF) two levels lower,
    so it needs a PAN keyword."""
    if not pan.is_valid(value):
        return False
    return True if value[3] in "Pp" else -2


_NINO = re.compile(r"^([A-CEGHJ-PR-TW-Z])([A-CEGHJ-NPR-TW-Z]) ?\d{2} ?\d{2} ?\d{2} ?[A-D]$")
_NINO_BAD_PREFIXES = frozenset({"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"})


@validator("uk_nino")
def uk_nino(value: str) -> bool:
    """UK National Insurance number: HMRC letter rules and excluded prefixes."""
    m = _NINO.match(value.upper())
    return m is not None and (m.group(1) + m.group(2)) not in _NINO_BAD_PREFIXES


# ----------------------------------------------------------------------------- contact details

_FALLBACK_REGIONS = ("GB", "DE", "FR", "ES", "IT", "NL", "BE", "AT", "CH", "PT", "PL", "SE", "IN", "BR",
                     "MX", "AR", "JP", "AU", "CA", "US", "IE", "DK", "NO", "FI", "CZ", "SK", "HU", "RO",
                     "GR", "TR", "KR", "CN", "SG", "NZ", "ZA", "IL", "AE", "CO", "CL")
"""Regions a national number is tried in when the configured ones and the document's language
do not validate it (the languages of the phone formats vigil sees most)."""
_DATE_LIKE = re.compile(r"\d{1,4}([./-])\d{1,2}\1\d{1,4}")
_IP_LIKE = re.compile(r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}")
"""An IPv4 address (``10.20.30.40``; ``08.12.34.93`` with its leading zero is a Swedish phone number)."""
_AMOUNT_LIKE = re.compile(r"\d{1,3}(?:[ .,]\d{3})+[.,]\d{2}|\d+[.,]\d{2}")
"""``45 272.26``, ``1.234.567,89``: an amount with decimals, not a phone number."""
_POSTCODE_LIKE = re.compile(r"\d{4,5}-\d{3}")
"""``8900-551`` (Portugal), ``49300-096`` (Brazil): a postal code, not a phone number."""


def _parse_valid(value: str, region: str | None, possible: bool = True) -> bool | None:
    """True: valid there; None: possible only; False: neither (or unparsable). Without
    ``possible``, only validity is asked (False for a merely possible number)."""
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        return False
    if phonenumbers.is_valid_number(number):
        return True
    if not possible:
        return False
    return None if phonenumbers.is_possible_number(number) else False


@validator("phone", regional=True)
def phone(value: str, regions: tuple[str, ...] = ("US",)) -> bool | int:
    """Valid per libphonenumber. International form (``+``/``00``) is parsed as written; a
    national form is read in the configured regions (first the default region), then in any
    region: valid only elsewhere -1, merely possible -2."""
    text = value.strip()
    if text.startswith("00"):
        text = "+" + text[2:]
    if text.startswith("+"):
        verdict = _parse_valid(text, None)
        return True if verdict else (-2 if verdict is None else False)
    possible = False
    for region in regions:
        verdict = _parse_valid(text, region)
        if verdict:
            return True
        possible = possible or verdict is None
    for region in _FALLBACK_REGIONS:
        if region not in regions and _parse_valid(text, region, False):
            return -1
    return -2 if possible else False


@validator("phone_nanp")
def phone_nanp(value: str) -> bool | int:
    """A North American Numbering Plan number (US, Canada, Caribbean) in national form."""
    for region in ("US", "CA"):
        if _parse_valid(value, region, False):
            return True
    return False


@validator("phone_national", regional=True)
def phone_national(value: str, regions: tuple[str, ...] = ("US",)) -> bool | int:
    """A phone number written without a country code (``046 851 4339``, ``(47) 2779-8563``,
    ``03.93.92.16.85``, ``699 656 240``, ``0612345678``): 7 to 15 digits, not shaped like a
    date, an IPv4 address, an amount or a postal code, valid per libphonenumber in one of
    ``regions`` (True) or in another region (-1)."""
    number = digits(value)
    if not 7 <= len(number) <= 15 or len(set(number)) <= 2:
        return False
    text = value.strip()
    if (_DATE_LIKE.fullmatch(text) or _IP_LIKE.fullmatch(text) or _AMOUNT_LIKE.fullmatch(text)
            or _POSTCODE_LIKE.fullmatch(text)):
        return False
    for region in regions:
        if _parse_valid(text, region, False):
            return True
    for region in _FALLBACK_REGIONS:
        if region not in regions and _parse_valid(text, region, False):
            return -1
    return False


@validator("ipv4")
def ipv4(value: str) -> bool | int:
    """Well-formed IPv4; loopback, unspecified, netmasks, multicast and documentation ranges
    dropped. Private (RFC 1918) addresses count like public ones (the rule's severity is low);
    a public-looking address whose parts are all small (``3.10.2.1``) reads like a version or an
    OID, so it needs a network word (-1); one in the X.500 or internet OID arcs (``2.5.4.3``) is
    taken for the OID (-3)."""
    try:
        ip = ipaddress.IPv4Address(value)
    except ValueError:
        return False
    if any(len(part) > 1 and part[0] == "0" for part in value.split(".")):
        return False
    if ip.is_loopback or ip.is_unspecified or ip.is_multicast or ip.is_reserved or ip.is_link_local:
        return False
    if value.startswith("255.") or value.endswith(".255") or value.endswith(".0"):
        return False
    if ip in _DOC_NETS or value in _WELL_KNOWN_IPS:
        return False
    octets = [int(p) for p in value.split(".")]
    if len(set(octets)) == 1 or all(b - a == 1 for a, b in zip(octets, octets[1:])):
        return False  # 1.1.1.1-style and 1.2.3.4-style example addresses
    if value.startswith(_OID_ARCS):
        return -3  # X.500 attribute and extension OIDs (2.5.4.3 commonName, 2.5.29.17 subjectAltName)
    if ip.is_private:
        return True
    if max(octets) <= 20:
        return -1
    return True


_OID_ARCS = ("2.5.4.", "2.5.6.", "2.5.29.", "1.3.6.1")
"""Object identifiers of the X.500 directory (attribute types, object classes, certificate
extensions) and the internet arc: four small numbers like an address, common in TLS and LDAP
text. Not reported even next to an address word ("client", "host" are everywhere in code)."""
_WELL_KNOWN_IPS = frozenset({"8.8.8.8", "8.8.4.4", "1.1.1.1", "1.0.0.1", "9.9.9.9", "149.112.112.112",
                             "208.67.222.222", "208.67.220.220"})
"""Public DNS resolvers: infrastructure, not anyone's address."""


class _Nets:
    def __init__(self, *cidrs: str) -> None:
        self.nets = [ipaddress.ip_network(c) for c in cidrs]

    def __contains__(self, ip: object) -> bool:
        return any(ip in net for net in self.nets)


_DOC_NETS = _Nets("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32")


@validator("ipv6")
def ipv6(value: str) -> bool | int:
    """Well-formed IPv6 with at least four written groups (three when compressed and the first
    is a full global-unicast or unique-local group, ``2a01:e35::2``); loopback, unspecified,
    link-local, multicast and documentation addresses dropped."""
    try:
        ip = ipaddress.IPv6Address(value)
    except ValueError:
        return False
    groups = [g for g in value.split(":") if g]
    if len(groups) < 3 or ip.is_loopback or ip.is_unspecified or ip in _DOC_NETS:
        return False
    if len(groups) == 3 and not ("::" in value and len(groups[0]) == 4 and groups[0][0] in "23fF"):
        return False
    if ip.is_link_local or ip.is_multicast or all(g.isdigit() and len(g) == 1 for g in groups[:4]):
        return False
    if all(g.isdigit() and len(g) <= 2 for g in groups) and len(groups) < 8:
        return False  # 10:30:45::1 and other clock or ratio shapes
    return True


_MONTHS = {m: i for i, m in enumerate(("january", "february", "march", "april", "may", "june",
           "july", "august", "september", "october", "november", "december"), start=1)}


def _month(word: str) -> int:
    word = word.lower()
    for name, number in _MONTHS.items():
        if len(word) >= 3 and name.startswith(word):
            return number
    return 0


@validator("date_of_birth")
def date_of_birth(value: str) -> bool:
    """A real calendar date between 1900 and today in ISO (``-`` or ``/``), US or European
    (``/``, ``-`` or ``.``) or month-name notation (``March 5, 1990``, ``5 March 1990``, ``05-Mar-1990``)."""
    text = value.strip()
    today = _dt.date.today()
    candidates: list[tuple[int, int, int]] = []
    m = _ISO_DATE.match(text)
    if m:
        candidates.append((int(m[1]), int(m[3]), int(m[4])))
    m = _SLASH_DATE.match(text)
    if m:
        candidates += [(int(m[4]), int(m[1]), int(m[3])), (int(m[4]), int(m[3]), int(m[1]))]
    m = _DOT_DATE.match(text)
    if m:
        candidates.append((int(m[3]), int(m[2]), int(m[1])))
    m = _MONTH_FIRST.match(text)
    if m and _month(m[1]):
        candidates.append((int(m[3]), _month(m[1]), int(m[2])))
    m = _DAY_FIRST.match(text)
    if m and _month(m[3]):
        candidates.append((int(m[4]), _month(m[3]), int(m[1])))
    for year, month, day in candidates:
        try:
            date = _dt.date(year, month, day)
        except ValueError:
            continue
        if 1900 <= year and date <= today:
            return True
    return False


_ICD10 = re.compile(r"^[A-TV-Z][0-9][0-9A-Z](?:\.[0-9A-Z]{1,4})?$")


@validator("icd10")
def icd10(value: str) -> bool:
    """ICD-10(-CM) code shape: letter (not U), digit, alphanumeric, optional 1-4 char suffix."""
    return bool(_ICD10.match(value))


# -------------------------------------------------------------------------------- credentials

_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def _base62(n: int, width: int) -> str:
    out = ""
    while n:
        n, r = divmod(n, 62)
        out = _BASE62[r] + out
    return out.rjust(width, "0")


@validator("crc32_token")
def crc32_token(value: str) -> bool:
    """GitHub/npm token format: prefix ``_`` then 30 random base62 chars and a 6-char base62
    CRC32 of them."""
    body = value.split("_", 1)[1]
    if len(body) != 36:
        return False
    random_part, check = body[:30], body[30:]
    return _base62(zlib.crc32(random_part.encode()) & 0xFFFFFFFF, 6) == check


def _b64url_decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


@validator("jwt")
def jwt(value: str) -> bool:
    """Header and payload are base64url JSON objects and the header names an ``alg``."""
    parts = value.split(".")
    if len(parts) != 3:
        return False
    try:
        header = json.loads(_b64url_decode(parts[0]))
        payload = json.loads(_b64url_decode(parts[1]))
    except (ValueError, binascii.Error):
        return False
    return isinstance(header, dict) and "alg" in header and isinstance(payload, dict)


_PEM_BEGIN = re.compile(r"-----BEGIN [A-Z0-9 ]+-----")
_PEM_HEADERS = re.compile(r"^[A-Za-z-]+: .*$", re.M)


_STRING_ESCAPE = re.compile(r"\\+([nrt/])")
_UNESCAPED = {"n": "\n", "r": "\r", "t": "\t"}


def unescape(value: str) -> str:
    """``value`` with the escapes of a string literal undone: ``\\n``, ``\\r``, ``\\t`` and JSON's
    ``\\/``, also when the string was escaped twice (JSON inside a JSON string: ``\\\\n``)."""
    if "\\" not in value:
        return value
    if "\\\\" not in value:  # single backslashes only: plain replacements, no call per escape
        return value.replace("\\n", "\n").replace("\\r", "\r").replace("\\t", "\t").replace("\\/", "/")
    return _STRING_ESCAPE.sub(lambda m: _UNESCAPED.get(m.group(1), m.group(1)), value)


@validator("pem_private_key")
def pem_private_key(value: str) -> bool:
    """The armour body is base64 of at least 64 bytes; newlines and slashes may be written as
    string escapes (a key inside a JSON string, or a JSON document inside another one)."""
    text = unescape(value)
    # The body runs from the BEGIN line to the first END (a lazy regex over a 1.6 kB key cost
    # more than the rest of the check together).
    m = _PEM_BEGIN.search(text)
    if m is None:
        return False
    end = text.find("-----END", m.end())
    if end < 0:
        return False
    body = text[m.end():end]
    if ": " in body:  # RFC 1421 header lines (Proc-Type: 4,ENCRYPTED)
        body = _PEM_HEADERS.sub("", body)
    body = "".join(body.split())
    if len(body) < 64 or _NOT_BASE64.search(body):
        return False
    try:
        raw = base64.b64decode(body + "=" * (-len(body) % 4))
    except (ValueError, binascii.Error):
        return False
    # Varied bytes: most keys show it in their first 64 (a set of all of them cost 13 us).
    return len(raw) >= 48 and (len(set(raw[:64])) > 16 or len(set(raw)) > 16)


_NOT_BASE64 = re.compile(r"[^A-Za-z0-9+/=]")
_BODY_RUN = re.compile(r"(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{40,}")


@validator("private_key_start")
def private_key_start(value: str) -> bool:
    """The first body line after a private key's BEGIN line decodes to varied bytes (a key split
    into code strings or log lines, or cut off): at least 40 base64 characters, not a placeholder
    and not a run of a few byte values (``AAAA…``)."""
    m = _BODY_RUN.search(value, value.find("-----", 5) + 5)
    if m is None or is_placeholder(m.group()):
        return False
    run = m.group()[:len(m.group()) // 4 * 4]
    try:
        raw = base64.b64decode(run)
    except (ValueError, binascii.Error):
        return False
    return len(set(raw)) > 16

_BASIC = re.compile(r"Basic\s+([A-Za-z0-9+/=]+)", re.I)


def _user_password(token: str, padded: bool = False) -> tuple[str, str] | None:
    """``(user, password)`` when ``token`` is base64 of printable ``user:password`` (``padded``:
    the token must have its full ``=`` padding, as every encoder writes it)."""
    if padded and len(token) % 4:
        return None
    try:
        decoded = base64.b64decode(token + "=" * (-len(token) % 4), validate=True).decode("utf-8")
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None
    user, sep, password = decoded.partition(":")
    if not sep or not password or not decoded.isprintable():
        return None
    return user, password


_DOC_BASIC = frozenset({("Aladdin", "open sesame"), ("Aladdin", "OpenSesame")})
"""The credentials of RFC 7617 and RFC 2617's examples."""


@validator("basic_auth")
def basic_auth(value: str) -> bool:
    """The Basic credential decodes to printable ``user:password`` (not the RFC's example)."""
    m = _BASIC.search(value)
    if not m:
        return False
    pair = _user_password(m.group(1))
    return pair is not None and pair not in _DOC_BASIC


_QUERY_PASSWORD = re.compile(r"(?i)[?&;](?:password|passwd|pwd)=([^&;\s]*)")


@validator("url_query_password")
def url_query_password(value: str) -> bool:
    """A database URL whose ``password=`` query parameter (JDBC's ``?user=…&password=…``) holds a
    literal password, not a template or placeholder."""
    m = _QUERY_PASSWORD.search(value)
    if not m:
        return False
    password = m.group(1)
    return len(password) >= 3 and not is_placeholder(password) and not (password.isdigit() and len(password) <= 5)


_USER = re.compile(r"[\w.@+-]{1,64}")


@validator("basic_auth_token")
def basic_auth_token(value: str) -> bool:
    """A bare Basic credential (written without ``Authorization: Basic``, e.g. "my auth header
    is …"): padded base64 of ``user:password`` with a login-shaped user, a password of 4+
    characters that is not a placeholder, and not the RFC's example."""
    pair = _user_password(value, padded=True)
    if pair is None:
        return False
    user, password = pair
    return (_USER.fullmatch(user) is not None and len(password) >= 4 and not is_placeholder(password)
            and pair not in _DOC_BASIC)


@validator("aws_access_key_id")
def aws_access_key_id(value: str) -> bool:
    """AWS key ids are base32 after the 4-letter prefix; sequences and repeats are not keys."""
    tail = value[4:]
    return len(set(tail)) >= 8


@validator("random_base64")
def random_base64(value: str) -> bool:
    """A generated base64 secret (an AWS secret access key, an Azure storage key): upper case,
    lower case and digits all present, many distinct characters, not hexadecimal, not a word
    sequence or placeholder."""
    body = value.rstrip("=")
    if is_placeholder(body) or _LOWER_HEX.fullmatch(body.lower()):
        return False
    return (_UPPER.search(body) is not None and _LOWER.search(body) is not None
            and _DIGIT.search(body) is not None and len(set(body)) >= min(16, len(body) // 2))


# ------------------------------------------------------------------------ placeholders, generics

_PLACEHOLDER_PARTS = ("example", "xxxx", "***", "...", "\u2026", "${", "{{", "%(", "your", "changeme",
                      "placeholder", "dummy", "sample", "redacted", "insert-", "insert_", "insert ",
                      "replaceme", "replace-me", "replace_me", "fake", "123456789", "abcdefgh", "qwerty")
_PLACEHOLDER_PART = re.compile("|".join(map(re.escape, _PLACEHOLDER_PARTS)))
_PLACEHOLDER_VALUES = frozenset({"secret", "password", "passw0rd", "p@ssw0rd", "pass", "admin", "test",
                                 "none", "null", "true", "false", "undefined"})
_ANGLED = re.compile(r"<[^>]*>")
_SHORT_RUN = 6
_LONG_RUN = 20
_LONG_VALUE = 64
"""From this length on a value is a key body (PEM, OpenSSH): a run of six ``A`` is part of the
encoding there (``AAAAAAAAAAB`` in every OpenSSH key), so only a run of twenty is filler; in a
shorter value a run of six is."""


def has_long_run(value: str, length: int = _LONG_RUN) -> bool:
    """Whether ``value`` holds ``length`` equal non-blank characters in a row. The bytes of the
    value XOR-ed with themselves shifted by one are zero where a character repeats, so a run is
    a run of zero bytes, found by a substring search: on a 1.7 kB key body ~20 times quicker
    than the regex ``(\\S)\\1{19}``, which tries a group and a backreference at every position."""
    data = value.encode("latin-1", "replace")  # one byte per character; the check below reads the text
    n = len(data)
    if n < length:
        return False
    same = (int.from_bytes(data[:-1], "big") ^ int.from_bytes(data[1:], "big")).to_bytes(n - 1, "big")
    zeros = bytes(length - 1)
    i = same.find(zeros)
    while i >= 0:
        c = value[i]
        if not c.isspace() and value.startswith(c * length, i):
            return True
        i = same.find(zeros, i + 1)
    return False


_ENV_START = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ_")
_FORMAT_FIELD = re.compile(r"\{[A-Za-z_0-9][\w.\[\]]*(?:![rsa])?\}$")
"""A ``str.format`` or f-string field: a name, index or attribute chain in braces."""


_PARTS_SCRATCH = threading.local()  # Hyperscan scratch space, one per thread


@lru_cache(maxsize=None)
def _parts_database() -> Any:
    """``_PLACEHOLDER_PARTS`` as one Hyperscan literal set (None without the hyperscan wheel)."""
    if _hs is None:  # pragma: no cover - machines without the wheel
        return None
    db = _hs.Database(mode=_hs.HS_MODE_BLOCK)
    db.compile(expressions=[re.escape(part).encode("utf-8") for part in _PLACEHOLDER_PARTS],
               ids=list(range(len(_PLACEHOLDER_PARTS))), flags=[_hs.HS_FLAG_SINGLEMATCH] * len(_PLACEHOLDER_PARTS))
    return db


def _holds_placeholder_part(low: str) -> bool:
    """Whether ``low`` contains one of ``_PLACEHOLDER_PARTS``: one Hyperscan pass (24 substring
    searches cost 8 us on a 1.6 kB key, the pass under 1 us), else the substring searches."""
    db = _parts_database()
    if db is None:  # pragma: no cover - machines without the wheel
        return any(part in low for part in _PLACEHOLDER_PARTS)
    scratch = getattr(_PARTS_SCRATCH, "scratch", None)
    if scratch is None:
        scratch = _PARTS_SCRATCH.scratch = _hs.Scratch(db)
    hits: list[int] = []
    db.scan(low.encode("utf-8", "replace"), lambda *_: hits.append(1), scratch=scratch)
    return bool(hits)


def is_placeholder(value: str) -> bool:
    """Whether ``value`` looks like a template, redaction or documentation example: ``EXAMPLE``,
    ``xxxx``, ``***``, ``<your-key>``, ``${VAR}``, ``{{ secret }}``, ``%(name)s``, ``changeme``,
    sequences such as ``123456789``, a format field (``{attrs[2]}``, ``{user.password}``) and
    runs of one character (six in a short value, twenty in a key body)."""
    low = value.lower()
    if low in _PLACEHOLDER_VALUES:
        return True
    # The alternation is quicker on short values, one literal pass on long ones (PEM bodies).
    if _PLACEHOLDER_PART.search(low) is not None if len(low) <= 80 else _holds_placeholder_part(low):
        return True
    if value[:1] == "$" and value[1:2] in _ENV_START:
        return True
    if value[:1] == "{" and _FORMAT_FIELD.match(value):
        return True
    if "<" in value and _ANGLED.search(value):
        return True
    # Blanks never count as a run: an indented key in a YAML block has runs of spaces.
    return has_long_run(value, _LONG_RUN if len(value) >= _LONG_VALUE else _SHORT_RUN)


_URL_USERINFO = re.compile(r"://([^:/@\s]*(?:@[^:/@\s]*)?):([^@\s]*)@")  # a user may be an e-mail address
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_DOTTED = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)+$")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


_LOWER = re.compile(r"[a-z]")
_UPPER = re.compile(r"[A-Z]")
_DIGIT = re.compile(r"[0-9]")
_OTHER = re.compile(r"[^A-Za-z0-9]")


def _classes(value: str) -> int:
    """How many of lower case, upper case, digits and other characters ``value`` mixes (ASCII
    classes; a non-ASCII letter counts as other)."""
    return ((_LOWER.search(value) is not None) + (_UPPER.search(value) is not None)
            + (_DIGIT.search(value) is not None) + (_OTHER.search(value) is not None))


_PROVIDER_TOKEN = re.compile(r"(?:gh[pousr]_|github_pat_|gl(?:pat|dt|ptt|rt)-|xox[a-z]-|[sr]k_(?:live|test)_|"
                             r"npm_|hf_|pypi-|dapi[0-9a-f]|SG\.|sk-|glsa_|eyJ)")
"""Prefixes of tokens that their own rules report (GitHub, GitLab, Slack, Stripe, npm, Hugging
Face, PyPI, Databricks, SendGrid, OpenAI/Anthropic, Grafana, JWT)."""


@validator("url_password")
def url_password(value: str) -> bool:
    """The password inside ``scheme://user:password@host`` is not a template, port or example,
    nor a provider token (``https://x-access-token:ghs_…@github.com``: the token's own rule
    reports it under its own infoType)."""
    m = _URL_USERINFO.search(value)
    if not m:
        return False
    user, password = m.group(1), m.group(2)
    if is_placeholder(password) or is_placeholder(user) and user.lower() not in ("admin",):
        return False
    if _PROVIDER_TOKEN.match(password):
        return False
    if password.isdigit() and len(password) <= 5:
        return False
    return len(password) >= 3


_CODE_CHARS = re.compile(r"[\w.()\[\]:-]+")
_CALL = re.compile(r"(?:^|[^\w.])(?:[a-z_]{2,}[a-z0-9_]*|[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+)[(\[]"
                   r"|^(?:[A-Za-z_][a-z0-9_]*|[A-Z][A-Z0-9_]*)[(\[][a-z_][a-z0-9_.]*$|\w\(\)")
"""A lower-case or dotted name before a bracket, ``Name(arg`` with a lower-case argument, or an
empty call: random passwords (``PW3j5d_bql(NEyjuJ``, ``IO(v5bXyRp``) mix cases instead."""
_PASSPHRASE = re.compile(r"[A-Za-z]{3,12}(?:([._])[A-Za-z]{3,12})(?:\1[A-Za-z]{3,12}){1,6}\d{1,4}")
_CODE_RECEIVERS = frozenset("""
self this cls os sys env environ config conf cfg settings args opts options kwargs params request req
ctx context app process data creds credentials secrets vault user account form auth
""".split())
_NAME_WORDS = re.compile(r"(?i)pass\w*|pwd|pw|secrets?|tokens?|hash\w*|keys?|salt|hmac|digest|auth\w*|cred\w*")
"""Words of a variable's name (``new_password``, ``api_key``), matched against whole words."""
_SELF_NAMED = re.compile(r"(?i)passw(?:or)?d|passwort|kennwort")
_PATH = re.compile(r"(?:~|\.{1,2})?/[\w./-]*")
_NOT_A_SECRET = re.compile(r"--?[a-z][a-z0-9-]*|[\w.-]+:\d{1,5}|[a-z][a-z0-9+.-]*://\S*|\w+(?:::\w+)+"
                           r"|0[xX][0-9A-Fa-f]+|<.*")
"""A command-line option (``-aes256``), a ``host:port``, a URL, a ``namespace::name``, a hex
constant (``0x31c45018``, a mask in code) or the start of an angle-bracket placeholder cut at a
blank (``<PostgreSQL PW>``)."""


def code_expression(value: str) -> bool:
    """Whether ``value`` reads as a piece of code rather than a literal: a call or subscript
    (``os.getcwd(``, ``getpass.getpass(``, ``auth[2``, ``pw[:-1``, ``(self.username``,
    ``HTTPPasswordMgr(``, ``CFUNCTYPE(c_int``, ``Callable().get``) made only of name, dot,
    bracket and slice characters. A capitalised word before a bracket (``Summer(2024)``) is not
    enough: that is how passwords look."""
    if not _CODE_CHARS.fullmatch(value) or not ("(" in value or "[" in value):
        return False
    return value[0] in "([" or value[-1] in "([" or _CALL.search(value) is not None


def passphrase(value: str) -> bool:
    """Three or more words joined by one ``.`` or ``_`` and ending in digits
    (``maple.rocket.spring72``): a passphrase, not an attribute chain or a variable name."""
    if not _PASSPHRASE.fullmatch(value):
        return False
    words = re.split(r"[._]", value.rstrip("0123456789"))
    return words[0].lower() not in _CODE_RECEIVERS and not any(_NAME_WORDS.fullmatch(w) for w in words)


@validator("password_value")
def password_value(value: str) -> bool:
    """A plausible literal password: not a placeholder, number, path, option, host:port, URL,
    code expression, variable or attribute name, nor a value that names itself
    (``rest-of-my-password``). Identifier-shaped values count when they mix cases and digits
    (``Tiger277``) or are passphrases of three or more words ending in digits
    (``nimbus_willow_autumn16``)."""
    if is_placeholder(value) or value.isdigit() or _SELF_NAMED.search(value):
        return False
    if code_expression(value) or _PATH.fullmatch(value) or _NOT_A_SECRET.fullmatch(value):
        return False
    if _IDENTIFIER.match(value) or _DOTTED.match(value):
        if passphrase(value):
            return True
        if _DOTTED.match(value) or value.islower() or value.isupper() or not any(c.isdigit() for c in value):
            return False
    if value[0] == "$" and _IDENTIFIER.match(value[1:].strip("{}()")):
        return False
    return _classes(value) >= 2


_CLASS_RUNS = re.compile(r"[a-z]+|[A-Z]+|[0-9]+")


@validator("strong_password")
def strong_password(value: str) -> bool:
    """``password_value`` for a value with no verb or separator to introduce it (``Password
    q+5UdPubWgaN, if that helps``): eight or more characters mixing three character classes, with
    a symbol or several switches between cases and digits."""
    if len(value) < 8 or _classes(value) < 3 or not password_value(value):
        return False
    # Letters and digits only: random (many switches between cases and digits), not a word and
    # a number (Manager2024).
    return not value.isalnum() or len(_CLASS_RUNS.findall(value)) >= 5


@validator("password_cell")
def password_cell(value: str) -> bool:
    """A value under a password column header: the header already says what it is, so a
    passphrase that looks like an identifier or a dotted name (``maple_charlie_ranger20``,
    ``zephyr.shadow.hunter45``) counts; placeholders, variable references, numbers, dates and
    single words of one character class (``enabled``, ``NONE``) do not."""
    if is_placeholder(value) or value.isdigit() or _DATE_SHAPE.match(value):
        return False
    if value[0] == "$" and _IDENTIFIER.match(value[1:].strip("{}()")):
        return False
    return _classes(value) >= 2


_DATE_SHAPE = re.compile(r"^\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?$")
_LOWER_HEX = re.compile(r"[0-9a-f]+")


@validator("secret_value")
def secret_value(value: str) -> bool:
    """A plausible generated secret: letters and digits mixed, not a hash, UUID, path or name."""
    if is_placeholder(value) or _UUID.match(value) or _DOTTED.match(value):
        return False
    if not (any(c.isdigit() for c in value) and any(c.isalpha() for c in value)):
        return False
    if _LOWER_HEX.fullmatch(value) and len(value) in (32, 40, 56, 64, 96, 128):
        return False
    if "/" in value and not value.endswith("="):
        return len(value.split("/")) <= 2
    return _classes(value) >= 2


# --------------------------------------------------------------------------------------- cookies

_SESSION_COOKIE = re.compile(r"(?i)sess|sid|token|auth|jwt|login|remember|identity|connect\.sid|"
                             r"phpsessid|jsessionid|aspxauth|__host-|__secure-|_gh_sess|user_session")
_COOKIE_ATTRIBUTES = frozenset({"path", "domain", "expires", "max-age", "samesite", "secure",
                                "httponly", "priority", "partitioned", "version", "comment"})


_COOKIE_OCTETS = re.compile(r"[!#-+\--:<-\[\]-~]+")
"""RFC 6265 cookie-octets: no blanks, quotes, commas, semicolons or backslashes."""
_WORDY = re.compile(r"[A-Za-z]+(?:[_.-][A-Za-z]+)*[_.-]?\d{0,6}")
"""``ROCKET_LAUNCHER_0001``, ``WILE_E_COYOTE``, ``dark``: words, not a generated session id."""


def session_value(value: str) -> bool:
    """A cookie value that looks generated: 16+ cookie-octets, not words with a number at the end,
    at least 8 distinct characters, and not a placeholder."""
    return (len(value) >= 16 and _COOKIE_OCTETS.fullmatch(value) is not None
            and not _WORDY.fullmatch(value) and len(set(value)) >= 8 and not is_placeholder(value))


@validator("cookie_header")
def cookie_header(value: str) -> bool:
    """A ``Cookie``/``Set-Cookie`` value or ``curl -b`` argument carrying a session: a cookie
    whose name says session/auth/token, or any cookie with mixed letters and digits, whose value
    looks generated (``session_value``). ``theme=dark; lang=en`` is not a finding, nor are the
    word-and-number values of documentation (``PART_NUMBER=ROCKET_LAUNCHER_0001``)."""
    for part in value.split(";"):
        name, sep, val = part.strip().partition("=")
        name, val = name.strip(), val.strip()
        if len(val) >= 2 and val[0] == val[-1] == '"':
            val = val[1:-1]
        if not sep or name.lower() in _COOKIE_ATTRIBUTES or not session_value(val):
            continue
        if _SESSION_COOKIE.search(name):
            return True
        if any(c.isdigit() for c in val) and any(c.isalpha() for c in val):
            return True
    return False


# --------------------------------------------------------------------------------------- e-mail

_ENVIRONMENT_TLDS = frozenset({"prod"})
"""Delegated TLDs that internal host names end in far more often than mail domains do
(``ssh deploy@jump.prod``)."""
_DOC_DOMAINS = re.compile(r"(?i)(?:^|\.)(?:example\.(?:com|net|org)|example|test|invalid|localhost|local|"
                          r"domain\.com|email\.com|company\.com|yourdomain\.com|mail\.com)$")


_SERVICE_DOMAINS = re.compile(r"(?i)\.(?:iam\.)?gserviceaccount\.com$|^users\.noreply\.github\.com$")
"""Addresses of machine identities (service accounts, no-reply relays), not people."""


_FIXTURE_NAMES = frozenset("""
foo bar baz qux quux spam eggs ham xxx xyz x y z a b c d aa bb abc dom domain host hostname server
nobody somebody someone anyone user username test tester testing testuser me you nowhere somewhere
invalid sample demo fake dummy
""".split())
"""Local parts and domain labels that mark test fixtures and documentation (foo@bar.com)."""


_ROLE_LOCAL = re.compile(r"(?i)^(?:postmaster|mailer-daemon|webmaster|hostmaster|abuse|root|noreply|"
                         r"no-reply|do-not-reply|donotreply)$|[-_.](?:dev|devel|list|users|announce|"
                         r"checkins|commits|bugs|ideas|help)$")
"""Role and mailing-list addresses (postmaster@, python-dev@, foo-announce@): not a person."""

_MESSAGE_ID_LOCAL = re.compile(r"[0-9.$-]{6,}|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
                               r"[0-9a-fA-F]{12}|[0-9a-fA-F]{16,}")
"""Message-ID and UUID shaped local parts (``15975.17901.207240@host``): identifiers, not mailboxes."""


@validator("email")
def email(value: str) -> bool:
    """A top-level domain of the DNS root zone (``tlds.txt``) and not a documentation/reserved
    domain (example.com, .test, .invalid, .localhost …)."""
    local, _, domain = value.rpartition("@")
    tld = domain.rsplit(".", 1)[-1].lower()
    if tld not in top_level_domains() or tld in _ENVIRONMENT_TLDS:
        return False
    if _DOC_DOMAINS.search(domain) or is_placeholder(local) or _SERVICE_DOMAINS.search(domain):
        return False
    first_label = domain.split(".", 1)[0].lower()
    if first_label in _FIXTURE_NAMES or local.lower() in _FIXTURE_NAMES:
        return False
    if _ROLE_LOCAL.search(local) or _MESSAGE_ID_LOCAL.fullmatch(local):
        return False
    if local.lower() == first_label:  # one@one.org, test@test.co: fixture shape
        return False
    return not local.startswith(".") and ".." not in value
