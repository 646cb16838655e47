"""Valid-looking sensitive values for planting in synthetic content.

``generate(infotype, rng)`` returns one value of the named infoType (names per docs/contracts.md).
Every value with a published structure passes it: Luhn for cards, SIN and NPI, mod-97 for IBAN
and FR NIR, Verhoeff for Aadhaar, the 3-7-1 ABA weights, the DEA check digit, GitHub/npm
CRC32 token checksums, and the python-stdnum validators where stdnum has one. All values are
derived from ``rng`` only, so a seeded ``random.Random`` gives the same value every time.

A few credential values span several lines because that is how they occur in real files:
``AWS_CREDENTIALS`` (key id and secret as env assignments), ``ENCRYPTION_KEY`` (PEM/OpenSSH
armour) and ``GCP_CREDENTIALS`` (service-account JSON).
"""

from __future__ import annotations

import base64
import datetime as _dt
import json
import random
import string
import zlib
from typing import Callable

import phonenumbers
from stdnum import luhn, verhoeff
from stdnum.br import cpf as _cpf
from stdnum.es import ccc as _es_ccc
from stdnum.es import dni as _dni
from stdnum.es import nie as _nie
from stdnum.fr import nir as _nir
from stdnum.iso7064 import mod_11_10
from stdnum.it import codicefiscale as _cf
from stdnum.nl import bsn as _bsn
from stdnum.us import rtn as _rtn
from stdnum import iban as _iban
from stdnum.de import idnr as _idnr

_DIGITS = string.digits
_UPPER = string.ascii_uppercase
_LOWER = string.ascii_lowercase
_ALNUM = string.ascii_letters + string.digits
_BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
_B64URL = string.ascii_letters + string.digits + "-_"
_HEX = "0123456789abcdef"

FIRST_NAMES = (
    "Olivia", "Liam", "Emma", "Noah", "Ava", "Mateo", "Sofia", "Lucas", "Mia", "Ethan", "Priya",
    "Arjun", "Chen", "Wei", "Fatima", "Omar", "Hannah", "Jonas", "Elena", "Marco", "Aisha",
    "Kenji", "Yuki", "Grace", "Daniel", "Chloe", "Samuel", "Leila", "Tomás", "Ingrid", "Nadia",
    "Victor", "Ruth", "Isaac", "Amara", "Felix", "Clara", "Diego", "Zoe", "Hugo",
)
LAST_NAMES = (
    "Smith", "Johnson", "Garcia", "Martinez", "Chen", "Nguyen", "Patel", "Kim", "Müller",
    "Rossi", "Dubois", "Silva", "Kowalski", "Okafor", "Haddad", "Andersen", "Fischer", "Moreau",
    "Romero", "Tanaka", "Sato", "Novak", "Schmidt", "Costa", "Byrne", "Walsh", "Lindqvist",
    "Brown", "Wilson", "Taylor", "Thomas", "Moore", "Clark", "Lewis", "Young", "Khan",
)
_EMAIL_DOMAINS = (
    "gmail.com", "outlook.com", "yahoo.com", "proton.me", "icloud.com", "acme-corp.com",
    "northwind.io", "globex.net", "initech.co", "umbrella-health.org", "contoso.com",
)


def _chars(rng: random.Random, alphabet: str, n: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def _digits(rng: random.Random, n: int) -> str:
    return _chars(rng, _DIGITS, n)


def _luhn_complete(rng: random.Random, prefix: str, length: int) -> str:
    body = prefix + _digits(rng, length - len(prefix) - 1)
    return body + luhn.calc_check_digit(body)


def _b62(n: int, width: int) -> str:
    out = ""
    while n:
        n, r = divmod(n, 62)
        out = _BASE62[r] + out
    return out.rjust(width, "0")


def _crc32_token(rng: random.Random, prefix: str, random_len: int = 30) -> str:
    """GitHub/npm style: prefix + random base62 + 6-char base62 CRC32 of the random part."""
    body = _chars(rng, _ALNUM, random_len)
    return prefix + body + _b62(zlib.crc32(body.encode()) & 0xFFFFFFFF, 6)


# --------------------------------------------------------------------------- PII and finance

def credit_card(rng: random.Random) -> str:
    """A Luhn-valid card number of a random brand, formatted the way people write it."""
    brand = rng.choice(("visa", "visa", "mastercard", "mastercard2", "amex", "discover",
                        "jcb", "diners", "unionpay"))
    if brand == "visa":
        number = _luhn_complete(rng, "4", rng.choice((16, 16, 16, 13, 19)))
    elif brand == "mastercard":
        number = _luhn_complete(rng, str(rng.randint(51, 55)), 16)
    elif brand == "mastercard2":
        number = _luhn_complete(rng, str(rng.randint(2221, 2720)), 16)
    elif brand == "amex":
        number = _luhn_complete(rng, rng.choice(("34", "37")), 15)
        style = rng.random()
        if style < 0.5:
            return f"{number[:4]} {number[4:10]} {number[10:]}"
        return number if style < 0.8 else f"{number[:4]}-{number[4:10]}-{number[10:]}"
    elif brand == "discover":
        number = _luhn_complete(rng, rng.choice(("6011", "65", "644")), 16)
    elif brand == "jcb":
        number = _luhn_complete(rng, str(rng.randint(3528, 3589)), 16)
    elif brand == "diners":
        number = _luhn_complete(rng, rng.choice(("36", "38", "300")), 14)
    else:
        number = _luhn_complete(rng, "62", rng.choice((16, 17, 18, 19)))
    if len(number) == 16:
        style = rng.random()
        if style < 0.45:
            return " ".join(number[i:i + 4] for i in range(0, 16, 4))
        if style < 0.65:
            return "-".join(number[i:i + 4] for i in range(0, 16, 4))
    return number


def us_ssn(rng: random.Random) -> str:
    """AAA-GG-SSSS with area 001-899 except 666, group 01-99, serial 0001-9999."""
    area = rng.choice([a for a in range(1, 900) if a != 666])
    return f"{area:03d}-{rng.randint(1, 99):02d}-{rng.randint(1, 9999):04d}"


def us_itin(rng: random.Random) -> str:
    """9XX-GG-SSSS with the IRS group ranges 70-88, 90-92, 94-99."""
    group = rng.choice([g for g in range(70, 100) if g not in (89, 93)])
    return f"9{_digits(rng, 2)}-{group}-{_digits(rng, 4)}"


def us_passport(rng: random.Random) -> str:
    """Nine digits (book) or a letter and eight digits (next-generation passport)."""
    if rng.random() < 0.5:
        return str(rng.randint(1, 9)) + _digits(rng, 8)
    return rng.choice("ACEFGHJKLMNPRSTUVWXZ") + _digits(rng, 8)


def aba_routing(rng: random.Random) -> str:
    """A routing number with a Federal Reserve prefix and the 3-7-1 checksum."""
    prefix = rng.choice(list(range(1, 13)) + list(range(21, 33)) + list(range(61, 73)))
    while True:
        body = f"{prefix:02d}" + _digits(rng, 6)
        check = (10 - (3 * (int(body[0]) + int(body[3]) + int(body[6]))
                       + 7 * (int(body[1]) + int(body[4]) + int(body[7]))
                       + (int(body[2]) + int(body[5]))) % 10) % 10
        number = body + str(check)
        if _rtn.is_valid(number):
            return number


def _bban(rng: random.Random, country: str) -> str:
    if country == "DE":
        return _digits(rng, 8) + _digits(rng, 10)
    if country == "GB":
        return rng.choice(("NWBK", "BARC", "HBUK", "LOYD", "MIDL")) + _digits(rng, 14)
    if country == "FR":
        bank, branch, account = _digits(rng, 5), _digits(rng, 5), _digits(rng, 11)
        key = 97 - (89 * int(bank) + 15 * int(branch) + 3 * int(account)) % 97
        return f"{bank}{branch}{account}{key:02d}"
    if country == "ES":
        ccc = _digits(rng, 8) + "00" + _digits(rng, 10)
        return ccc[:8] + _es_ccc.calc_check_digits(ccc) + ccc[10:]
    if country == "IT":
        return rng.choice(_UPPER) + _digits(rng, 10) + _digits(rng, 12)
    if country == "NL":
        return rng.choice(("ABNA", "INGB", "RABO", "TRIO", "SNSB")) + _digits(rng, 10)
    if country == "CH":
        return _digits(rng, 5) + _digits(rng, 12)
    if country == "PL":
        return _digits(rng, 24)
    if country == "BE":
        head = rng.choice(("001", "068", "310", "363", "734", "735", "751")) + _digits(rng, 7)
        check = int(head) % 97 or 97
        return f"{head}{check:02d}"
    raise ValueError(country)


def iban_code(rng: random.Random) -> str:
    """An IBAN of one of nine countries with mod-97 check digits and the national checks that
    stdnum knows (ES CCC, BE)."""
    country = rng.choice(("DE", "GB", "FR", "ES", "IT", "NL", "CH", "PL", "BE"))
    bban = _bban(rng, country)
    number = country + _iban.calc_check_digits(country + "00" + bban) + bban
    if rng.random() < 0.6:
        return _iban.format(number)
    return number


_BIC_BANKS = (("DEUT", "DE", "FF"), ("COBA", "DE", "FF"), ("BNPA", "FR", "PP"),
              ("SOGE", "FR", "PP"), ("BARC", "GB", "2L"), ("HSBC", "GB", "2L"),
              ("CHAS", "US", "33"), ("BOFA", "US", "3N"), ("INGB", "NL", "2A"),
              ("UBSW", "CH", "ZH"), ("BSCH", "ES", "MM"), ("UNCR", "IT", "MM"))


def swift_code(rng: random.Random) -> str:
    """An 8- or 11-character BIC with a real ISO country code."""
    bank, country, loc = rng.choice(_BIC_BANKS)
    if rng.random() < 0.3:
        bank = _chars(rng, _UPPER, 4)
    if rng.random() < 0.5:
        return bank + country + loc
    return bank + country + loc + rng.choice(("XXX", _chars(rng, _UPPER + _DIGITS, 3)))


def ip_address(rng: random.Random) -> str:
    """A public IPv4 or a global unicast IPv6 address."""
    if rng.random() < 0.7:
        while True:
            first = rng.randint(1, 223)
            if first not in (10, 127, 0, 100, 169, 172, 192):
                break
        return f"{first}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
    groups = [f"{rng.randint(0x2001, 0x2a0f):x}"] + [f"{rng.randint(0, 0xffff):x}" for _ in range(7)]
    if rng.random() < 0.5:
        return ":".join(groups)
    return ":".join(groups[:4]) + "::" + groups[7]


def email_address(rng: random.Random) -> str:
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    first = first.lower().replace("á", "a").replace("ü", "u")
    last = last.lower().replace("ü", "u")
    local = rng.choice((f"{first}.{last}", f"{first[0]}{last}", f"{first}_{last}{rng.randint(1, 99)}",
                        f"{first}{rng.randint(70, 99)}"))
    return f"{local}@{rng.choice(_EMAIL_DOMAINS)}"


_PHONE_REGIONS = ("US", "US", "GB", "DE", "FR", "IN", "BR", "JP", "AU", "ES", "IT", "NL", "CA", "MX")


def phone_number(rng: random.Random) -> str:
    """A number valid per libphonenumber, in international or national format."""
    region = rng.choice(_PHONE_REGIONS)
    ptype = rng.choice((phonenumbers.PhoneNumberType.MOBILE,
                        phonenumbers.PhoneNumberType.FIXED_LINE))
    example = phonenumbers.example_number_for_type(region, ptype)
    national = str(example.national_number)
    for _ in range(200):
        keep = max(2, len(national) - 6)
        candidate = national[:keep] + _digits(rng, len(national) - keep)
        number = phonenumbers.parse("+" + str(example.country_code) + candidate)
        if phonenumbers.is_valid_number(number):
            fmt = (phonenumbers.PhoneNumberFormat.INTERNATIONAL if rng.random() < 0.75
                   else phonenumbers.PhoneNumberFormat.E164)
            return phonenumbers.format_number(number, fmt)
    return phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def date_of_birth(rng: random.Random) -> str:
    """A plausible adult date of birth (1945-2005) in one of the common notations."""
    day = _dt.date(1945, 1, 1) + _dt.timedelta(days=rng.randint(0, 60 * 365))
    style = rng.random()
    if style < 0.4:
        return day.isoformat()
    if style < 0.7:
        return day.strftime("%m/%d/%Y")
    if style < 0.85:
        return day.strftime("%d.%m.%Y")
    return day.strftime("%B %d, %Y").replace(" 0", " ")


_NINO_FIRST = [c for c in _UPPER if c not in "DFIQUV"]
_NINO_SECOND = [c for c in _UPPER if c not in "DFIOQUV"]
_NINO_BAD_PREFIX = {"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"}


def uk_nino(rng: random.Random) -> str:
    """QQ 12 34 56 C with the HMRC prefix restrictions."""
    while True:
        prefix = rng.choice(_NINO_FIRST) + rng.choice(_NINO_SECOND)
        if prefix not in _NINO_BAD_PREFIX:
            break
    d = _digits(rng, 6)
    suffix = rng.choice("ABCD")
    if rng.random() < 0.5:
        return f"{prefix} {d[:2]} {d[2:4]} {d[4:]} {suffix}"
    return f"{prefix}{d}{suffix}"


def canada_sin(rng: random.Random) -> str:
    number = _luhn_complete(rng, rng.choice("1234567") if rng.random() < 0.9 else "9", 9)
    return f"{number[:3]}-{number[3:6]}-{number[6:]}" if rng.random() < 0.7 else number


def france_nir(rng: random.Random) -> str:
    """Sex, year, month, department, commune, order and the 97-complement key."""
    dept = f"{rng.randint(1, 95):02d}"
    if dept == "20":
        dept = "75"
    body = (str(rng.choice((1, 2))) + f"{rng.randint(45, 99):02d}" + f"{rng.randint(1, 12):02d}"
            + dept + f"{rng.randint(1, 990):03d}" + f"{rng.randint(1, 999):03d}")
    number = body + _nir.calc_check_digits(body + "00")
    if rng.random() < 0.5:
        return _nir.format(number)
    return number


def germany_idnr(rng: random.Random) -> str:
    """Eleven digits, no leading zero, exactly one digit repeated in the first ten, ISO 7064
    mod 11,10 check digit."""
    while True:
        digits = rng.sample(_DIGITS, 9)
        repeat = digits[rng.randrange(9)]
        digits.insert(rng.randrange(10), repeat)
        body = "".join(digits)
        if body[0] == "0":
            continue
        number = body + mod_11_10.calc_check_digit(body)
        if _idnr.is_valid(number):
            return number if rng.random() < 0.7 else f"{number[:2]} {number[2:5]} {number[5:8]} {number[8:]}"


def spain_dni(rng: random.Random) -> str:
    body = _digits(rng, 8)
    return body + _dni.calc_check_digit(body)


def spain_nie(rng: random.Random) -> str:
    body = rng.choice("XYZ") + _digits(rng, 7)
    return body + _nie.calc_check_digit(body)


_CONSONANTS = "BCDFGHJKLMNPRSTVZ"
_VOWELS = "AEIOU"
_BELFIORE = ("H501", "F205", "L219", "F839", "G273", "A944", "D612", "L736", "C351", "G224")


def italy_fiscal_code(rng: random.Random) -> str:
    """Surname and name letters, birth year/month/day (+40 for women), a real Belfiore town code
    and the odd/even check letter."""
    def three() -> str:
        return "".join(rng.choice(_CONSONANTS if i != 1 or rng.random() < 0.6 else _VOWELS)
                       for i in range(3))
    day = rng.randint(1, 28) + (40 if rng.random() < 0.5 else 0)
    body = (three() + three() + f"{rng.randint(45, 99):02d}" + rng.choice("ABCDEHLMPRST")
            + f"{day:02d}" + rng.choice(_BELFIORE))
    return body + _cf.calc_check_digit(body)


def netherlands_bsn(rng: random.Random) -> str:
    """Nine digits passing the 11-proof."""
    while True:
        number = str(rng.randint(1, 6)) + _digits(rng, 8)
        if _bsn.is_valid(number):
            return number


def india_aadhaar(rng: random.Random) -> str:
    """Twelve digits, first 2-9, Verhoeff check digit, written in groups of four."""
    while True:
        body = str(rng.randint(2, 9)) + _digits(rng, 10)
        number = body + verhoeff.calc_check_digit(body)
        if number != number[::-1]:
            break
    return f"{number[:4]} {number[4:8]} {number[8:]}" if rng.random() < 0.7 else number


def india_pan(rng: random.Random) -> str:
    """AAAPL1234C: fourth letter P (individual), fifth the surname initial."""
    return (_chars(rng, _UPPER, 3) + "P" + rng.choice(_UPPER)
            + f"{rng.randint(1, 9999):04d}" + rng.choice(_UPPER))


def brazil_cpf(rng: random.Random) -> str:
    while True:
        body = _digits(rng, 9)
        if len(set(body)) > 1:
            break
    number = body + _cpf._calc_check_digits(body)
    return f"{number[:3]}.{number[3:6]}.{number[6:9]}-{number[9:]}" if rng.random() < 0.7 else number


def us_npi(rng: random.Random) -> str:
    """Ten digits starting with 1 or 2, Luhn over the 80840 prefix."""
    body = rng.choice("12") + _digits(rng, 8)
    check = luhn.calc_check_digit("80840" + body)
    return body + check


def us_dea(rng: random.Random) -> str:
    """Registrant letter, surname initial, six digits and the DEA check digit."""
    digits = [rng.randint(0, 9) for _ in range(6)]
    check = (digits[0] + digits[2] + digits[4] + 2 * (digits[1] + digits[3] + digits[5])) % 10
    return rng.choice("ABCFGMPR") + rng.choice(_UPPER) + "".join(map(str, digits)) + str(check)


def medical_record_number(rng: random.Random) -> str:
    style = rng.random()
    if style < 0.4:
        return f"MRN-{_digits(rng, 8)}"
    if style < 0.7:
        return f"MRN {rng.randint(100000, 9999999)}"
    return f"MR{_digits(rng, 9)}"


_ICD10 = ("E11.9", "I10", "J45.909", "F32.A", "F41.1", "M54.50", "Z00.00", "K21.9", "E78.5",
          "G43.909", "N39.0", "R51.9", "J06.9", "C50.911", "O24.419", "S82.201A", "F90.0",
          "E66.01", "I48.91", "L40.0", "B20", "F20.9", "Z79.4", "E03.9", "G47.33")


def icd10_code(rng: random.Random) -> str:
    """A real ICD-10-CM diagnosis code."""
    return rng.choice(_ICD10)


# ------------------------------------------------------------------------------- credentials

def aws_credentials(rng: random.Random) -> str:
    key_id = rng.choice(("AKIA", "AKIA", "ASIA")) + _chars(rng, _UPPER + "234567", 16)
    secret = _chars(rng, string.ascii_letters + string.digits + "/+", 40)
    return f"AWS_ACCESS_KEY_ID={key_id}\nAWS_SECRET_ACCESS_KEY={secret}"


def gcp_api_key(rng: random.Random) -> str:
    return "AIza" + _chars(rng, _B64URL, 35)


def _pem_body(rng: random.Random, der_prefix: bytes, size: int) -> str:
    raw = der_prefix + rng.randbytes(size - len(der_prefix))
    b64 = base64.b64encode(raw).decode()
    return "\n".join(b64[i:i + 64] for i in range(0, len(b64), 64))


def private_key(rng: random.Random) -> str:
    """PEM (PKCS#1 RSA, PKCS#8, EC) or OpenSSH private-key armour around DER-shaped bytes."""
    kind = rng.choice(("rsa", "pkcs8", "ec", "openssh"))
    if kind == "rsa":
        return ("-----BEGIN RSA PRIVATE KEY-----\n" + _pem_body(rng, bytes.fromhex("308204a40201000282010100"), 1192)
                + "\n-----END RSA PRIVATE KEY-----")
    if kind == "pkcs8":
        return ("-----BEGIN PRIVATE KEY-----\n"
                + _pem_body(rng, bytes.fromhex("308204be020100300d06092a864886f70d0101010500048204a8"), 1218)
                + "\n-----END PRIVATE KEY-----")
    if kind == "ec":
        return ("-----BEGIN EC PRIVATE KEY-----\n" + _pem_body(rng, bytes.fromhex("307702010104"), 121)
                + "\n-----END EC PRIVATE KEY-----")
    raw = b"openssh-key-v1\x00\x00\x00\x00\x04none\x00\x00\x00\x04none" + rng.randbytes(360)
    b64 = base64.b64encode(raw).decode()
    return ("-----BEGIN OPENSSH PRIVATE KEY-----\n" + "\n".join(b64[i:i + 70] for i in range(0, len(b64), 70))
            + "\n-----END OPENSSH PRIVATE KEY-----")


def gcp_credentials(rng: random.Random) -> str:
    """A service-account key file (JSON) with an embedded PKCS#8 private key."""
    project = rng.choice(("acme-prod", "data-platform", "billing-etl", "ml-sandbox")) + f"-{rng.randint(100000, 999999)}"
    account = rng.choice(("etl-runner", "ci-deployer", "bq-reader", "backup"))
    key = ("-----BEGIN PRIVATE KEY-----\n"
           + _pem_body(rng, bytes.fromhex("308204be020100300d06092a864886f70d0101010500048204a8"), 1218)
           + "\n-----END PRIVATE KEY-----\n")
    doc = {
        "type": "service_account",
        "project_id": project,
        "private_key_id": _chars(rng, _HEX, 40),
        "private_key": key,
        "client_email": f"{account}@{project}.iam.gserviceaccount.com",
        "client_id": _digits(rng, 21),
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": "https://oauth2.googleapis.com/token",
    }
    return json.dumps(doc, indent=2)


def azure_storage_key(rng: random.Random) -> str:
    key = base64.b64encode(rng.randbytes(64)).decode()
    account = rng.choice(("acmeprodstore", "financedata01", "hrarchive", "mlartifacts")) + str(rng.randint(1, 99))
    return (f"DefaultEndpointsProtocol=https;AccountName={account};AccountKey={key};"
            "EndpointSuffix=core.windows.net")


def github_token(rng: random.Random) -> str:
    """ghp_/gho_/ghs_/ghu_ tokens with the CRC32 checksum, or a fine-grained github_pat_."""
    kind = rng.choice(("ghp_", "ghp_", "gho_", "ghs_", "ghu_", "github_pat_"))
    if kind == "github_pat_":
        return "github_pat_" + _chars(rng, _ALNUM, 22) + "_" + _chars(rng, _ALNUM, 59)
    return _crc32_token(rng, kind)


def gitlab_token(rng: random.Random) -> str:
    return rng.choice(("glpat-", "glpat-", "gldt-", "glptt-")) + _chars(rng, _ALNUM + "-_", 20)


def slack_token(rng: random.Random) -> str:
    kind = rng.choice(("xoxb", "xoxp", "xapp"))
    if kind == "xoxb":
        return f"xoxb-{_digits(rng, 12)}-{_digits(rng, 13)}-{_chars(rng, _ALNUM, 24)}"
    if kind == "xoxp":
        return f"xoxp-{_digits(rng, 12)}-{_digits(rng, 12)}-{_digits(rng, 13)}-{_chars(rng, _HEX, 32)}"
    return f"xapp-1-A{_chars(rng, _UPPER + _DIGITS, 10)}-{_digits(rng, 13)}-{_chars(rng, _HEX, 64)}"


def slack_webhook(rng: random.Random) -> str:
    return ("https://hooks.slack.com/services/T" + _chars(rng, _UPPER + _DIGITS, 8) + "/B"
            + _chars(rng, _UPPER + _DIGITS, 10) + "/" + _chars(rng, _ALNUM, 24))


def stripe_key(rng: random.Random) -> str:
    prefix = rng.choice(("sk_live_", "sk_live_", "rk_live_", "sk_test_"))
    return prefix + _chars(rng, _ALNUM, rng.choice((24, 99)))


def twilio_key(rng: random.Random) -> str:
    return "SK" + _chars(rng, _HEX, 32)


def sendgrid_key(rng: random.Random) -> str:
    return "SG." + _chars(rng, _B64URL, 22) + "." + _chars(rng, _B64URL, 43)


def npm_token(rng: random.Random) -> str:
    return _crc32_token(rng, "npm_")


def pypi_token(rng: random.Random) -> str:
    macaroon = base64.urlsafe_b64encode(b"\x02\x01\x08pypi.org\x02" + rng.randbytes(120)).decode().rstrip("=")
    return "pypi-AgEIcHlwaS5vcmc" + macaroon[20:]


def huggingface_token(rng: random.Random) -> str:
    return "hf_" + _chars(rng, string.ascii_letters, 34)


def databricks_token(rng: random.Random) -> str:
    return "dapi" + _chars(rng, _HEX, 32) + ("-2" if rng.random() < 0.3 else "")


def anthropic_key(rng: random.Random) -> str:
    return "sk-ant-api03-" + _chars(rng, _B64URL, 93) + "AA"


def openai_key(rng: random.Random) -> str:
    if rng.random() < 0.5:
        return "sk-" + _chars(rng, _ALNUM, 20) + "T3BlbkFJ" + _chars(rng, _ALNUM, 20)
    return ("sk-proj-" + _chars(rng, _B64URL, 74) + "T3BlbkFJ" + _chars(rng, _B64URL, 74))


def _b64url_json(obj: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj, separators=(",", ":")).encode()).decode().rstrip("=")


def json_web_token(rng: random.Random) -> str:
    """header.payload.signature with real base64url JSON header and claims."""
    alg = rng.choice(("HS256", "RS256", "ES256"))
    header = _b64url_json({"alg": alg, "typ": "JWT"})
    iat = rng.randint(1_700_000_000, 1_790_000_000)
    payload = _b64url_json({"sub": str(rng.randint(10000, 99999999)), "name": f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
                            "iat": iat, "exp": iat + 3600, "scope": rng.choice(("read", "admin", "read write"))})
    sig_len = {"HS256": 32, "RS256": 256, "ES256": 64}[alg]
    sig = base64.urlsafe_b64encode(rng.randbytes(sig_len)).decode().rstrip("=")
    return f"{header}.{payload}.{sig}"


def _strong_password(rng: random.Random) -> str:
    words = ("Summer", "Falcon", "River", "Orbit", "Maple", "Cobalt", "Tiger", "Nimbus", "Quartz")
    if rng.random() < 0.5:
        return rng.choice(words) + rng.choice("!@#$%&*") + str(rng.randint(10, 9999)) + rng.choice(words).lower()
    return _chars(rng, string.ascii_letters + string.digits + "!@#$%^&*-_", rng.randint(12, 24))


def password_assignment(rng: random.Random) -> str:
    """A password assigned in configuration: env, YAML, INI, JSON or code."""
    pw = _strong_password(rng)
    name = rng.choice(("password", "DB_PASSWORD", "db_password", "SMTP_PASS", "admin_password",
                       "REDIS_PASSWORD", "passwd"))
    style = rng.choice(("env", "yaml", "ini", "json", "py"))
    if style == "env":
        return f"{name.upper()}={pw}"
    if style == "yaml":
        return f'{name.lower()}: "{pw}"'
    if style == "ini":
        return f"{name.lower()} = {pw}"
    if style == "json":
        return f'"{name.lower()}": "{pw}"'
    return f'{name.lower()} = "{pw}"'


def basic_auth_header(rng: random.Random) -> str:
    user = rng.choice(("admin", "svc-deploy", "jenkins", "api", rng.choice(FIRST_NAMES).lower()))
    token = base64.b64encode(f"{user}:{_strong_password(rng)}".encode()).decode()
    return f"Authorization: Basic {token}"


def database_connection_string(rng: random.Random) -> str:
    scheme, port = rng.choice((("postgresql", 5432), ("postgres", 5432), ("mysql", 3306),
                               ("mongodb+srv", None), ("redis", 6379), ("mssql+pyodbc", 1433)))
    user = rng.choice(("app", "etl_user", "reporting", "admin", "svc_billing"))
    pw = _chars(rng, _ALNUM, rng.randint(12, 20)) + rng.choice(("", "!", "_x", "9"))
    host = rng.choice(("db.internal.acme-corp.com", "prod-db-01.c8xk2.us-east-1.rds.amazonaws.com",
                       "10.20.4.17", "cluster0.ab1cd.mongodb.net", "finance-sql.database.windows.net"))
    db = rng.choice(("billing", "hr", "analytics", "orders", "app"))
    hostport = host if port is None else f"{host}:{port}"
    return f"{scheme}://{user}:{pw}@{hostport}/{db}"


_GENERATORS: dict[str, Callable[[random.Random], str]] = {
    "EMAIL_ADDRESS": email_address,
    "PHONE_NUMBER": phone_number,
    "CREDIT_CARD_NUMBER": credit_card,
    "US_SOCIAL_SECURITY_NUMBER": us_ssn,
    "US_INDIVIDUAL_TAXPAYER_IDENTIFICATION_NUMBER": us_itin,
    "US_PASSPORT": us_passport,
    "US_BANK_ROUTING_MICR": aba_routing,
    "IBAN_CODE": iban_code,
    "SWIFT_CODE": swift_code,
    "IP_ADDRESS": ip_address,
    "DATE_OF_BIRTH": date_of_birth,
    "UK_NATIONAL_INSURANCE_NUMBER": uk_nino,
    "CANADA_SOCIAL_INSURANCE_NUMBER": canada_sin,
    "FRANCE_NIR": france_nir,
    "GERMANY_TAXPAYER_IDENTIFICATION_NUMBER": germany_idnr,
    "SPAIN_DNI_NUMBER": spain_dni,
    "SPAIN_NIE_NUMBER": spain_nie,
    "ITALY_FISCAL_CODE": italy_fiscal_code,
    "NETHERLANDS_BSN_NUMBER": netherlands_bsn,
    "INDIA_AADHAAR_INDIVIDUAL": india_aadhaar,
    "INDIA_PAN_INDIVIDUAL": india_pan,
    "BRAZIL_CPF_NUMBER": brazil_cpf,
    "US_HEALTHCARE_NPI": us_npi,
    "US_DEA_NUMBER": us_dea,
    "MEDICAL_RECORD_NUMBER": medical_record_number,
    "ICD10_CODE": icd10_code,
    "AWS_CREDENTIALS": aws_credentials,
    "GCP_API_KEY": gcp_api_key,
    "GCP_CREDENTIALS": gcp_credentials,
    "AZURE_STORAGE_KEY": azure_storage_key,
    "GITHUB_TOKEN": github_token,
    "GITLAB_TOKEN": gitlab_token,
    "SLACK_TOKEN": slack_token,
    "SLACK_WEBHOOK": slack_webhook,
    "STRIPE_API_KEY": stripe_key,
    "TWILIO_API_KEY": twilio_key,
    "SENDGRID_API_KEY": sendgrid_key,
    "NPM_TOKEN": npm_token,
    "PYPI_TOKEN": pypi_token,
    "HUGGINGFACE_TOKEN": huggingface_token,
    "DATABRICKS_TOKEN": databricks_token,
    "ANTHROPIC_API_KEY": anthropic_key,
    "OPENAI_API_KEY": openai_key,
    "ENCRYPTION_KEY": private_key,
    "JSON_WEB_TOKEN": json_web_token,
    "PASSWORD": password_assignment,
    "BASIC_AUTH_HEADER": basic_auth_header,
    "DATABASE_CONNECTION_STRING": database_connection_string,
}

PLANTED_INFOTYPES: tuple[str, ...] = tuple(_GENERATORS)
"""Every infoType ``generate`` knows, in the order of docs/contracts.md."""

CREDENTIAL_INFOTYPES: frozenset[str] = frozenset(PLANTED_INFOTYPES[PLANTED_INFOTYPES.index("AWS_CREDENTIALS"):])
"""The secrets among the planted infoTypes (everything from AWS_CREDENTIALS on)."""

MULTILINE_INFOTYPES: frozenset[str] = frozenset({"AWS_CREDENTIALS", "ENCRYPTION_KEY", "GCP_CREDENTIALS"})
"""InfoTypes whose values contain newlines."""


def generate(infotype: str, rng: random.Random) -> str:
    """Return one valid-looking value of ``infotype`` drawn from ``rng``.

    Raises ``KeyError`` naming the infoType and the known ones when it is not planted.
    """
    try:
        gen = _GENERATORS[infotype]
    except KeyError:
        raise KeyError(f"unknown infoType {infotype!r}; known: {', '.join(PLANTED_INFOTYPES)}") from None
    return gen(rng)
