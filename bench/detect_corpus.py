"""Labelled corpora for the detection benchmark (``bench/detect.py``).

Three sets, all deterministic for a given seed:

* ``quality_corpus``: a few MB of chat transcripts, source code (Python, JavaScript, Go),
  configuration files (YAML, .env, INI, JSON), application logs and e-mails. Sensitive values
  from ``vigil.synth.values`` are planted into realistic sentences, assignments and log lines;
  each planted value carries a ``Label(infotype, start, end)`` with exact character offsets
  (``text[start:end] == value``). Hard negatives ("decoys") are planted the same way and carry no
  label: order and ticket numbers, UUIDs, git/SHA hashes, version strings, placeholder and
  documentation keys, Luhn-valid numbers that are not cards (IMEIs, tracking and invoice
  references), phone-shaped build/CI numbers and dates that are not dates of birth.
* ``speed_corpus(kind, target_bytes)``: chat or code documents of the same make-up but with a
  lower plant rate, for throughput.
* ``stdlib_corpus()``: every ``*.py`` file of the running interpreter's standard library (from
  ``sysconfig``; ``site-packages`` excluded), the haystack for false findings per MB.

Run ``python bench/detect_corpus.py --out DIR`` to write the quality set to disk with a
``labels.jsonl`` beside it.

The value generators are not duplicated here: every planted value comes from
``vigil.synth.values.generate``. Only the decoys (which are, by construction, not sensitive) are
generated in this module.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import string
import sysconfig
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import phonenumbers
from stdnum import luhn

from vigil.synth import values as _values

CORPUS_VERSION = 1
DEFAULT_SEED = 20261127

KINDS = ("chat", "code", "config", "log", "email")
ValueSource = Callable[[str, random.Random], str]


@dataclass(frozen=True)
class Label:
    """A planted sensitive value: ``text[start:end]`` is the value, ``infotype`` its type."""

    infotype: str
    start: int
    end: int


@dataclass(frozen=True)
class Decoy:
    """A planted hard negative: ``text[start:end]`` looks sensitive but is not."""

    kind: str
    start: int
    end: int


@dataclass
class Document:
    """One corpus document: its text, where it would live, and its ground truth."""

    doc_id: str
    kind: str
    filename: str
    text: str
    labels: list[Label] = field(default_factory=list)
    decoys: list[Decoy] = field(default_factory=list)


# --------------------------------------------------------------------------- vocabulary

_NAMES = _values.FIRST_NAMES
_SURNAMES = _values.LAST_NAMES

# How people and programs refer to each infoType: (spoken phrases, identifier stems).
_CONTEXT: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "EMAIL_ADDRESS": (("email", "e-mail address", "contact email", "work email"),
                      ("email", "contact_email", "admin_email", "notify_to")),
    "PHONE_NUMBER": (("phone number", "mobile", "cell", "direct line", "phone"),
                     ("phone", "support_phone", "mobile_number", "contact_phone")),
    "CREDIT_CARD_NUMBER": (("card number", "credit card", "Visa card", "corporate card", "card"),
                           ("card_number", "cc_number", "test_card", "pan")),
    "US_SOCIAL_SECURITY_NUMBER": (("SSN", "social security number", "Social Security no."),
                                  ("ssn", "social_security_number", "employee_ssn")),
    "US_INDIVIDUAL_TAXPAYER_IDENTIFICATION_NUMBER": (("ITIN", "taxpayer identification number", "ITIN number"),
                                                     ("itin", "taxpayer_itin")),
    "US_PASSPORT": (("passport number", "US passport", "passport no."),
                    ("passport_number", "passport_no")),
    "US_BANK_ROUTING_MICR": (("routing number", "ABA routing number", "ABA"),
                             ("routing_number", "aba_routing", "bank_routing")),
    "IBAN_CODE": (("IBAN", "bank account (IBAN)", "IBAN for the refund"),
                  ("iban", "payout_iban", "bank_iban")),
    "SWIFT_CODE": (("SWIFT code", "BIC", "SWIFT/BIC"),
                   ("swift", "bic", "swift_code")),
    "IP_ADDRESS": (("IP address", "server IP", "client IP", "IP"),
                   ("ip", "host_ip", "client_ip", "bind_address")),
    "DATE_OF_BIRTH": (("date of birth", "DOB", "birth date", "birthday"),
                      ("date_of_birth", "dob", "birthdate")),
    "UK_NATIONAL_INSURANCE_NUMBER": (("National Insurance number", "NI number", "NINO"),
                                     ("nino", "ni_number")),
    "CANADA_SOCIAL_INSURANCE_NUMBER": (("SIN", "social insurance number", "Canadian SIN"),
                                       ("sin", "social_insurance_number")),
    "FRANCE_NIR": (("numéro de sécurité sociale", "NIR", "French social security number"),
                   ("nir", "numero_secu")),
    "GERMANY_TAXPAYER_IDENTIFICATION_NUMBER": (("Steuer-ID", "Steueridentifikationsnummer", "German tax ID"),
                                               ("steuer_id", "tax_id_de", "idnr")),
    "SPAIN_DNI_NUMBER": (("DNI", "documento nacional de identidad", "DNI number"),
                         ("dni", "documento_dni")),
    "SPAIN_NIE_NUMBER": (("NIE", "número de identidad de extranjero", "NIE number"),
                         ("nie", "numero_nie")),
    "ITALY_FISCAL_CODE": (("codice fiscale", "fiscal code", "CF"),
                          ("codice_fiscale", "fiscal_code")),
    "NETHERLANDS_BSN_NUMBER": (("BSN", "burgerservicenummer", "BSN number"),
                               ("bsn", "burgerservicenummer")),
    "INDIA_AADHAAR_INDIVIDUAL": (("Aadhaar", "Aadhaar number", "UID (Aadhaar)"),
                                 ("aadhaar", "aadhaar_number")),
    "INDIA_PAN_INDIVIDUAL": (("PAN", "PAN card number", "income tax PAN"),
                             ("pan_number", "pan_card")),
    "BRAZIL_CPF_NUMBER": (("CPF", "CPF number", "cadastro de pessoa física"),
                          ("cpf", "cpf_number")),
    "US_HEALTHCARE_NPI": (("NPI", "provider NPI", "National Provider Identifier"),
                          ("npi", "provider_npi")),
    "US_DEA_NUMBER": (("DEA number", "DEA registration", "prescriber DEA"),
                      ("dea_number", "dea")),
    "MEDICAL_RECORD_NUMBER": (("medical record", "patient record", "chart number"),
                              ("mrn", "medical_record_number")),
    "ICD10_CODE": (("diagnosis code", "ICD-10", "dx code", "ICD10 diagnosis"),
                   ("icd10", "diagnosis_code", "dx_code")),
    "AWS_CREDENTIALS": (("AWS keys", "AWS credentials", "IAM access keys"), ("aws",)),
    "GCP_API_KEY": (("Google API key", "Maps API key", "GCP key"),
                    ("google_api_key", "maps_api_key", "gcp_api_key")),
    "GCP_CREDENTIALS": (("service account key", "GCP service account JSON", "credentials.json"),
                        ("service_account", "gcp_credentials")),
    "AZURE_STORAGE_KEY": (("Azure storage connection string", "storage account key", "blob connection string"),
                          ("azure_storage_connection_string", "storage_conn")),
    "GITHUB_TOKEN": (("GitHub token", "PAT", "GitHub personal access token"),
                     ("github_token", "gh_token", "github_pat")),
    "GITLAB_TOKEN": (("GitLab token", "GitLab PAT", "deploy token"),
                     ("gitlab_token", "ci_token", "gitlab_pat")),
    "SLACK_TOKEN": (("Slack bot token", "Slack token", "app token"),
                    ("slack_token", "slack_bot_token", "slack_app_token")),
    "SLACK_WEBHOOK": (("Slack webhook", "incoming webhook URL", "alerts webhook"),
                      ("slack_webhook_url", "alert_webhook")),
    "STRIPE_API_KEY": (("Stripe key", "Stripe secret key", "Stripe API key"),
                       ("stripe_secret_key", "stripe_api_key", "stripe_key")),
    "TWILIO_API_KEY": (("Twilio API key", "Twilio key SID", "Twilio key"),
                       ("twilio_api_key", "twilio_key_sid")),
    "SENDGRID_API_KEY": (("SendGrid key", "SendGrid API key", "mail API key"),
                         ("sendgrid_api_key", "sendgrid_key")),
    "NPM_TOKEN": (("npm token", "npm publish token", "registry token"),
                  ("npm_token", "npm_auth_token")),
    "PYPI_TOKEN": (("PyPI token", "PyPI API token", "upload token"),
                   ("pypi_token", "twine_password")),
    "HUGGINGFACE_TOKEN": (("Hugging Face token", "HF token", "hub token"),
                          ("hf_token", "huggingface_token")),
    "DATABRICKS_TOKEN": (("Databricks token", "Databricks PAT", "workspace token"),
                         ("databricks_token", "dbx_token")),
    "ANTHROPIC_API_KEY": (("Anthropic key", "Claude API key", "Anthropic API key"),
                          ("anthropic_api_key", "claude_api_key")),
    "OPENAI_API_KEY": (("OpenAI key", "OpenAI API key", "OpenAI project key"),
                       ("openai_api_key", "openai_key")),
    "ENCRYPTION_KEY": (("private key", "deploy key", "TLS key", "SSH key"),
                       ("private_key", "deploy_key", "tls_key")),
    "JSON_WEB_TOKEN": (("JWT", "bearer token", "session token", "access token"),
                       ("jwt", "access_token", "session_token")),
    "PASSWORD": (("password", "db password", "config line"), ("password",)),
    "BASIC_AUTH_HEADER": (("auth header", "Authorization header", "basic auth header"),
                          ("auth_header", "default_header")),
    "DATABASE_CONNECTION_STRING": (("connection string", "database URL", "DSN"),
                                   ("database_url", "db_dsn", "sqlalchemy_url")),
}

_PRODUCTS = ("billing service", "checkout flow", "data pipeline", "mobile app", "onboarding form",
             "quarterly report", "search index", "nightly export", "HR portal", "support queue",
             "analytics dashboard", "payments API", "CRM sync", "SSO rollout", "warehouse job")
_TEAMS = ("platform", "finance", "security", "growth", "support", "data", "infra", "legal", "ops")
_VERBS = ("review", "migrate", "debug", "summarize", "refactor", "document", "test", "deploy",
          "profile", "rewrite", "audit", "draft")
_IDENTS = ("user", "account", "order", "invoice", "record", "payload", "config", "session", "result",
           "batch", "event", "customer", "report", "item", "entry", "request", "response", "cache")
_ATTRS = ("id", "name", "status", "created", "total", "count", "region", "owner", "kind", "tags")

_CHAT_FILLER = (
    "Can you help me {verb} the {product}? It has been flaky since last week.",
    "Thanks, that worked. Next question: how should we structure the {team} team's runbook?",
    "Here is the context: we ship the {product} every Tuesday and the {team} team owns it.",
    "Please {verb} this paragraph so it reads better for the board.",
    "What's the difference between a left join and an inner join again?",
    "Could you write a short summary of the incident for the {team} channel?",
    "I need a regex that matches ISO dates but not times.",
    "Great, can you make it shorter and less formal?",
    "We're seeing timeouts in the {product} around 9am every day.",
    "Draft a polite reply declining the meeting, {name} is out this week.",
    "Let's {verb} the {product} before the freeze. What are the risks?",
    "Is there a cleaner way to write this loop in Python?",
    "Translate the last answer into Spanish, please.",
    "Our {team} lead wants a one-page plan for the {product} by Friday.",
)
_ASSISTANT_FILLER = (
    "Sure. The short answer is that the {product} depends on a shared cache, so a cold start after "
    "the nightly deploy makes the first requests slow. Warming the cache in the deploy step, or "
    "staggering the rollout, usually removes the spike.",
    "Here is a tighter version:\n\n> The {team} team will {verb} the {product} in two phases, "
    "first behind a flag and then for everyone, with a rollback plan at each step.",
    "A left join keeps every row of the left table and fills the right side with NULL when there is "
    "no match; an inner join keeps only the rows that match on both sides.",
    "I'd split this into three parts: what happened, what we changed, and what we will watch next. "
    "Keep the timeline short and link the detailed log instead of pasting it.",
    "Good question. There are a few options, each with trade-offs:\n\n1. Keep the current design and "
    "add retries.\n2. Move the work to a queue.\n3. Batch the calls and cache the results.\n\n"
    "Option 2 is the most robust if the {team} team can own the queue.",
    "You can use a comprehension instead of the explicit loop; it is shorter and usually faster.",
    "Happy to help. Before I {verb} it, could you tell me who the audience is and how long it "
    "should be?",
)
_EMAIL_FILLER = (
    "Hope you are well. Following up on our call about the {product}.",
    "Please find the details below and let me know if anything is missing.",
    "As discussed, the {team} team will take over the {product} from next sprint.",
    "I have attached the updated plan; the main change is the timeline for the {product}.",
    "Could you confirm by end of week so we can proceed with onboarding?",
    "Thanks again for your patience while we sorted this out.",
)


def _fill(template: str, rng: random.Random) -> str:
    return template.format(
        verb=rng.choice(_VERBS), product=rng.choice(_PRODUCTS), team=rng.choice(_TEAMS),
        name=rng.choice(_NAMES),
    )


# --------------------------------------------------------------------------- decoys

_PLACEHOLDERS = (
    "sk-ant-xxxx", "sk-ant-api03-XXXXXXXXXXXXXXXXXXXX", "<your-api-key>", "<YOUR_TOKEN_HERE>",
    "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "${API_KEY}",
    "{{ secrets.GITHUB_TOKEN }}", "ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "sk_live_XXXXXXXXXXXXXXXX",
    "your-password-here", "REDACTED", "********", "changeme", "xoxb-your-token", "sk-...",
    "<PASSWORD>", "%(db_password)s", "$DB_PASSWORD", "hf_XXXXXXXXXXXXXXXXXXXX",
)


def _decoy_order(rng: random.Random) -> str:
    return str(rng.randint(10**8, 10**10 - 1))


def _decoy_ticket(rng: random.Random) -> str:
    return rng.choice((f"{rng.choice(('OPS', 'SEC', 'BILL', 'PLAT', 'HR'))}-{rng.randint(10, 99999)}",
                       f"#{rng.randint(100000, 9999999)}", f"INC{rng.randint(10**6, 10**7 - 1)}"))


def _decoy_uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _decoy_hash(rng: random.Random) -> str:
    return "".join(rng.choice("0123456789abcdef") for _ in range(rng.choice((7, 12, 40, 40, 64))))


def _decoy_version(rng: random.Random) -> str:
    a, b, c = rng.randint(0, 20), rng.randint(0, 40), rng.randint(0, 200)
    return rng.choice((f"{a}.{b}.{c}", f"v{a}.{b}.{c}", f"{a}.{b}.{c}-rc.{rng.randint(1, 5)}",
                       f"10.0.{rng.randint(17000, 26000)}.{rng.randint(1000, 5000)}",
                       f"{rng.randint(2019, 2026)}.{rng.randint(1, 12)}.{rng.randint(1, 9)}"))


def _decoy_luhn(rng: random.Random) -> str:
    """A Luhn-valid number that is not a card: an IMEI, or a reference/tracking number."""
    if rng.random() < 0.4:
        body = rng.choice(("35", "86", "01", "99")) + "".join(rng.choice(string.digits) for _ in range(12))
    else:
        length = rng.choice((12, 14, 16, 18, 19))
        lead = rng.choice("01789") if rng.random() < 0.75 else rng.choice(string.digits[1:])
        body = lead + "".join(rng.choice(string.digits) for _ in range(length - 2))
    return body + luhn.calc_check_digit(body)


def _decoy_build(rng: random.Random) -> str:
    """Phone-shaped build and CI run numbers."""
    area = rng.randint(201, 989)
    return rng.choice((f"{area}{rng.randint(2000000, 9999999)}",
                       f"{area}-{rng.randint(200, 999)}-{rng.randint(1000, 9999)}",
                       f"{rng.randint(2019, 2026)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}.{rng.randint(1, 99)}"))


def _decoy_date(rng: random.Random) -> str:
    y, m, d = rng.randint(1950, 2030), rng.randint(1, 12), rng.randint(1, 28)
    return rng.choice((f"{y}-{m:02d}-{d:02d}", f"{m:02d}/{d:02d}/{y}", f"{d:02d}.{m:02d}.{y}",
                       f"{y}-{m:02d}-{d:02d}T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:00Z"))


def _decoy_placeholder(rng: random.Random) -> str:
    return rng.choice(_PLACEHOLDERS)


_DECOYS: dict[str, Callable[[random.Random], str]] = {
    "order_number": _decoy_order, "ticket_number": _decoy_ticket, "uuid": _decoy_uuid,
    "hash": _decoy_hash, "version": _decoy_version, "placeholder": _decoy_placeholder,
    "luhn_not_card": _decoy_luhn, "build_number": _decoy_build, "date_not_dob": _decoy_date,
}
DECOY_KINDS: tuple[str, ...] = tuple(_DECOYS)

# Sentences that put a decoy in a context that says what it is. ``{D}`` is the decoy.
_DECOY_PROSE: dict[str, tuple[str, ...]] = {
    "order_number": ("order #{D} still shows as pending", "refund order {D} please",
                     "order number {D} was shipped twice"),
    "ticket_number": ("see ticket {D} for the details", "I filed {D} for this",
                      "tracked in {D}"),
    "uuid": ("request id {D} failed", "the job {D} is stuck", "tenant {D} reported it"),
    "hash": ("it broke in commit {D}", "the artifact checksum is {D}", "revert {D} first"),
    "version": ("after upgrading to {D} it crashes", "we are pinned to {D}",
                "release {D} fixed it"),
    "placeholder": ("set the key to {D} in the example", "the docs say api_key={D}",
                    "replace {D} with your own value"),
    "luhn_not_card": ("IMEI {D} is the device that was lost", "tracking number {D}",
                      "invoice reference {D} is unpaid", "shipment {D} arrived damaged"),
    "build_number": ("build {D} is green", "CI run {D} failed on lint", "pipeline #{D} deployed it"),
    "date_not_dob": ("the release shipped on {D}", "deadline is {D}", "meeting moved to {D}",
                     "contract signed {D}"),
}


# --------------------------------------------------------------------------- the writer

class _Writer:
    """Builds a document left to right, remembering where planted values and decoys landed."""

    def __init__(self) -> None:
        self._parts: list[str] = []
        self._pos = 0
        self.labels: list[Label] = []
        self.decoys: list[Decoy] = []

    def add(self, text: str) -> None:
        self._parts.append(text)
        self._pos += len(text)

    def plant(self, infotype: str, value: str) -> None:
        self.labels.append(Label(infotype, self._pos, self._pos + len(value)))
        self.add(value)

    def decoy(self, kind: str, value: str) -> None:
        self.decoys.append(Decoy(kind, self._pos, self._pos + len(value)))
        self.add(value)

    def render(self, template: str, **slots: tuple[str, str, str]) -> None:
        """Write ``template``; each ``{NAME}`` is ("plant"|"decoy"|"text", infotype/kind, value)."""
        for piece in re.split(r"(\{[A-Za-z]\})", template):
            if len(piece) == 3 and piece[0] == "{" and piece[2] == "}" and piece[1] in slots:
                role, what, value = slots[piece[1]]
                if role == "plant":
                    self.plant(what, value)
                elif role == "decoy":
                    self.decoy(what, value)
                else:
                    self.add(value)
            elif piece:
                self.add(piece)

    @property
    def size(self) -> int:
        return self._pos

    def text(self) -> str:
        return "".join(self._parts)


# --------------------------------------------------------------------------- placement rules

_MULTILINE = frozenset(_values.MULTILINE_INFOTYPES)
_SELF_DESCRIBING = frozenset({"PASSWORD", "AWS_CREDENTIALS", "BASIC_AUTH_HEADER"})
_CONFIG_PII = frozenset({"EMAIL_ADDRESS", "PHONE_NUMBER", "IP_ADDRESS", "IBAN_CODE", "SWIFT_CODE",
                         "US_BANK_ROUTING_MICR"})
_LOG_PII = frozenset({"EMAIL_ADDRESS", "PHONE_NUMBER", "IP_ADDRESS", "CREDIT_CARD_NUMBER",
                      "US_SOCIAL_SECURITY_NUMBER", "MEDICAL_RECORD_NUMBER", "ICD10_CODE",
                      "US_HEALTHCARE_NPI", "IBAN_CODE"})


def _credential(infotype: str) -> bool:
    return infotype in _values.CREDENTIAL_INFOTYPES


def _eligible(kind: str, infotypes: tuple[str, ...]) -> tuple[str, ...]:
    if kind in ("chat", "email", "code"):
        return infotypes
    if kind == "config":
        return tuple(t for t in infotypes if _credential(t) or t in _CONFIG_PII)
    return tuple(t for t in infotypes if (_credential(t) or t in _LOG_PII) and t not in _MULTILINE)


def _spread(infotype: str, infotypes: tuple[str, ...]) -> int:
    return sum(infotype in _eligible(kind, infotypes) for kind in KINDS)


def _quotable(value: str, quote: str = '"') -> bool:
    return "\n" not in value and quote not in value and "\\" not in value


def _say(infotype: str, rng: random.Random) -> str:
    return rng.choice(_CONTEXT.get(infotype, ((infotype.lower().replace("_", " "),), ("value",)))[0])


def _ident(infotype: str, rng: random.Random) -> str:
    return rng.choice(_CONTEXT.get(infotype, ((), ("value",)))[1])


# --------------------------------------------------------------------------- chat and e-mail prose

_PII_PROSE = (
    "my {s} is {V}, can you update the record?",
    "{S}: {V}",
    "can you double-check the {s} {V} for {n}?",
    "{n}'s {s} is {V}, please add it to the file.",
    "I typed {V} as the {s} but the form rejects it.",
    "New intake for {n} {l} — {s} {V}.",
    "Use this {s} for the application: {V}",
    "Update: the {s} on file should be {V} (not the old one).",
)
_SECRET_PROSE = (
    "here's the {s} for staging: {V}",
    "I'm getting 401 with {V}, is the {s} revoked?",
    "{S}: {V}",
    "why does the client reject my {s} {V}?",
    "rotate this {s} asap, it was in the screenshot: {V}",
)
_SELF_PROSE = (
    "this is the line from the config:\n{V}\nwhy doesn't it load?",
    "I set `{V}` but the service still can't connect.",
    "The {s} we use:\n```\n{V}\n```",
)
_BLOCK_PROSE = (
    "Here is the {s}:\n{V}\nCan you tell me what format this is?",
    "The {s} we deploy with:\n```\n{V}\n```\nIs it safe to commit?",
)


def _prose_for(infotype: str, value: str, rng: random.Random) -> str:
    if "\n" in value:
        return rng.choice(_BLOCK_PROSE)
    if infotype in _SELF_DESCRIBING:
        return rng.choice(_SELF_PROSE)
    return rng.choice(_SECRET_PROSE if _credential(infotype) else _PII_PROSE)


def written_variant(infotype: str, value: str) -> str | None:
    """Another way people write ``value`` in prose, or None: phone numbers in the national
    format of their region ("(415) 555-0123", "030 1234567"), SSNs and ITINs without dashes."""
    if infotype == "PHONE_NUMBER":
        number = phonenumbers.parse(value)
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    if infotype in ("US_SOCIAL_SECURITY_NUMBER", "US_INDIVIDUAL_TAXPAYER_IDENTIFICATION_NUMBER"):
        return value.replace("-", "")
    return None


def _write_prose_plant(w: _Writer, infotype: str, value: str, rng: random.Random) -> None:
    variant = written_variant(infotype, value)
    if variant and rng.random() < 0.3:
        value = variant
    template = _prose_for(infotype, value, rng)
    say = _say(infotype, rng)
    w.render(template, V=("plant", infotype, value), s=("text", "", say),
             S=("text", "", say[:1].upper() + say[1:]), n=("text", "", rng.choice(_NAMES)),
             l=("text", "", rng.choice(_SURNAMES)))


def _write_prose_decoy(w: _Writer, kind: str, rng: random.Random) -> None:
    template = rng.choice(_DECOY_PROSE[kind])
    w.render(template, D=("decoy", kind, _DECOYS[kind](rng)))


# --------------------------------------------------------------------------- document builders

@dataclass
class _Plan:
    """What a document should contain: how many values and decoys, from which infoTypes."""

    infotypes: tuple[str, ...]
    values: ValueSource
    plants: int
    decoys: int

    def infotype(self, kind: str, rng: random.Random) -> str:
        """Draw an infoType that fits ``kind``, weighted so that each infoType ends up planted
        about equally often across the document kinds."""
        eligible = _eligible(kind, self.infotypes)
        return rng.choices(eligible, weights=[1 / _spread(t, self.infotypes) for t in eligible])[0]


def _events(plan: _Plan, n_filler: int, rng: random.Random) -> list[str]:
    events = ["plant"] * plan.plants + ["decoy"] * plan.decoys + ["filler"] * n_filler
    rng.shuffle(events)
    return events


def _chat(plan: _Plan, rng: random.Random) -> tuple[str, _Writer]:
    w = _Writer()
    turns = rng.randint(4, 12)
    for event in _events(plan, turns, rng):
        w.add("Human: ")
        if event == "plant":
            t = plan.infotype("chat", rng)
            w.add(_fill(rng.choice(_CHAT_FILLER), rng) + " Also, ")
            _write_prose_plant(w, t, plan.values(t, rng), rng)
        elif event == "decoy":
            w.add(_fill(rng.choice(_CHAT_FILLER), rng) + " FYI ")
            _write_prose_decoy(w, rng.choice(DECOY_KINDS), rng)
            w.add(".")
        else:
            w.add(_fill(rng.choice(_CHAT_FILLER), rng))
        w.add("\n\nAssistant: " + _fill(rng.choice(_ASSISTANT_FILLER), rng) + "\n\n")
    return "txt", w


def _email(plan: _Plan, rng: random.Random) -> tuple[str, _Writer]:
    w = _Writer()
    sender, recipient = rng.choice(_NAMES), rng.choice(_NAMES)
    w.render("From: {a} {b} <{X}>\nTo: {c} <{Y}>\n",
             a=("text", "", sender), b=("text", "", rng.choice(_SURNAMES)),
             X=("plant", "EMAIL_ADDRESS", plan.values("EMAIL_ADDRESS", rng)),
             c=("text", "", recipient),
             Y=("plant", "EMAIL_ADDRESS", plan.values("EMAIL_ADDRESS", rng)))
    w.add(f"Subject: {rng.choice(_PRODUCTS).title()} follow-up\n")
    w.render("Date: {D}\n\n", D=("decoy", "date_not_dob", _decoy_date(rng)))
    w.add(f"Hi {recipient},\n\n")
    for event in _events(plan, rng.randint(2, 5), rng):
        if event == "plant":
            t = plan.infotype("email", rng)
            _write_prose_plant(w, t, plan.values(t, rng), rng)
        elif event == "decoy":
            w.add("For reference, ")
            _write_prose_decoy(w, rng.choice(DECOY_KINDS), rng)
            w.add(".")
        else:
            w.add(_fill(rng.choice(_EMAIL_FILLER), rng))
        w.add("\n\n")
    w.add(f"Best regards,\n{sender}\n")
    return "eml", w


# Source code ---------------------------------------------------------------------------------

_PY_FILLER = (
    'def {f}({a}, {b}=None):\n    """{F} each {a} and index it by {t}."""\n    if {b} is None:\n'
    '        {b} = {{}}\n    for i, item in enumerate({a}):\n        {b}[item.{t}] = i\n    return {b}\n',
    'class {C}:\n    """Holds one {a} while it is processed."""\n\n    def __init__(self, {a}, retries=3):\n'
    '        self.{a} = {a}\n        self.retries = retries\n\n    def {f}(self):\n'
    '        for attempt in range(self.retries):\n            log.debug("attempt %d for %s", attempt, self.{a})\n'
    '            if self.{a}.{t}:\n                return True\n        return False\n',
    'def {f}(rows):\n    total = 0\n    for row in rows:\n        if row.get("{t}") is None:\n'
    '            continue\n        total += row["{t}"]\n    return total / max(len(rows), 1)\n',
    '@app.get("/{a}s/{{{a}_id}}")\nasync def get_{a}({a}_id: int, db=Depends(get_db)):\n'
    '    {b} = await db.fetch_one("SELECT * FROM {a}s WHERE id = :id", {{"id": {a}_id}})\n'
    '    if {b} is None:\n        raise HTTPException(status_code=404)\n    return {b}\n',
    'def test_{f}():\n    {a} = make_{a}({t}="x")\n    assert {f}([{a}]) == {{"x": 0}}\n',
)
_JS_FILLER = (
    'export function {f}({a}, {b} = {{}}) {{\n  // {F} each {a} by {t}\n  for (const [i, item] of {a}.entries()) {{\n'
    '    {b}[item.{t}] = i;\n  }}\n  return {b};\n}}\n',
    'export class {C} {{\n  constructor({a}) {{\n    this.{a} = {a};\n    this.retries = 3;\n  }}\n\n'
    '  async {f}() {{\n    const res = await fetch(`/api/{a}s/${{this.{a}.{t}}}`);\n    if (!res.ok) throw new Error(res.statusText);\n'
    '    return res.json();\n  }}\n}}\n',
    'const {f} = (rows) => rows.filter((r) => r.{t} != null).reduce((acc, r) => acc + r.{t}, 0);\n',
)
_GO_FILLER = (
    'func {C}{F}({a} []{C}) map[string]int {{\n\t{b} := make(map[string]int, len({a}))\n'
    '\tfor i, item := range {a} {{\n\t\t{b}[item.{T}] = i\n\t}}\n\treturn {b}\n}}\n',
    'type {C} struct {{\n\tID   int64  `json:"id"`\n\t{T} string `json:"{t}"`\n}}\n\n'
    'func (c *{C}) {F}(ctx context.Context) error {{\n\tif c.{T} == "" {{\n\t\treturn errors.New("missing {t}")\n\t}}\n'
    '\treturn nil\n}}\n',
)
_LANGS = {
    "py": ("import logging\nimport os\n\nlog = logging.getLogger(__name__)\n\n", _PY_FILLER, "# "),
    "js": ("import {{ readFile }} from 'node:fs/promises';\n\n", _JS_FILLER, "// "),
    "go": ("package {a}\n\nimport (\n\t\"context\"\n\t\"errors\"\n\t\"os\"\n)\n\n", _GO_FILLER, "// "),
}


def _code_words(rng: random.Random) -> dict[str, str]:
    a, b, t = rng.choice(_IDENTS), rng.choice(_IDENTS) + "_map", rng.choice(_ATTRS)
    verb = rng.choice(_VERBS)
    return {"a": a, "b": b, "t": t, "T": t.title(), "f": f"{verb}_{a}s", "F": verb.title(),
            "C": a.title() + rng.choice(("Job", "Store", "Client", "Handler", "Batch"))}


def _code_plant(w: _Writer, lang: str, infotype: str, plan: _Plan, rng: random.Random) -> None:
    value = plan.values(infotype, rng)
    ident = _ident(infotype, rng)
    const = ident.upper()
    comment = _LANGS[lang][2]
    V = ("plant", infotype, value)
    if "\n" in value or not _quotable(value):
        if lang == "py":
            w.render('{K} = """\n{V}\n"""\n', K=("text", "", const), V=V)
        elif lang == "js":
            w.render("const {K} = `\n{V}\n`;\n", K=("text", "", const), V=V)
        else:
            w.render("const {K} = `\n{V}\n`\n", K=("text", "", const), V=V)
        return
    if infotype in _SELF_DESCRIBING:
        w.render("{c}local override: {V}\n", c=("text", "", comment), V=V)
        return
    if _credential(infotype):
        choices = {
            "py": ('{K} = "{V}"\n', 'client = Client(api_key="{V}", timeout=30)\n',
                   'os.environ.setdefault("{K}", "{V}")\n', '{k} = os.getenv("{K}", "{V}")\n'),
            "js": ("const {k} = '{V}';\n", "const client = new Client({{ apiKey: '{V}' }});\n",
                   "const {k} = process.env.{K} || '{V}';\n"),
            "go": ('const {k} = "{V}"\n', 'client := NewClient("{V}")\n',
                   '{k} := getenv("{K}", "{V}")\n'),
        }[lang]
    else:
        choices = {
            "py": ('{k} = "{V}"\n', 'FIXTURE = {{"name": "{n}", "{k}": "{V}"}}\n',
                   'assert is_valid_{k}("{V}")\n'),
            "js": ("const fixture = {{ name: '{n}', {k}: '{V}' }};\n", "expect(valid('{V}')).toBe(true); // {k}\n"),
            "go": ('{k} := "{V}" // {n}\n', 'fixture := map[string]string{{"{k}": "{V}"}}\n'),
        }[lang]
    template = rng.choice(choices).replace("{{", "{").replace("}}", "}")
    if "'" in value and "'{V}'" in template:
        template = template.replace("'{V}'", '"{V}"')
    w.render(template, V=V, K=("text", "", const), k=("text", "", ident),
             n=("text", "", rng.choice(_NAMES)))


_CODE_DECOYS = {
    "order_number": "{k}ORDER_ID = {D}\n",
    "ticket_number": "{c}TODO({D}): handle the empty case\n",
    "uuid": '{k}REQUEST_ID = "{D}"\n',
    "hash": "{c}regression introduced in {D}\n",
    "version": '{k}VERSION = "{D}"\n',
    "placeholder": '{k}API_KEY = "{D}"  \n',
    "luhn_not_card": '{k}TRACKING_NUMBER = "{D}"\n',
    "build_number": "{c}built by CI run {D}\n",
    "date_not_dob": '{k}RELEASE_DATE = "{D}"\n',
}


def _code(plan: _Plan, rng: random.Random) -> tuple[str, _Writer]:
    lang = rng.choice(("py", "py", "js", "go"))
    header, fillers, comment = _LANGS[lang]
    keyword = {"py": "", "js": "const ", "go": "var "}[lang]
    w = _Writer()
    w.add(header.format(**_code_words(rng)))
    for event in _events(plan, rng.randint(3, 10), rng):
        if event == "plant":
            _code_plant(w, lang, plan.infotype("code", rng), plan, rng)
        elif event == "decoy":
            kind = rng.choice(DECOY_KINDS)
            w.render(_CODE_DECOYS[kind], D=("decoy", kind, _DECOYS[kind](rng)),
                     c=("text", "", comment), k=("text", "", keyword))
        else:
            w.add(rng.choice(fillers).format(**_code_words(rng)))
        w.add("\n")
    return lang, w


# Configuration ------------------------------------------------------------------------------

_CONFIG_BENIGN = (("host", "api.internal"), ("port", "8443"), ("timeout_seconds", "30"),
                  ("log_level", "info"), ("region", "eu-west-1"), ("feature_new_checkout", "true"),
                  ("max_connections", "50"), ("cache_ttl", "300"), ("environment", "production"),
                  ("bucket", "acme-exports"), ("queue", "jobs-default"), ("retries", "5"))


def _config_line(fmt: str, key: str, value: str, raw: bool) -> tuple[str, str]:
    """Return (before, after) around the value for one ``key = value`` entry in ``fmt``."""
    if fmt == "yaml":
        return (f"{key}: ", "\n") if raw else (f'{key}: "', '"\n')
    if fmt == "env":
        return (f"{key.upper()}=", "\n") if raw else (f'{key.upper()}="', '"\n')
    if fmt == "ini":
        return f"{key} = ", "\n"
    return (f'  "{key}": ', ",\n") if raw else (f'  "{key}": "', '",\n')


def _config(plan: _Plan, rng: random.Random) -> tuple[str, _Writer]:
    w = _Writer()
    fmt = rng.choice(("yaml", "env", "ini", "json"))
    if fmt == "json" and plan.plants and "GCP_CREDENTIALS" in plan.infotypes and rng.random() < 0.15:
        w.plant("GCP_CREDENTIALS", plan.values("GCP_CREDENTIALS", rng))
        w.add("\n")
        return "json", w
    if fmt == "ini":
        w.add(f"[{rng.choice(_TEAMS)}]\n")
    elif fmt == "json":
        w.add("{\n")
    elif fmt == "yaml":
        w.add(f"# {rng.choice(_PRODUCTS)} settings\n")
    used: set[str] = set()
    for event in _events(plan, rng.randint(4, 12), rng):
        if event == "plant":
            t = plan.infotype("config", rng)
            value = plan.values(t, rng)
            if "\n" in value or t in _SELF_DESCRIBING:
                if fmt in ("env", "ini") and t in ("AWS_CREDENTIALS", "PASSWORD") and '"' not in value:
                    w.plant(t, value)
                    w.add("\n")
                    continue
                t = rng.choice([x for x in _eligible("config", plan.infotypes)
                                if x not in _MULTILINE and x not in _SELF_DESCRIBING])
                value = plan.values(t, rng)
            raw = fmt in ("yaml", "env", "ini") and re.fullmatch(r"[A-Za-z0-9_.+/=@:-]+", value) is not None \
                and ": " not in value
            if not raw and not _quotable(value):
                continue
            before, after = _config_line(fmt, _ident(t, rng), value, raw)
            w.add(before)
            w.plant(t, value)
            w.add(after)
        elif event == "decoy":
            kind = rng.choice(DECOY_KINDS)
            key = {"order_number": "last_order_id", "ticket_number": "owner_ticket", "uuid": "tenant_id",
                   "hash": "image_digest", "version": "version", "placeholder": "api_key",
                   "luhn_not_card": "device_imei", "build_number": "build_id",
                   "date_not_dob": "maintenance_window_start"}[kind]
            before, after = _config_line(fmt, key, "", False)
            w.add(before)
            w.decoy(kind, _DECOYS[kind](rng))
            w.add(after)
        else:
            unused = [kv for kv in _CONFIG_BENIGN if kv[0] not in used] or list(_CONFIG_BENIGN)
            key, value = rng.choice(unused)
            used.add(key)
            before, after = _config_line(fmt, key, value, fmt != "json")
            w.add(before + value + after)
    if fmt == "json":
        w.add('  "schema": 1\n}\n')
    return {"yaml": "yaml", "env": "env", "ini": "ini", "json": "json"}[fmt], w


# Logs ---------------------------------------------------------------------------------------

_LOG_BENIGN = ("GET /healthz 200 {ms}ms", "cache hit ratio={pct}%", "worker {n} started",
               "flushed {n} events to the queue", "POST /api/v1/events 202 {ms}ms",
               "scheduler tick, {n} jobs due", "connection pool size={n}")


def _log(plan: _Plan, rng: random.Random) -> tuple[str, _Writer]:
    w = _Writer()
    svc = rng.choice(("api", "billing", "auth", "worker", "gateway"))
    second = rng.randint(0, 86000)
    for event in _events(plan, rng.randint(10, 40), rng):
        second += rng.randint(0, 30)
        w.add(f"2026-11-{rng.randint(1, 27):02d}T{second // 3600:02d}:{second // 60 % 60:02d}:"
              f"{second % 60:02d}.{rng.randint(0, 999):03d}Z ")
        level = rng.choice(("INFO", "INFO", "DEBUG", "WARN", "ERROR"))
        w.add(f"{level} [{svc}] ")
        if event == "plant":
            t = plan.infotype("log", rng)
            value = plan.values(t, rng)
            if t in _SELF_DESCRIBING:
                w.render("request headers: {V}", V=("plant", t, value))
            elif _credential(t):
                w.render("auth failed for {s}={V}", s=("text", "", _ident(t, rng)), V=("plant", t, value))
            else:
                w.render(rng.choice(("user lookup {s}={V} ok", "validation failed: {s} {V}",
                                     "{s}={V} status=ok")),
                         s=("text", "", _ident(t, rng)), V=("plant", t, value))
        elif event == "decoy":
            kind = rng.choice(DECOY_KINDS)
            key = {"order_number": "order_id", "ticket_number": "ticket", "uuid": "request_id",
                   "hash": "commit", "version": "version", "placeholder": "api_key",
                   "luhn_not_card": "tracking_no", "build_number": "build",
                   "date_not_dob": "scheduled_for"}[kind]
            w.render("processing {k}={D}", k=("text", "", key), D=("decoy", kind, _DECOYS[kind](rng)))
        else:
            w.add(rng.choice(_LOG_BENIGN).format(ms=rng.randint(1, 900), pct=rng.randint(40, 99),
                                                 n=rng.randint(1, 64)))
        w.add("\n")
    return "log", w


_BUILDERS = {"chat": _chat, "code": _code, "config": _config, "log": _log, "email": _email}


def build_document(kind: str, index: int, *, seed: int = DEFAULT_SEED, plants: int | None = None,
                   decoys: int | None = None, values: ValueSource | None = None,
                   infotypes: tuple[str, ...] | None = None) -> Document:
    """Build document ``index`` of ``kind`` deterministically from ``seed``.

    ``plants``/``decoys`` fix how many sensitive values and hard negatives it holds (random 1-4
    and 1-3 when None); ``values`` and ``infotypes`` default to ``vigil.synth.values``.
    """
    if kind not in _BUILDERS:
        raise ValueError(f"unknown document kind {kind!r}; known: {', '.join(KINDS)}")
    rng = random.Random(f"{seed}:{CORPUS_VERSION}:{kind}:{index}")
    plan = _Plan(infotypes=tuple(infotypes or _values.PLANTED_INFOTYPES),
                 values=values or _values.generate,
                 plants=rng.randint(1, 4) if plants is None else plants,
                 decoys=rng.randint(1, 3) if decoys is None else decoys)
    ext, w = _BUILDERS[kind](plan, rng)
    return Document(doc_id=f"{kind}-{index:06d}", kind=kind, filename=f"{kind}/{index:06d}.{ext}",
                    text=w.text(), labels=w.labels, decoys=w.decoys)


def quality_corpus(target_bytes: int = 3_000_000, *, seed: int = DEFAULT_SEED,
                   values: ValueSource | None = None,
                   infotypes: tuple[str, ...] | None = None) -> list[Document]:
    """The labelled quality set: documents of every kind, interleaved, about ``target_bytes``."""
    docs: list[Document] = []
    size = 0
    index = 0
    while size < target_bytes:
        for kind in KINDS:
            doc = build_document(kind, index, seed=seed, values=values, infotypes=infotypes)
            docs.append(doc)
            size += len(doc.text.encode())
        index += 1
    return docs


def speed_corpus(kind: str, target_bytes: int, *, seed: int = DEFAULT_SEED,
                 values: ValueSource | None = None) -> list[Document]:
    """Throughput set of one kind ("chat" or "code"): one value or decoy in about one document
    in three, the rest ordinary content."""
    docs: list[Document] = []
    size = 0
    index = 0
    while size < target_bytes:
        rng = random.Random(f"{seed}:speed:{kind}:{index}")
        roll = rng.random()
        doc = build_document(kind, 1_000_000 + index, seed=seed, values=values,
                             plants=1 if roll < 0.2 else 0, decoys=1 if 0.2 <= roll < 0.35 else 0)
        docs.append(doc)
        size += len(doc.text.encode())
        index += 1
    return docs


def stdlib_root() -> Path:
    """The standard-library directory of the running interpreter."""
    return Path(sysconfig.get_paths()["stdlib"])


def stdlib_corpus(limit_bytes: int | None = None) -> list[Document]:
    """Every ``*.py`` of the standard library (``site-packages`` excluded), sorted by path;
    ``limit_bytes`` stops after that many bytes. Undecodable bytes are replaced."""
    root = stdlib_root()
    docs: list[Document] = []
    size = 0
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root)
        if "site-packages" in rel.parts or not path.is_file():
            continue
        text = path.read_bytes().decode("utf-8", errors="replace")
        docs.append(Document(doc_id=str(rel), kind="stdlib", filename=str(rel), text=text))
        size += len(text.encode())
        if limit_bytes is not None and size >= limit_bytes:
            break
    return docs


def corpus_bytes(docs: list[Document]) -> int:
    """Total UTF-8 size of ``docs``."""
    return sum(len(d.text.encode()) for d in docs)


def write_corpus(docs: list[Document], directory: Path) -> list[Path]:
    """Write each document under ``directory`` at its ``filename`` plus ``labels.jsonl``."""
    paths = []
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / "labels.jsonl", "w", encoding="utf-8") as index:
        for doc in docs:
            path = directory / doc.filename
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(doc.text, encoding="utf-8")
            paths.append(path)
            index.write(json.dumps({"doc": doc.filename, "labels": [vars(x) for x in doc.labels],
                                    "decoys": [vars(x) for x in doc.decoys]}) + "\n")
    return paths


def iter_planted(docs: list[Document]) -> Iterator[tuple[Document, Label]]:
    """Every (document, label) pair."""
    for doc in docs:
        for label in doc.labels:
            yield doc, label


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="directory to write the quality set to")
    parser.add_argument("--bytes", type=int, default=3_000_000)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args(argv)
    docs = quality_corpus(args.bytes, seed=args.seed)
    write_corpus(docs, args.out)
    print(f"{len(docs)} documents, {corpus_bytes(docs):,} bytes, "
          f"{sum(len(d.labels) for d in docs)} labels, {sum(len(d.decoys) for d in docs)} decoys -> {args.out}")


if __name__ == "__main__":
    main()
