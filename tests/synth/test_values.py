"""Every planted value passes the structure/checksum rules of its infoType."""

import base64
import json
import random
import re
import zlib

import phonenumbers
import pytest
from stdnum import bic, iban, luhn, verhoeff
from stdnum.br import cpf
from stdnum.ca import sin
from stdnum.de import idnr
from stdnum.es import dni, nie
from stdnum.fr import nir
from stdnum.in_ import aadhaar, pan
from stdnum.it import codicefiscale
from stdnum.nl import bsn
from stdnum.us import itin, rtn, ssn

from vigil.synth import values
from vigil.synth.values import PLANTED_INFOTYPES, generate

N = 150
CONTRACT_NAMES = """EMAIL_ADDRESS PHONE_NUMBER CREDIT_CARD_NUMBER US_SOCIAL_SECURITY_NUMBER
US_INDIVIDUAL_TAXPAYER_IDENTIFICATION_NUMBER US_PASSPORT US_BANK_ROUTING_MICR IBAN_CODE
SWIFT_CODE IP_ADDRESS DATE_OF_BIRTH UK_NATIONAL_INSURANCE_NUMBER CANADA_SOCIAL_INSURANCE_NUMBER
FRANCE_NIR GERMANY_TAXPAYER_IDENTIFICATION_NUMBER SPAIN_DNI_NUMBER SPAIN_NIE_NUMBER
ITALY_FISCAL_CODE NETHERLANDS_BSN_NUMBER INDIA_AADHAAR_INDIVIDUAL INDIA_PAN_INDIVIDUAL
BRAZIL_CPF_NUMBER US_HEALTHCARE_NPI US_DEA_NUMBER MEDICAL_RECORD_NUMBER ICD10_CODE
AWS_CREDENTIALS GCP_API_KEY GCP_CREDENTIALS AZURE_STORAGE_KEY GITHUB_TOKEN GITLAB_TOKEN
SLACK_TOKEN SLACK_WEBHOOK STRIPE_API_KEY TWILIO_API_KEY SENDGRID_API_KEY NPM_TOKEN PYPI_TOKEN
HUGGINGFACE_TOKEN DATABRICKS_TOKEN ANTHROPIC_API_KEY OPENAI_API_KEY ENCRYPTION_KEY
JSON_WEB_TOKEN PASSWORD BASIC_AUTH_HEADER DATABASE_CONNECTION_STRING""".split()


def samples(infotype, n=N):
    rng = random.Random(f"values-{infotype}")
    return [generate(infotype, rng) for _ in range(n)]


def digits(s):
    return re.sub(r"\D", "", s)


def b62(n):
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    out = ""
    while n:
        n, r = divmod(n, 62)
        out = alphabet[r] + out
    return out.rjust(6, "0")


def test_planted_set_is_the_contract_set():
    assert list(PLANTED_INFOTYPES) == CONTRACT_NAMES


def test_unknown_infotype_is_a_clear_error():
    with pytest.raises(KeyError, match="unknown infoType 'NOPE'"):
        generate("NOPE", random.Random(1))


def test_deterministic_per_seed():
    for it in PLANTED_INFOTYPES:
        assert generate(it, random.Random(7)) == generate(it, random.Random(7))


def test_values_vary():
    for it in PLANTED_INFOTYPES:
        assert len(set(samples(it, 40))) > 5, it


def test_credit_cards_luhn_and_brands():
    brands = set()
    for v in samples("CREDIT_CARD_NUMBER", 400):
        d = digits(v)
        assert luhn.is_valid(d), v
        assert 13 <= len(d) <= 19
        brands.add((d[0], len(d)))
    assert {("4", 16), ("5", 16), ("3", 15), ("6", 16)} <= brands


def test_us_ssn_itin_routing_passport():
    for v in samples("US_SOCIAL_SECURITY_NUMBER"):
        assert ssn.is_valid(v), v
    for v in samples("US_INDIVIDUAL_TAXPAYER_IDENTIFICATION_NUMBER"):
        assert itin.is_valid(v), v
    for v in samples("US_BANK_ROUTING_MICR"):
        assert rtn.is_valid(v), v
    for v in samples("US_PASSPORT"):
        assert re.fullmatch(r"[0-9]{9}|[A-Z][0-9]{8}", v), v


def test_iban_and_bic():
    countries = set()
    for v in samples("IBAN_CODE", 300):
        assert iban.is_valid(v), v
        countries.add(v[:2])
    assert len(countries) >= 8
    for v in samples("SWIFT_CODE"):
        assert bic.is_valid(v), v


def nino_valid(v):
    c = v.replace(" ", "")
    return (re.fullmatch(r"[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z][0-9]{6}[A-D]", c) is not None
            and c[:2] not in {"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"})


def test_national_ids():
    checks = {
        "UK_NATIONAL_INSURANCE_NUMBER": nino_valid,
        "CANADA_SOCIAL_INSURANCE_NUMBER": sin.is_valid,
        "FRANCE_NIR": nir.is_valid,
        "GERMANY_TAXPAYER_IDENTIFICATION_NUMBER": idnr.is_valid,
        "SPAIN_DNI_NUMBER": dni.is_valid,
        "SPAIN_NIE_NUMBER": nie.is_valid,
        "ITALY_FISCAL_CODE": codicefiscale.is_valid,
        "NETHERLANDS_BSN_NUMBER": bsn.is_valid,
        "INDIA_AADHAAR_INDIVIDUAL": aadhaar.is_valid,
        "INDIA_PAN_INDIVIDUAL": pan.is_valid,
        "BRAZIL_CPF_NUMBER": cpf.is_valid,
    }
    for it, check in checks.items():
        for v in samples(it):
            assert check(v), (it, v)
    for v in samples("INDIA_AADHAAR_INDIVIDUAL"):
        assert verhoeff.is_valid(digits(v))


def test_healthcare():
    for v in samples("US_HEALTHCARE_NPI"):
        assert re.fullmatch(r"[12][0-9]{9}", v) and luhn.is_valid("80840" + v), v
    for v in samples("US_DEA_NUMBER"):
        assert re.fullmatch(r"[A-Z]{2}[0-9]{7}", v), v
        d = [int(c) for c in v[2:]]
        assert (d[0] + d[2] + d[4] + 2 * (d[1] + d[3] + d[5])) % 10 == d[6], v
    for v in samples("MEDICAL_RECORD_NUMBER"):
        assert re.fullmatch(r"MRN[- ][0-9]{6,8}|MR[0-9]{9}", v), v
    for v in samples("ICD10_CODE"):
        assert re.fullmatch(r"[A-Z][0-9][0-9A-Z](\.[0-9A-Z]{1,4})?", v), v


def test_contact_and_network():
    import ipaddress
    for v in samples("EMAIL_ADDRESS"):
        assert re.fullmatch(r"[a-z0-9._]+@[a-z0-9.-]+\.[a-z]+", v), v
    regions = set()
    for v in samples("PHONE_NUMBER", 300):
        n = phonenumbers.parse(v)
        assert phonenumbers.is_valid_number(n), v
        regions.add(n.country_code)
    assert len(regions) >= 8
    for v in samples("IP_ADDRESS"):
        assert ipaddress.ip_address(v).is_global, v
    import datetime
    for v in samples("DATE_OF_BIRTH"):
        for fmt in ("%Y-%m-%d", "%m/%d/%Y", "%d.%m.%Y", "%B %d, %Y"):
            try:
                day = datetime.datetime.strptime(v, fmt).date()
                break
            except ValueError:
                continue
        else:
            pytest.fail(f"unparseable date {v}")
        assert 1945 <= day.year <= 2006


def test_github_and_npm_crc32_checksums():
    kinds = set()
    for v in samples("GITHUB_TOKEN", 300):
        if v.startswith("github_pat_"):
            assert re.fullmatch(r"github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59}", v), v
            kinds.add("github_pat_")
            continue
        prefix, body = v[:4], v[4:]
        kinds.add(prefix)
        assert len(body) == 36 and b62(zlib.crc32(body[:30].encode())) == body[30:], v
    assert {"ghp_", "gho_", "ghs_", "github_pat_"} <= kinds
    for v in samples("NPM_TOKEN"):
        body = v[4:]
        assert v.startswith("npm_") and b62(zlib.crc32(body[:30].encode())) == body[30:], v


CREDENTIAL_PATTERNS = {
    "AWS_CREDENTIALS": r"AWS_ACCESS_KEY_ID=(AKIA|ASIA)[A-Z2-7]{16}\nAWS_SECRET_ACCESS_KEY=[A-Za-z0-9/+]{40}",
    "GCP_API_KEY": r"AIza[0-9A-Za-z_-]{35}",
    "AZURE_STORAGE_KEY": r"DefaultEndpointsProtocol=https;AccountName=\w+;AccountKey=[A-Za-z0-9+/]{86}==;EndpointSuffix=core\.windows\.net",
    "GITLAB_TOKEN": r"(glpat|gldt|glptt)-[A-Za-z0-9_-]{20}",
    "SLACK_TOKEN": r"xoxb-\d+-\d+-[A-Za-z0-9]{24}|xoxp-\d+-\d+-\d+-[a-f0-9]{32}|xapp-1-A[A-Z0-9]+-\d+-[a-f0-9]{64}",
    "SLACK_WEBHOOK": r"https://hooks\.slack\.com/services/T[A-Z0-9]{8}/B[A-Z0-9]{10}/[A-Za-z0-9]{24}",
    "STRIPE_API_KEY": r"(sk|rk)_(live|test)_[A-Za-z0-9]{24,99}",
    "TWILIO_API_KEY": r"SK[a-f0-9]{32}",
    "SENDGRID_API_KEY": r"SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}",
    "PYPI_TOKEN": r"pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,}",
    "HUGGINGFACE_TOKEN": r"hf_[A-Za-z]{34}",
    "DATABRICKS_TOKEN": r"dapi[a-f0-9]{32}(-2)?",
    "ANTHROPIC_API_KEY": r"sk-ant-api03-[A-Za-z0-9_-]{93}AA",
    "OPENAI_API_KEY": r"sk-[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20}|sk-proj-[A-Za-z0-9_-]{74}T3BlbkFJ[A-Za-z0-9_-]{74}",
    "PASSWORD": r"""[A-Za-z_]+\s*[:=]\s*"?[^"\s]{8,}"?|"[a-z_]+": "[^"]+\"""",
    "DATABASE_CONNECTION_STRING": r"[a-z+]+://\w+:[^@\s]+@[\w.-]+(:\d+)?/\w+",
}


def test_credential_shapes():
    for it, pattern in CREDENTIAL_PATTERNS.items():
        for v in samples(it, 60):
            assert re.fullmatch(pattern, v), (it, v)


def test_azure_key_decodes_to_64_bytes():
    for v in samples("AZURE_STORAGE_KEY", 20):
        key = re.search(r"AccountKey=([^;]+);", v).group(1)
        assert len(base64.b64decode(key)) == 64


def test_jwt_header_and_claims_are_base64url_json():
    for v in samples("JSON_WEB_TOKEN", 50):
        header, payload, sig = v.split(".")
        pad = lambda s: s + "=" * (-len(s) % 4)  # noqa: E731
        h = json.loads(base64.urlsafe_b64decode(pad(header)))
        assert h["typ"] == "JWT" and h["alg"] in {"HS256", "RS256", "ES256"}
        assert "sub" in json.loads(base64.urlsafe_b64decode(pad(payload)))
        assert len(base64.urlsafe_b64decode(pad(sig))) >= 32


def test_basic_auth_decodes_to_user_colon_password():
    for v in samples("BASIC_AUTH_HEADER", 50):
        assert v.startswith("Authorization: Basic ")
        user, _, pw = base64.b64decode(v.split()[-1]).decode().partition(":")
        assert user and len(pw) >= 8


def test_private_keys_are_armoured_base64():
    kinds = set()
    for v in samples("ENCRYPTION_KEY", 60):
        m = re.fullmatch(r"-----BEGIN ((?:RSA |EC |OPENSSH )?PRIVATE KEY)-----\n([A-Za-z0-9+/=\n]+)\n-----END \1-----", v)
        assert m, v
        kinds.add(m.group(1))
        raw = base64.b64decode(m.group(2).replace("\n", ""))
        if m.group(1) == "OPENSSH PRIVATE KEY":
            assert raw.startswith(b"openssh-key-v1\x00")
        else:
            assert raw[0] == 0x30  # DER SEQUENCE
    assert len(kinds) == 4


def test_gcp_service_account_json():
    for v in samples("GCP_CREDENTIALS", 20):
        doc = json.loads(v)
        assert doc["type"] == "service_account"
        assert doc["private_key"].startswith("-----BEGIN PRIVATE KEY-----\n")
        assert doc["client_email"].endswith(".iam.gserviceaccount.com")


def test_multiline_declaration_matches_values():
    for it in PLANTED_INFOTYPES:
        has_newline = any("\n" in v for v in samples(it, 30))
        assert has_newline == (it in values.MULTILINE_INFOTYPES), it
