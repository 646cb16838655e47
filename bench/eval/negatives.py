"""Hard negatives: strings that look like sensitive values and are not.

Each generator returns the text of one decoy; ``KINDS`` names them. Documents carry them with
``Decoy(kind, start, end)`` so the scorer can count how often each kind is flagged.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Callable

from stdnum import luhn

from bench.eval.values import HEX, UPPER_ALNUM, Gen, format_date, known_examples

_OIDS = ("1.3.6.1.4.1.311.21.8", "2.16.840.1.113730.3.1.1", "1.2.840.113549.1.1.11", "2.5.4.3", "2.5.4.10",
         "1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2", "1.2.840.10045.3.1.7", "2.5.29.17", "1.3.6.1.4.1.11129.2.4.2",
         "1.2.840.113549.1.9.1", "2.23.140.1.2.1")
_PROJECTS = ("OPS", "PAY", "INFRA", "WEB", "DATA", "SEC", "CORE", "MOB", "HR", "FIN")


def version(g: Gen) -> str:
    r = g.rng.random()
    major, minor, patch = g.rng.randint(0, 12), g.rng.randint(0, 40), g.rng.randint(0, 30)
    if r < 0.4:
        return f"{major}.{minor}.{patch}"
    if r < 0.55:
        return f"v{major}.{minor}.{patch}"
    if r < 0.7:
        return f"{major}.{minor}.{patch}-{g.rng.choice(('rc', 'beta', 'alpha'))}.{g.rng.randint(1, 9)}"
    if r < 0.85:  # four-part versions, the IP-shaped ones
        return g.rng.choice((f"10.0.{g.rng.randint(17000, 26100)}.{g.rng.randint(1, 5000)}",
                             f"{g.rng.randint(100, 131)}.0.{g.rng.randint(5000, 6900)}.{g.rng.randint(10, 200)}",
                             f"v{major}.{minor}.{patch}.{g.rng.randint(0, 255)}",
                             f"{major}.{minor}.{patch}.{g.rng.randint(1000, 99999)}"))
    return f"{major}.{minor}.{patch}+build.{g.rng.randint(1, 9999)}"


def oid(g: Gen) -> str:
    if g.rng.random() < 0.6:
        return g.rng.choice(_OIDS)
    return f"1.3.6.1.4.1.{g.rng.randint(1000, 60000)}.{g.rng.randint(1, 20)}.{g.rng.randint(1, 9)}"


def build_number(g: Gen) -> str:
    r = g.rng.random()
    if r < 0.3:
        return f"{g.rng.randint(2022, 2026)}{g.rng.randint(1, 12):02d}{g.rng.randint(1, 28):02d}.{g.rng.randint(1, 12)}"
    if r < 0.6:
        return g.digits(10)  # CI run ids: as long as a national phone number
    if r < 0.8:
        return f"{g.rng.randint(2022, 2026)}.{g.rng.randint(1, 12)}.{g.rng.randint(0, 9)}.{g.rng.randint(1000, 9999)}"
    return str(g.rng.randint(1000, 99999))


def order_number(g: Gen) -> str:
    r = g.rng.random()
    if r < 0.35:
        return f"{g.digits(3)}-{g.digits(7)}-{g.digits(7)}"
    if r < 0.6:
        return f"PO-{g.rng.randint(2022, 2026)}-{g.digits(5)}"
    if r < 0.8:
        return f"#{g.rng.randint(100000000, 199999999)}"
    return f"INV-{g.digits(6)}"


def ticket_number(g: Gen) -> str:
    r = g.rng.random()
    if r < 0.5:
        return f"{g.rng.choice(_PROJECTS)}-{g.rng.randint(10, 9999)}"
    if r < 0.8:
        return f"INC{g.digits(7)}"
    return f"CS-{g.digits(6)}"


def uuid_(g: Gen) -> str:
    return str(uuid.UUID(int=g.rng.getrandbits(128), version=4))


def git_sha(g: Gen) -> str:
    return g.chars(HEX, g.rng.choice((40, 40, 7, 12)))


def digest(g: Gen) -> str:
    r = g.rng.random()
    if r < 0.4:
        return "sha256:" + g.chars(HEX, 64)
    if r < 0.7:
        return g.chars(HEX, 64)
    return g.chars(HEX, 32)


def tracking_number(g: Gen) -> str:
    r = g.rng.random()
    if r < 0.35:
        return "1Z" + g.chars(UPPER_ALNUM, 6) + g.digits(10)
    if r < 0.6:
        return g.digits(12)
    if r < 0.8:
        d = "9400" + g.digits(18)
        return " ".join(d[i:i + 4] for i in range(0, 22, 4))
    body = "35" + g.digits(12)  # an IMEI: Luhn-valid, 15 digits, not a card
    return body + luhn.calc_check_digit(body)


def date_not_dob(g: Gen) -> str:
    return format_date(g, dt.date(2019, 1, 1) + dt.timedelta(days=g.rng.randint(0, 2900)))


def epoch(g: Gen) -> str:
    return str(g.rng.randint(1_600_000_000, 1_790_000_000) * (1000 if g.rng.random() < 0.5 else 1))


def amount(g: Gen) -> str:
    v = g.rng.randint(100, 9_999_999)
    r = g.rng.random()
    if r < 0.5:
        return f"${v / 100:,.2f}"
    if r < 0.8:
        return f"{v / 100:,.2f} EUR".replace(",", " ")
    return f"{v:,}"


def git_ssh_url(g: Gen) -> str:
    f = g.fake("en_US")
    host = g.rng.choice(("github.com", "gitlab.com", "bitbucket.org", "git.internal", "ssh.dev.azure.com"))
    org, repo = f.word(), f"{f.word()}-{f.word()}"
    if g.rng.random() < 0.75:
        return f"git@{host}:{org}/{repo}.git"
    return f"ssh://git@{host}/{org}/{repo}.git"


def ssh_target(g: Gen) -> str:
    user = g.rng.choice(("deploy", "ubuntu", "ec2-user", "root", "admin", "git", "ops"))
    host = g.rng.choice(("web-03", "db-primary", "bastion", "build-agent-7", "jump.prod", "worker2"))
    return f"{user}@{host}"


_PLACEHOLDERS = ("${DB_PASSWORD}", "<your-api-key>", "YOUR_API_KEY_HERE", "********", "xxxxxxxxxxxxxxxx",
                 "{{ vault_db_password }}", "%(db_pass)s", "$(cat /run/secrets/token)", "sk_live_XXXXXXXXXXXXXXXXXXXXXXXX",
                 "AKIAXXXXXXXXXXXXXXXX", "<redacted>", "REPLACE_ME", "${{ secrets.NPM_TOKEN }}",
                 "process.env.STRIPE_KEY", "ghp_XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX", "•••••••••")


def placeholder(g: Gen) -> str:
    return g.rng.choice(_PLACEHOLDERS)


def known_example(g: Gen) -> str:
    examples = known_examples()
    return g.rng.choice(examples[g.rng.choice(sorted(examples))])


GENERATORS: dict[str, Callable[[Gen], str]] = {
    "version": version, "oid": oid, "build_number": build_number, "order_number": order_number,
    "ticket_number": ticket_number, "uuid": uuid_, "git_sha": git_sha, "digest": digest,
    "tracking_number": tracking_number, "date_not_dob": date_not_dob, "epoch": epoch, "amount": amount,
    "git_ssh_url": git_ssh_url, "ssh_target": ssh_target, "placeholder": placeholder,
    "known_example": known_example,
}
KINDS: tuple[str, ...] = tuple(GENERATORS)

# How a document might introduce each decoy in prose or as a key: (phrases, keys).
CONTEXT: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "version": (("version", "release", "upgraded to", "running"), ("version", "app_version", "image_tag")),
    "oid": (("OID", "policy OID", "extension"), ("oid", "policy_oid")),
    "build_number": (("build", "CI run", "pipeline"), ("build_id", "run_id", "build_number")),
    "order_number": (("order", "PO", "invoice"), ("order_id", "po_number", "invoice_no")),
    "ticket_number": (("ticket", "incident", "case"), ("ticket", "incident_id", "case_ref")),
    "uuid": (("request id", "trace", "tenant"), ("request_id", "tenant_id", "correlation_id")),
    "git_sha": (("commit", "revision", "fixed in"), ("commit", "git_sha", "revision")),
    "digest": (("digest", "checksum", "sha256"), ("digest", "checksum", "image_digest")),
    "tracking_number": (("tracking number", "shipment", "IMEI"), ("tracking_no", "shipment_ref", "imei")),
    "date_not_dob": (("release date", "due", "scheduled for"), ("release_date", "due_date", "scheduled_for")),
    "epoch": (("timestamp", "at", "since"), ("ts", "created_at_ms", "updated")),
    "amount": (("total", "amount", "balance"), ("amount", "total", "balance")),
    "git_ssh_url": (("clone", "remote", "repo"), ("repo_url", "remote", "origin")),
    "ssh_target": (("ssh to", "log in as", "connect to"), ("ssh_target", "jump_host", "login")),
    "placeholder": (("api key", "password", "token"), ("api_key", "password", "token")),
    "known_example": (("test card", "sample", "example"), ("test_value", "sample", "example")),
}


def decoy(g: Gen, kind: str | None = None) -> tuple[str, str]:
    """(kind, text) of a random hard negative, or of ``kind``."""
    kind = kind or g.rng.choice(KINDS)
    return kind, GENERATORS[kind](g)

