"""Document layouts of the evaluation corpus: how sensitive values sit in real files and messages.

Every layout is a function ``(ctx) -> extension`` that writes one document into ``ctx.b`` with
``ctx.plants`` sensitive values (none in a value-free document) and ``ctx.decoys`` hard
negatives. Layouts: chat transcripts, support tickets, e-mails, forms, CSV/TSV, markdown and
psql-style pipe tables, HTML tables, SQL dumps, JSON, YAML, ``.env``, INI/TOML/properties, logs
(application, access, auth), source code, shell history and HTTP dumps.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Callable

from bench.eval import negatives
from bench.eval.model import Builder, Neg, Val
from bench.eval.values import LOCALES, MULTILINE, Gen, azure_storage_connection_string, aws_access_key_id, \
    aws_secret_key, moment, session_cookie, url_with_password
from bench.eval.vocabulary import FIRST_PERSON, SECRETS, SELF_DESCRIBING, TERMS

US_ONLY = frozenset({"US_SOCIAL_SECURITY_NUMBER", "US_INDIVIDUAL_TAXPAYER_IDENTIFICATION_NUMBER",
                     "US_EMPLOYER_IDENTIFICATION_NUMBER", "US_PASSPORT", "US_DRIVERS_LICENSE_NUMBER",
                     "US_BANK_ROUTING_MICR", "US_HEALTHCARE_NPI", "US_DEA_NUMBER"})
NATIONAL = frozenset(t for loc in LOCALES.values() for t in loc.national_ids) | US_ONLY

PERSONAL = ("EMAIL_ADDRESS", "PHONE_NUMBER", "DATE_OF_BIRTH", "CREDIT_CARD_NUMBER", "IBAN_CODE", "IP_ADDRESS")
FINANCIAL = ("CREDIT_CARD_NUMBER", "IBAN_CODE", "SWIFT_CODE", "US_BANK_ROUTING_MICR", "US_EMPLOYER_IDENTIFICATION_NUMBER")
HEALTH = ("US_HEALTHCARE_NPI", "US_DEA_NUMBER", "MEDICAL_RECORD_NUMBER", "UK_NATIONAL_HEALTH_SERVICE_NUMBER")
PEOPLE = tuple(sorted(set(PERSONAL + FINANCIAL + HEALTH) | NATIONAL | {"PASSWORD"}))
ALL = tuple(sorted(set(PEOPLE) | SECRETS))
ALL_ONELINE = tuple(t for t in ALL if t not in MULTILINE)
CONFIG_SECRETS = tuple(sorted(SECRETS - {"HTTP_COOKIE", "BASIC_AUTH_HEADER"}) + ["IP_ADDRESS", "EMAIL_ADDRESS"])

_SAFE_BARE = re.compile(r"[A-Za-z0-9_.+/=@:~-]+\Z")


def oneline(v: str) -> bool:
    return "\n" not in v


def no_quotes(v: str) -> bool:
    return oneline(v) and '"' not in v and "\\" not in v


@dataclass
class Ctx:
    """The state of one document being written."""

    b: Builder
    g: Gen
    plants: int
    decoys: int
    scale: int = 1  # value-free documents are longer: more filler lines and table rows

    @property
    def rng(self):
        return self.g.rng

    @property
    def value_free(self) -> bool:
        return self.plants == 0

    def choose(self, items):
        return self.rng.choice(items)

    def pick(self, eligible: tuple[str, ...] | list[str]) -> str:
        """An infoType among ``eligible`` that fits this document's locale; national IDs of the
        locale are favoured (they are rarer otherwise)."""
        own = set(LOCALES[self.g.locale].national_ids)
        options = [t for t in eligible if t not in NATIONAL or t in own
                   or (t in US_ONLY and self.g.locale == "en_US")]
        weights = [4 if t in own else 1 for t in options]
        return self.rng.choices(options, weights=weights)[0]

    def val(self, infotype: str, fits: Callable[[str], bool] | None = None) -> Val | None:
        v = self.g.value(infotype, fits)
        return None if v is None else Val(infotype, v)

    def neg(self, kind: str | None = None, fits: Callable[[str], bool] | None = None) -> Neg:
        for _ in range(10):
            k, text = negatives.decoy(self.g, kind)
            if fits is None or fits(text):
                return Neg(k, text)
        return Neg("uuid", negatives.uuid_(self.g))

    def events(self, fillers: int) -> list[str]:
        ev = ["plant"] * self.plants + ["decoy"] * self.decoys + ["filler"] * (fillers * self.scale)
        self.rng.shuffle(ev)
        return ev

    def name(self) -> str:
        return self.g.fake().name()

    def first(self) -> str:
        return self.g.fake().first_name()

    def phrase(self, t: str) -> str:
        return self.choose(TERMS[t][0])

    def key(self, t: str) -> str:
        return self.choose(TERMS[t][1])

    def header(self, t: str) -> str:
        return self.choose(TERMS[t][1] + TERMS[t][2])


# --------------------------------------------------------------------------- prose

_GENERIC = (
    "my {p} is {v}", "{P}: {v}", "the {p} we have on file is {v}, is that still right?",
    "can you update the {p} to {v}?", "{v} is the {p} they sent over", "please use {v} ({p}) for this one",
    "{P} {v}, if that helps", "for reference, {p} = {v}", "I typed {v} into the {p} field and it was rejected",
    "({p}: {v})", "new {p} → {v}", "{name}'s {p} is {v}", "{p} for {name}: {v}",
)
_SPECIFIC: dict[str, tuple[str, ...]] = {
    "PHONE_NUMBER": ("call me at {v}", "you can reach {name} on {v} after 5", "text {v} when you land",
                     "{name} ({v}) is the on-call today", "the number that keeps calling is {v}", "ring {v}"),
    "EMAIL_ADDRESS": ("send it to {v}", "cc {v} please", "{name} <{v}> owns this", "Maintainer: {v}",
                      "reach out to {v} for access", "I got a bounce from {v}", "author: {name} ({v})"),
    "CREDIT_CARD_NUMBER": ("charge it to {v}, exp {exp}", "card {v} was declined twice",
                           "the customer read out {v} over the phone", "{v} exp {exp} cvv {cvv}"),
    "DATE_OF_BIRTH": ("she was born on {v}", "{name} (born {v})", "DOB {v}", "born {v} in {city}",
                      "his birthday is {v} so the age check fails"),
    "IP_ADDRESS": ("the box at {v} stopped responding", "ssh into {v} and restart it", "traffic from {v} spiked at noon",
                   "{v} is blocked by the firewall", "ping {v}", "whitelist {v} and {v2}", "it resolves to {v}"),
    "PASSWORD": ("the password is {v}", "login: admin / {v}", "pw {v}", "temporary password: {v}",
                 "creds are {user} / {v}", "I reset it to {v}", "{user}:{v} should work"),
    "IBAN_CODE": ("please wire it to {v}", "refund to {v} please", "IBAN {v} (account holder {name})"),
    "AZURE_AUTH_TOKEN": ("client secret {v}", "the {p} is {v}", "use this secret: {v}"),
    "HTTP_COOKIE": ("the request carried `Cookie: {v}`", "curl -b '{v}' https://{host}/account works",
                    "copy the cookie from devtools: {v}"),
    "DATABASE_CONNECTION_STRING": ("connect with {v}", "the app reads {v} at startup", "DSN is {v}"),
    "JSON_WEB_TOKEN": ("Authorization: Bearer {v}", "here is the token I get back: {v}", "decode {v} and check the exp"),
    "BASIC_AUTH_HEADER": ("Authorization: Basic {v}", "the header was `Authorization: Basic {v}`"),
}
_BARE = ("here: {v}", "I accidentally pasted {v} in the channel, rotate it?", "is {v} still valid?",
         "{v}", "try {v}", "that's {v} btw", "got this from the vault: {v}")


def prose_value(ctx: Ctx, t: str, fits: Callable[[str], bool] = oneline) -> bool:
    """Write one sentence carrying a value of ``t``; False when no value fitted."""
    v = ctx.val(t, fits)
    if v is None:
        return False
    if t == "AZURE_AUTH_TOKEN" and "sig=" in v.text and ctx.rng.random() < 0.6:
        account = ctx.g.fake("en_US").user_name().replace("_", "").replace(".", "")[:12]
        ctx.b.fill("the download link is https://{a}.blob.core.windows.net/exports/report.csv?{v}",
                   a=account, v=v)
        return True
    options = list(_SPECIFIC.get(t, ()))
    options += list(_GENERIC)
    if t in SELF_DESCRIBING:
        options += list(_BARE)
    tpl = ctx.choose(options)
    phrase = ctx.phrase(t)
    fields = dict(v=v, p=phrase, P=phrase[:1].upper() + phrase[1:], name=ctx.name(),
                  user=ctx.g.fake().user_name(), city=ctx.g.fake().city(), host=ctx.g.fake("en_US").domain_name(),
                  exp=f"{ctx.rng.randint(1, 12):02d}/{ctx.rng.randint(25, 31)}", cvv=ctx.g.digits(3))
    if "{v2}" in tpl:
        v2 = ctx.val(t, fits)
        fields["v2"] = v2 if v2 is not None else ""
    ctx.b.fill(tpl, **{k: x for k, x in fields.items() if "{" + k + "}" in tpl})
    return True


def prose_block(ctx: Ctx, t: str) -> None:
    """A multi-line value shown in a fenced block."""
    v = ctx.val(t)
    ctx.b.fill("here's the {p}:\n```\n{v}\n```", p=ctx.phrase(t), v=v)


_DECOY_PROSE = ("the {p} is {d}", "{P}: {d}", "see {d}", "still on {d}?", "{p} {d} looks fine", "(ref {d})",
                "{d} again", "we moved to {d} last week")


def prose_decoy(ctx: Ctx, fits: Callable[[str], bool] = oneline) -> None:
    d = ctx.neg(fits=fits)
    phrase = ctx.choose(negatives.CONTEXT[d.kind][0])
    ctx.b.fill(ctx.choose(_DECOY_PROSE), p=phrase, P=phrase[:1].upper() + phrase[1:], d=d)


_CHAT_FILLER = (
    "Can you help me tidy up the {thing}? It has been flaky since {day}.",
    "Thanks, that did it. Next: how should we split the {team} runbook?",
    "Here's the background: {team} owns the {thing} and ships it on {day}s.",
    "What is the difference between a left join and an inner join again?",
    "Could you draft a short note about the outage for the {team} channel?",
    "Please rewrite this so it sounds less defensive.",
    "I'm putting together the {thing} review for {name}.",
    "Summarise the thread below in three bullet points.",
    "Is it better to retry with backoff or fail fast here?",
    "Let's go with the second option.",
    "Can you turn this into a table?",
    "The {thing} migration is done except for the {team} part.",
)
_ASSISTANT = (
    "Sure. Here is a cleaner version of what you sent.",
    "Good question: the short answer is that it depends on how often the job runs.",
    "I'd keep it simple: one owner, one checklist, and a weekly review.",
    "Here are the three main points, in order of impact.",
    "That should work. One thing to watch is the timeout on the second call.",
    "I can't verify that from here, but the steps below should tell you quickly.",
    "Done. I kept the numbers you gave and only changed the wording.",
)
_THINGS = ("billing export", "onboarding flow", "nightly sync", "quarterly report", "support macro", "data pipeline",
           "vendor list", "payroll upload", "CRM import", "expense policy", "access review", "travel booking")
_TEAMS = ("finance", "platform", "security", "people ops", "growth", "support", "legal", "data", "infra")
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")


def filler(ctx: Ctx, lines: tuple[str, ...]) -> str:
    return ctx.choose(lines).format(thing=ctx.choose(_THINGS), team=ctx.choose(_TEAMS), day=ctx.choose(_DAYS),
                                    name=ctx.first())


def chat(ctx: Ctx) -> str:
    b = ctx.b
    for i, ev in enumerate(ctx.events(ctx.rng.randint(2, 6))):
        b.add("Human: " if i % 2 == 0 else "Assistant: ")
        if ev == "plant":
            r = ctx.rng.random()
            if r < 0.12 and not ctx.value_free:
                pasted_rows(ctx)
            elif r < 0.2:
                t = ctx.pick(("ENCRYPTION_KEY", "GCP_CREDENTIALS", "DATABASE_CONNECTION_STRING", "PASSWORD"))
                if t in MULTILINE:
                    prose_block(ctx, t)
                else:
                    prose_value(ctx, t)
            else:
                b.add(ctx.choose(FIRST_PERSON) + ", ")
                prose_value(ctx, ctx.pick(ALL_ONELINE))
                b.end_sentence(" " + filler(ctx, _CHAT_FILLER))
        elif ev == "decoy":
            b.add(filler(ctx, _CHAT_FILLER) + " ")
            prose_decoy(ctx)
            b.end_sentence()
        else:
            b.add(filler(ctx, _CHAT_FILLER if i % 2 == 0 else _ASSISTANT))
        b.add("\n\n")
    return "txt"


def pasted_rows(ctx: Ctx) -> None:
    """Comma-separated rows pasted into a message, header first (or not)."""
    table = make_table(ctx, rows=ctx.rng.randint(2, 4), max_values=ctx.plants)
    ctx.b.add("here are the rows from the export:\n")
    render_delimited(ctx, table, ",", header=ctx.rng.random() < 0.8)
    ctx.b.add("can you check them?")


_TICKET_FILLER = ("Steps to reproduce are in the attached recording.", "Customer says this started after the last update.",
                  "Escalating because the SLA ends today.", "Could not reproduce on staging.",
                  "Workaround: clear the cache and retry.", "Assigning to {team} for a look.",
                  "Duplicate of an older report, linking them.", "Marked as P2 until we know the blast radius.")


def ticket(ctx: Ctx) -> str:
    b = ctx.b
    f = ctx.g.fake()
    b.add(f"[{ctx.choose(('Support', 'IT', 'HR', 'Billing', 'Security'))}] ")
    b.decoy("ticket_number", negatives.ticket_number(ctx.g))
    b.add(f" — {ctx.choose(_THINGS)} {ctx.choose(('broken', 'request', 'question', 'access', 'refund'))}\n")
    b.add(f"Reporter: {f.name()}\nPriority: {ctx.choose(('P1', 'P2', 'P3', 'Low', 'High'))}\n")
    b.add(f"Created: {moment(ctx.g).strftime('%Y-%m-%d %H:%M')}\n\nDescription:\n")
    for ev in ctx.events(ctx.rng.randint(2, 5)):
        if ev == "plant":
            r = ctx.rng.random()
            if r < 0.35:
                t = ctx.pick(PEOPLE + ("HTTP_COOKIE", "JSON_WEB_TOKEN", "PASSWORD"))
                v = ctx.val(t, oneline)
                b.fill("{k}: {v}", k=ctx.header(t), v=v)
            else:
                prose_value(ctx, ctx.pick(PEOPLE + ("PASSWORD", "HTTP_COOKIE", "AZURE_AUTH_TOKEN", "IP_ADDRESS")))
                b.end_sentence()
        elif ev == "decoy":
            prose_decoy(ctx)
            b.end_sentence()
        else:
            b.add(filler(ctx, _TICKET_FILLER))
        b.add("\n")
    b.add(f"\n-- {f.name()}, {ctx.choose(_TEAMS)} team\n")
    return ctx.choose(("txt", "md"))


def email(ctx: Ctx) -> str:
    b = ctx.b
    f = ctx.g.fake()
    sender = ctx.val("EMAIL_ADDRESS")
    b.add("From: " + f.name() + " <").put(sender).add(">\nTo: ")
    if ctx.rng.random() < 0.7:
        b.put(ctx.val("EMAIL_ADDRESS"))
    else:
        b.add("undisclosed-recipients:;")
    b.add(f"\nSubject: {ctx.choose(('Re: ', 'Fwd: ', ''))}{ctx.choose(_THINGS).title()}\n")
    b.add(f"Date: {moment(ctx.g).strftime('%a, %d %b %Y %H:%M:%S +0000')}\n")
    b.add(f"Message-ID: <{negatives.uuid_(ctx.g)}@mail.local>\nMIME-Version: 1.0\n")
    b.add("Content-Type: text/plain; charset=utf-8\n\n")
    b.add(f"{ctx.choose(('Hi', 'Hello', 'Dear', 'Hallo', 'Bonjour', 'Hola'))} {f.first_name()},\n\n")
    for ev in ctx.events(ctx.rng.randint(1, 4)):
        if ev == "plant":
            t = ctx.pick(PEOPLE)
            if ctx.rng.random() < 0.3:
                v = ctx.val(t, oneline)
                b.fill("  {k}: {v}\n", k=ctx.header(t), v=v)
                continue
            prose_value(ctx, t)
            b.end_sentence("\n")
        elif ev == "decoy":
            prose_decoy(ctx)
            b.end_sentence("\n")
        else:
            b.add(filler(ctx, _TICKET_FILLER + _CHAT_FILLER) + "\n")
    b.add(f"\n{ctx.choose(('Best', 'Thanks', 'Regards', 'Cheers', 'Mit freundlichen Grüßen'))},\n{f.name()}\n")
    if not ctx.value_free and ctx.rng.random() < 0.5:
        b.add(f"{f.job()}\n")
        b.put(ctx.val("PHONE_NUMBER"))
        b.add("\n")
    return "eml"


def form(ctx: Ctx) -> str:
    """A filled-in record: onboarding, patient intake, KYC, visa application."""
    b = ctx.b
    f = ctx.g.fake()
    b.add(ctx.choose(("EMPLOYEE ONBOARDING", "Patient intake form", "KYC — customer record", "Visa application",
                      "Tenant application", "Payroll change request")) + "\n\n")
    b.add(f"Name: {f.name()}\nAddress: {f.address().replace(chr(10), ', ')}\n")
    rows = ctx.events(ctx.rng.randint(2, 5))
    for ev in rows:
        if ev == "plant":
            t = ctx.pick(PEOPLE)
            v = ctx.val(t, oneline)
            sep = ctx.choose((": ", ":\t", " - ", " = ", ": "))
            b.fill("{k}{s}{v}\n", k=ctx.header(t), s=sep, v=v)
        elif ev == "decoy":
            d = ctx.neg()
            b.fill("{k}: {d}\n", k=ctx.choose(negatives.CONTEXT[d.kind][1]), d=d)
        else:
            b.add(ctx.choose((f"Department: {ctx.choose(_TEAMS)}", f"Start date: {moment(ctx.g).date()}",
                              f"Emergency contact: {f.name()}", f"Nationality: {f.country()}",
                              f"Job title: {f.job()}", "Signed: yes")) + "\n")
    return "txt"


# --------------------------------------------------------------------------- tables

@dataclass
class Column:
    header: str
    infotype: str | None          # labelled column
    cell: Callable[[], "str | Val | Neg | None"]


@dataclass
class Table:
    columns: list[Column]
    rows: list[list["str | Val | Neg"]]


def _text_columns(ctx: Ctx) -> list[Column]:
    f = ctx.g.fake()
    return [
        Column(ctx.choose(("name", "Name", "full_name", "employee", "customer", "Nombre")), None, lambda: f.name()),
        Column(ctx.choose(("city", "City", "location")), None, lambda: f.city()),
        Column(ctx.choose(("department", "team", "Dept")), None, lambda: ctx.choose(_TEAMS)),
        Column(ctx.choose(("status", "Status")), None, lambda: ctx.choose(("active", "pending", "closed", "on hold"))),
        Column(ctx.choose(("amount", "balance", "salary")), None, lambda: negatives.amount(ctx.g).replace(",", "")),
        Column(ctx.choose(("created", "updated_at", "start_date")), None,
               lambda: Neg("date_not_dob", negatives.date_not_dob(ctx.g))),
    ]


def _decoy_columns(ctx: Ctx) -> list[Column]:
    cols = []
    for kind in ctx.rng.sample(("order_number", "ticket_number", "uuid", "tracking_number", "version", "git_sha",
                                "build_number", "epoch"), 2):
        cols.append(Column(ctx.choose(negatives.CONTEXT[kind][1]), None,
                           lambda kind=kind: Neg(kind, negatives.GENERATORS[kind](ctx.g))))
    return cols


_TABLE_TYPES = PEOPLE


def make_table(ctx: Ctx, rows: int, max_values: int) -> Table:
    """A table of people or accounts: an id column, text columns, and up to three labelled
    columns chosen for the locale (none in a value-free document)."""
    seq = ctx.rng.randint(1, 9000)
    counter = iter(range(seq, seq + 1000))
    cols = [Column(ctx.choose(("id", "ID", "#", "row", "emp_id", "customer_id")), None, lambda: str(next(counter)))]
    text = _text_columns(ctx)
    cols += ctx.rng.sample(text, ctx.rng.randint(1, 3))
    if ctx.value_free or ctx.rng.random() < 0.35:
        cols += _decoy_columns(ctx)[:ctx.rng.randint(1, 2)]
    if not ctx.value_free:
        n_sensitive = min(ctx.choose((1, 1, 1, 2, 2, 3)), max(1, max_values))
        chosen: list[str] = []
        for _ in range(n_sensitive * 3):
            t = ctx.pick(_TABLE_TYPES)
            if t not in chosen:
                chosen.append(t)
            if len(chosen) == n_sensitive:
                break
        for t in chosen:
            cols.insert(ctx.rng.randint(1, len(cols)), Column(ctx.header(t), t, lambda t=t: ctx.val(t, oneline)))
    body = []
    for _ in range(rows * ctx.scale):
        row = []
        for c in cols:
            cell = c.cell()
            row.append("" if cell is None else cell)
        body.append(row)
    return Table(cols, body)


def _csv_cell(cell: "str | Val | Neg", sep: str) -> tuple[str, "str | Val | Neg", str]:
    text = cell.text if isinstance(cell, (Val, Neg)) else cell
    if sep in text or '"' in text:
        if '"' in text:  # escaping would move the value: keep values free of quotes instead
            raise ValueError("cell with a quote")
        return '"', cell, '"'
    return "", cell, ""


def render_delimited(ctx: Ctx, table: Table, sep: str, header: bool = True) -> None:
    b = ctx.b
    if header:
        b.add(sep.join(c.header if sep not in c.header else f'"{c.header}"' for c in table.columns) + "\n")
    for row in table.rows:
        for i, cell in enumerate(row):
            if i:
                b.add(sep)
            before, item, after = _csv_cell(cell, sep)
            b.add(before).put(item).add(after)
        b.add("\n")


def csv_file(ctx: Ctx) -> str:
    table = make_table(ctx, rows=ctx.rng.randint(2, 7), max_values=ctx.plants)
    render_delimited(ctx, table, ",")
    return "csv"


def tsv_file(ctx: Ctx) -> str:
    table = make_table(ctx, rows=ctx.rng.randint(2, 7), max_values=ctx.plants)
    render_delimited(ctx, table, "\t")
    return "tsv"


def markdown_table(ctx: Ctx) -> str:
    b = ctx.b
    table = make_table(ctx, rows=ctx.rng.randint(2, 8), max_values=ctx.plants)
    psql = ctx.rng.random() < 0.3
    if not psql:
        b.add(f"## {ctx.choose(_THINGS).title()}\n\n{filler(ctx, _CHAT_FILLER)}\n\n")
        b.add("| " + " | ".join(c.header for c in table.columns) + " |\n")
        b.add("|" + "|".join("---" for _ in table.columns) + "|\n")
        for row in table.rows:
            b.add("| ")
            for i, cell in enumerate(row):
                if i:
                    b.add(" | ")
                b.put(cell)
            b.add(" |\n")
        return "md"
    widths = [max(len(c.header), *(len(x.text if isinstance(x, (Val, Neg)) else x) for x in col))
              for c, col in zip(table.columns, zip(*table.rows))]
    b.add(f"{ctx.choose(('app', 'analytics', 'crm'))}=> SELECT * FROM {ctx.choose(('customers', 'staff', 'contacts', 'accounts'))} LIMIT {len(table.rows)};\n")
    b.add(" " + " | ".join(c.header.ljust(w) for c, w in zip(table.columns, widths)) + "\n")
    b.add("-" + "-+-".join("-" * w for w in widths) + "-\n")
    for row in table.rows:
        b.add(" ")
        for i, (cell, w) in enumerate(zip(row, widths)):
            if i:
                b.add(" | ")
            b.put(cell)
            b.add(" " * (w - len(cell.text if isinstance(cell, (Val, Neg)) else cell)))
        b.add("\n")
    b.add(f"({len(table.rows)} rows)\n")
    return "txt"


def _html_ok(v: str) -> bool:
    return oneline(v) and not any(c in v for c in "<>&\"")


def html_table(ctx: Ctx) -> str:
    b = ctx.b
    table = make_table(ctx, rows=ctx.rng.randint(2, 8), max_values=ctx.plants)
    title = ctx.choose(_THINGS).title()
    b.add(f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{title}</title></head>\n<body>\n")
    b.add(f"<h1>{title}</h1>\n<p>{filler(ctx, _CHAT_FILLER)}</p>\n<table class=\"data\">\n  <thead><tr>")
    b.add("".join(f"<th>{c.header}</th>" for c in table.columns) + "</tr></thead>\n  <tbody>\n")
    for row in table.rows:
        b.add("    <tr>")
        for cell in row:
            text = cell.text if isinstance(cell, (Val, Neg)) else cell
            if not _html_ok(text):
                cell = "n/a"
            b.add("<td>").put(cell).add("</td>")
        b.add("</tr>\n")
    b.add("  </tbody>\n</table>\n</body></html>\n")
    return "html"


def sql_dump(ctx: Ctx) -> str:
    b = ctx.b
    table = make_table(ctx, rows=ctx.rng.randint(2, 8), max_values=ctx.plants)
    name = ctx.choose(("customers", "employees", "patients", "users", "contacts", "payees"))
    cols = [re.sub(r"\W+", "_", c.header.lower()).strip("_") or "col" for c in table.columns]
    b.add(f"-- dump of {name}\nCREATE TABLE {name} ({', '.join(c + ' TEXT' for c in cols)});\n")
    for row in table.rows:
        b.add(f"INSERT INTO {name} ({', '.join(cols)}) VALUES (")
        for i, cell in enumerate(row):
            if i:
                b.add(", ")
            text = cell.text if isinstance(cell, (Val, Neg)) else cell
            if "'" in text:
                cell = "NULL"
                b.add("NULL")
                continue
            b.add("'").put(cell).add("'")
        b.add(");\n")
    return "sql"


# --------------------------------------------------------------------------- structured config

def _pairs(ctx: Ctx, eligible: tuple[str, ...], fits: Callable[[str], bool]) -> list[tuple[str, "str | Val | Neg"]]:
    """Key/value entries for a config file: benign settings, decoys and labelled values."""
    f = ctx.g.fake("en_US")
    benign = [("host", f"api.{f.domain_word()}.internal"), ("port", str(ctx.choose((443, 8080, 5432, 6379, 8443)))),
              ("timeout", str(ctx.rng.randint(5, 120))), ("log_level", ctx.choose(("info", "debug", "warn"))),
              ("region", ctx.choose(("eu-west-1", "us-east-2", "westeurope", "asia-south1"))),
              ("retries", str(ctx.rng.randint(1, 9))), ("bucket", f"{f.word()}-exports"),
              ("feature_flags", ctx.choose(("beta,search", "none", "dark_mode"))), ("workers", str(ctx.rng.randint(1, 32)))]
    out: list[tuple[str, "str | Val | Neg"]] = []
    for ev in ctx.events(ctx.rng.randint(3, 8)):
        if ev == "plant":
            t = ctx.pick(eligible)
            if t == "AWS_CREDENTIALS" and ctx.rng.random() < 0.6:
                out.append((ctx.choose(("aws_access_key_id", "AWS_ACCESS_KEY_ID", "accessKeyId")),
                            Val(t, aws_access_key_id(ctx.g))))
                out.append((ctx.choose(("aws_secret_access_key", "AWS_SECRET_ACCESS_KEY", "secretAccessKey")),
                            Val(t, aws_secret_key(ctx.g))))
                continue
            if t == "AZURE_STORAGE_KEY" and ctx.rng.random() < 0.35:
                out.append((ctx.choose(("AzureWebJobsStorage", "storage_connection_string", "AZURE_STORAGE_CONNECTION_STRING")),
                            Val(t, azure_storage_connection_string(ctx.g))))
                continue
            v = ctx.val(t, fits)
            if v is not None:
                out.append((ctx.key(t), v))
        elif ev == "decoy":
            d = ctx.neg(fits=fits)
            out.append((ctx.choose(negatives.CONTEXT[d.kind][1]), d))
        else:
            out.append(ctx.choose(benign))
    return out


def _text(x: "str | Val | Neg") -> str:
    return x.text if isinstance(x, (Val, Neg)) else x


def env_file(ctx: Ctx) -> str:
    b = ctx.b
    b.add(f"# {ctx.choose(_THINGS)} — {ctx.choose(('local', 'staging', 'production'))}\n")
    for key, item in _pairs(ctx, CONFIG_SECRETS, no_quotes):
        key = re.sub(r"(?<=[a-z])(?=[A-Z])", "_", key).upper()
        text = _text(item)
        if _SAFE_BARE.match(text):
            b.add(f"{ctx.choose(('', '', 'export '))}{key}=").put(item).add("\n")
        else:
            q = "'" if "$" in text else '"'
            b.add(f"{key}={q}").put(item).add(f"{q}\n")
    return "env"


def _yaml_scalar(ctx: Ctx, item: "str | Val | Neg", indent: str) -> None:
    text = _text(item)
    if "\n" in text:
        ctx.b.add("|\n" + indent + "  ")
        # a block scalar: the value's lines are re-indented, so the label covers the indented text
        indented = text.replace("\n", "\n" + indent + "  ")
        if isinstance(item, Val):
            ctx.b.value(item.infotype, indented)
        else:
            ctx.b.add(indented)
        ctx.b.add("\n")
        return
    if _SAFE_BARE.match(text) and not text[0] in "@*&!%?:-" and not text.isdigit():
        ctx.b.put(item).add("\n")
    else:
        ctx.b.add('"').put(item).add('"\n')


def yaml_file(ctx: Ctx) -> str:
    b = ctx.b
    style = ctx.rng.random()
    pairs = _pairs(ctx, CONFIG_SECRETS, lambda v: '"' not in v and "\\" not in v)
    if style < 0.35:
        b.add(f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: {ctx.choose(_THINGS).replace(' ', '-')}\n"
              f"  namespace: {ctx.choose(('default', 'prod', 'payments'))}\ntype: Opaque\nstringData:\n")
        indent = "  "
    elif style < 0.6:
        b.add(f"services:\n  {ctx.choose(('api', 'worker', 'web'))}:\n    image: registry.local/app:")
        b.decoy("version", negatives.version(ctx.g))
        b.add("\n    environment:\n")
        indent = "      "
    else:
        b.add(f"# {ctx.choose(_THINGS)} settings\n{ctx.choose(('app', 'service', 'database', 'integrations'))}:\n")
        indent = "  "
    for key, item in pairs:
        b.add(f"{indent}{key}: ")
        _yaml_scalar(ctx, item, indent)
    return ctx.choose(("yaml", "yml"))


def json_file(ctx: Ctx) -> str:
    b = ctx.b
    if not ctx.value_free and ctx.rng.random() < 0.12:
        b.put(ctx.val("GCP_CREDENTIALS")).add("\n")
        return "json"
    if ctx.rng.random() < 0.45:
        table = make_table(ctx, rows=ctx.rng.randint(2, 6), max_values=ctx.plants)
        keys = [re.sub(r"\W+", "_", c.header).strip("_") or "col" for c in table.columns]
        b.add("[\n")
        for r, row in enumerate(table.rows):
            b.add("  {")
            for i, (k, cell) in enumerate(zip(keys, row)):
                b.add(", " if i else "").add(f'"{k}": ')
                if isinstance(cell, str) and cell.isdigit() and i == 0:
                    b.add(cell)
                elif not no_quotes(_text(cell)):
                    b.add("null")
                else:
                    b.add('"').put(cell).add('"')
            b.add("}" + ("," if r < len(table.rows) - 1 else "") + "\n")
        b.add("]\n")
        return "json"
    pairs = _pairs(ctx, CONFIG_SECRETS, lambda v: "\\" not in v and '"' not in v)
    b.add("{\n")
    for i, (key, item) in enumerate(pairs):
        b.add(",\n" if i else "").add(f'  "{key}": "')
        text = _text(item)
        if "\n" in text:  # JSON escapes newlines: label the escaped form as it stands in the file
            escaped = json.dumps(text)[1:-1]
            if isinstance(item, Val):
                b.value(item.infotype, escaped)
            else:
                b.add(escaped)
        else:
            b.put(item)
        b.add('"')
    b.add("\n}\n")
    return "json"


def ini_file(ctx: Ctx) -> str:
    b = ctx.b
    style = ctx.choose(("ini", "toml", "properties"))
    pairs = _pairs(ctx, CONFIG_SECRETS, lambda v: no_quotes(v) and "#" not in v and ";" not in v[:1])
    if style == "ini":
        b.add(f"[{ctx.choose(('database', 'smtp', 'api', 'default', 'storage'))}]\n")
        for key, item in pairs:
            b.add(f"{key} = ").put(item).add("\n")
        return ctx.choose(("ini", "cfg", "conf"))
    if style == "toml":
        b.add(f"[{ctx.choose(('server', 'credentials', 'service'))}]\n")
        for key, item in pairs:
            b.add(f"{key} = \"").put(item).add("\"\n")
        return "toml"
    b.add(f"# {ctx.choose(_THINGS)}\n")
    for key, item in pairs:
        b.add(f"{ctx.choose(('app', 'spring.datasource', 'mail', 'service'))}.{key}=").put(item).add("\n")
    return "properties"


# --------------------------------------------------------------------------- logs, shell, HTTP

def _ts(ctx: Ctx, second: int) -> str:
    return (f"2026-{ctx.rng.randint(1, 11):02d}-{ctx.rng.randint(1, 28):02d}T{second // 3600 % 24:02d}:"
            f"{second // 60 % 60:02d}:{second % 60:02d}.{ctx.rng.randint(0, 999):03d}Z")


_LOG_BENIGN = ("GET /healthz 200 {ms}ms", "cache hit ratio={pct}%", "worker {n} started", "flushed {n} events",
               "POST /api/v2/events 202 {ms}ms", "scheduler tick: {n} jobs due", "pool size={n} idle={m}",
               "retrying in {n}s", "config reloaded", "leader elected: node-{n}")
_USER_AGENTS = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
                "curl/8.5.0", "python-requests/2.32.3", "Go-http-client/2.0",
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 Version/17.4 Safari/605.1.15")


_LOG_TEMPLATES: dict[str | None, tuple[str, ...]] = {
    None: ("user lookup {k}={v} ok", "validation failed for {k} {v}", '{k}="{v}" status=ok',
           "outgoing request with {k}: {v}", "payload {{\"{k}\": \"{v}\"}}"),
    "EMAIL_ADDRESS": ("login ok for {v}", "sending receipt to {v}", "user={v} action=export", "bounce from <{v}>"),
    "IP_ADDRESS": ("connection from {v} closed", "rate limited {v}", "client={v} status=403", "upstream {v}:8443 timed out"),
    "PHONE_NUMBER": ("sms sent to {v}", "otp requested phone={v}", "call forwarded to {v}"),
    "PASSWORD": ("auth failed {k}={v}", "connecting with password={v}", "{k}={v} (debug)"),
    "HTTP_COOKIE": ("request headers: Cookie: {v}", "dropping stale session, cookie={v}"),
    "CREDIT_CARD_NUMBER": ("charge failed card={v} code=51", "tokenizing pan {v}"),
}


def log_file(ctx: Ctx) -> str:
    style = ctx.rng.random()
    if style < 0.3 and not ctx.value_free:
        return access_log(ctx)
    if style < 0.4 and not ctx.value_free:
        return auth_log(ctx)
    b = ctx.b
    svc = ctx.choose(("api", "billing", "auth", "worker", "gateway", "notifier"))
    second = ctx.rng.randint(0, 80000)
    for ev in ctx.events(ctx.rng.randint(8, 30)):
        second += ctx.rng.randint(0, 40)
        b.add(_ts(ctx, second) + f" {ctx.choose(('INFO', 'INFO', 'DEBUG', 'WARN', 'ERROR'))} [{svc}] ")
        if ev == "plant":
            t = ctx.pick(("EMAIL_ADDRESS", "IP_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD_NUMBER", "JSON_WEB_TOKEN",
                          "HTTP_COOKIE", "STRIPE_API_KEY", "PASSWORD", "US_SOCIAL_SECURITY_NUMBER", "IBAN_CODE",
                          "DATABASE_CONNECTION_STRING", "SLACK_WEBHOOK", "AZURE_AUTH_TOKEN", "GITHUB_TOKEN"))
            v = ctx.val(t, oneline)
            tpl = ctx.choose(_LOG_TEMPLATES.get(t, _LOG_TEMPLATES[None]))
            b.fill(tpl, k=ctx.key(t), v=v)
        elif ev == "decoy":
            d = ctx.neg(fits=oneline)
            b.fill("processing {k}={d}", k=ctx.choose(negatives.CONTEXT[d.kind][1]), d=d)
        else:
            b.add(ctx.choose(_LOG_BENIGN).format(ms=ctx.rng.randint(1, 900), pct=ctx.rng.randint(40, 99),
                                                 n=ctx.rng.randint(1, 64), m=ctx.rng.randint(0, 9)))
        b.add("\n")
    return "log"


def access_log(ctx: Ctx) -> str:
    """nginx/Apache combined log: the client IP starts the line, with no word naming it."""
    b = ctx.b
    paths = ("/", "/login", "/api/v1/orders", "/static/app.js", "/favicon.ico", "/api/v1/users/me", "/search?q=shoes")
    for _ in range(max(ctx.plants - 1, 1)):
        b.put(ctx.val("IP_ADDRESS"))
        b.add(f" - - [{ctx.rng.randint(1, 28):02d}/Nov/2026:{ctx.rng.randint(0, 23):02d}:{ctx.rng.randint(0, 59):02d}:"
              f"{ctx.rng.randint(0, 59):02d} +0000] \"{ctx.choose(('GET', 'GET', 'POST'))} {ctx.choose(paths)} HTTP/1.1\" "
              f"{ctx.choose((200, 200, 304, 404, 500))} {ctx.rng.randint(200, 90000)} \"-\" \"{ctx.choose(_USER_AGENTS)}\"\n")
    for _ in range(ctx.decoys):
        b.add("# deployed ")
        b.decoy("version", negatives.version(ctx.g))
        b.add("\n")
    return "log"


def auth_log(ctx: Ctx) -> str:
    b = ctx.b
    host = ctx.choose(("web-01", "bastion", "db-2", "build"))
    for i in range(max(ctx.plants, 1)):
        b.add(f"Nov {ctx.rng.randint(1, 28):2d} {ctx.rng.randint(0, 23):02d}:{ctx.rng.randint(0, 59):02d}:"
              f"{ctx.rng.randint(0, 59):02d} {host} sshd[{ctx.rng.randint(1000, 99999)}]: ")
        user = ctx.g.fake("en_US").user_name()
        b.fill(ctx.choose(("Accepted publickey for {u} from {ip} port {port} ssh2",
                           "Failed password for invalid user {u} from {ip} port {port} ssh2",
                           "Connection closed by {ip} port {port} [preauth]")),
               u=user, ip=ctx.val("IP_ADDRESS"), port=str(ctx.rng.randint(1024, 65535)))
        b.add("\n")
    for _ in range(ctx.decoys):
        b.add(f"Nov {ctx.rng.randint(1, 28):2d} 04:00:01 {host} CRON[{ctx.rng.randint(1000, 9999)}]: (root) CMD (run-parts ")
        b.add("/etc/cron.daily) build ")
        b.decoy("build_number", negatives.build_number(ctx.g))
        b.add("\n")
    return "log"


def _sh_quote(ctx: Ctx, item: "str | Val | Neg") -> None:
    text = _text(item)
    if _SAFE_BARE.match(text) and "$" not in text:
        ctx.b.put(item)
    else:
        ctx.b.add("'").put(item).add("'")


def shell_history(ctx: Ctx) -> str:
    b = ctx.b
    f = ctx.g.fake("en_US")
    benign = ("ls -la", "cd ~/src/{w}", "git status", "git pull --rebase", "kubectl get pods -n {w}", "docker ps",
              "make test", "vim config.yaml", "tail -f /var/log/syslog", "htop", "python -m venv .venv",
              "terraform plan", "npm run build", "history | grep {w}")
    for ev in ctx.events(ctx.rng.randint(6, 20)):
        if ctx.rng.random() < 0.3:
            b.add(f"#{ctx.rng.randint(1_700_000_000, 1_790_000_000)}\n")
        if ev == "plant":
            t = ctx.pick(("PASSWORD", "PASSWORD", "DATABASE_CONNECTION_STRING", "AWS_CREDENTIALS", "GITHUB_TOKEN",
                          "JSON_WEB_TOKEN", "BASIC_AUTH_HEADER", "HTTP_COOKIE", "IP_ADDRESS", "AZURE_AUTH_TOKEN",
                          "AZURE_STORAGE_KEY", "STRIPE_API_KEY", "OPENAI_API_KEY", "SLACK_WEBHOOK", "NPM_TOKEN",
                          "GITLAB_TOKEN", "DATABRICKS_TOKEN", "HUGGINGFACE_TOKEN", "ANTHROPIC_API_KEY"))
            _shell_command(ctx, t)
        elif ev == "decoy":
            d = ctx.neg(ctx.choose(("git_ssh_url", "ssh_target", "git_sha", "version", "placeholder", "uuid")),
                        fits=lambda v: "'" not in v)
            tpl = {"git_ssh_url": "git clone {d}", "ssh_target": "ssh {d}", "git_sha": "git show {d}",
                   "version": "pip install requests=={d}", "placeholder": "export API_KEY='{d}'",
                   "uuid": "kubectl logs job/{d}"}[d.kind]
            b.fill(tpl, d=d)
        else:
            b.add(ctx.choose(benign).format(w=f.word()))
        b.add("\n")
    return ctx.choose(("txt", "sh"))


def _shell_command(ctx: Ctx, t: str) -> None:
    b = ctx.b
    f = ctx.g.fake("en_US")
    host = f.domain_name()
    if t == "PASSWORD":
        r = ctx.rng.random()
        if r < 0.3:
            before, pw, after = url_with_password(ctx.g)
            b.add("git remote add upstream " if "git." in after else "curl -s ")
            b.add(before).value("PASSWORD", pw).add(after)
            return
        v = ctx.val("PASSWORD", lambda x: "'" not in x and "!" not in x)
        tpl = ctx.choose(("mysql -u root -p'{v}' -h db.{h}", "PGPASSWORD='{v}' psql -h db.{h} -U app",
                          "sshpass -p '{v}' ssh deploy@{h}", "curl -u admin:'{v}' https://{h}/api/health",
                          "echo '{v}' | docker login -u ci --password-stdin registry.{h}",
                          "htpasswd -b .htpasswd admin '{v}'"))
        b.fill(tpl, v=v, h=host)
        return
    if t == "AWS_CREDENTIALS":
        b.add("export AWS_ACCESS_KEY_ID=").value(t, aws_access_key_id(ctx.g))
        if ctx.rng.random() < 0.6:
            b.add("\nexport AWS_SECRET_ACCESS_KEY=").value(t, aws_secret_key(ctx.g))
        return
    if t == "AZURE_STORAGE_KEY":
        v = ctx.val(t)
        b.fill(ctx.choose(("az storage blob list --account-name {a} --account-key '{v}' -c exports",
                           "export AZURE_STORAGE_KEY='{v}'")), a=f.user_name().replace("_", "")[:12], v=v)
        return
    v = ctx.val(t, lambda x: oneline(x) and "'" not in x)
    templates = {
        "DATABASE_CONNECTION_STRING": ("psql '{v}'", "export DATABASE_URL='{v}'", "mongosh '{v}'",
                                       "alembic -x url='{v}' upgrade head"),
        "JSON_WEB_TOKEN": ("curl -H 'Authorization: Bearer {v}' https://api.{h}/v1/me",
                           "http GET api.{h}/orders 'Authorization:Bearer {v}'"),
        "BASIC_AUTH_HEADER": ("curl -H 'Authorization: Basic {v}' https://{h}/admin",),
        "HTTP_COOKIE": ("curl -b '{v}' https://{h}/account", "curl -H 'Cookie: {v}' https://{h}/dashboard"),
        "IP_ADDRESS": ("ssh admin@{v}", "ping -c 3 {v}", "nmap -p 22,443 {v}", "iptables -A INPUT -s {v} -j DROP",
                       "curl http://{v}:8080/metrics"),
        "AZURE_AUTH_TOKEN": ("az login --service-principal -u {u} -p '{v}' --tenant {u2}",
                             "azcopy copy 'https://{a}.blob.core.windows.net/backup?{v}' ./backup --recursive"),
        "SLACK_WEBHOOK": ("curl -X POST -H 'Content-type: application/json' --data '{{\"text\":\"deploy done\"}}' {v}",),
        "GITHUB_TOKEN": ("export GITHUB_TOKEN={v}", "echo {v} | gh auth login --with-token",
                         "git clone https://x-access-token:{v}@github.com/{w}/{w2}.git"),
        "NPM_TOKEN": ("npm config set //registry.npmjs.org/:_authToken={v}", "export NPM_TOKEN={v}"),
    }
    default = ("export {K}={v}", "curl -H 'Authorization: Bearer {v}' https://api.{h}/v1/", "{K}='{v}' ./run.sh")
    tpl = ctx.choose(templates.get(t, default))
    b.fill(tpl, v=v, h=host, u=negatives.uuid_(ctx.g), u2=negatives.uuid_(ctx.g),
           a=f.user_name().replace("_", "")[:12], w=f.word(), w2=f.word(),
           K=re.sub(r"[^A-Z_]", "", ctx.key(t).upper()) or "TOKEN")


def http_dump(ctx: Ctx) -> str:
    """A raw HTTP exchange as pasted from devtools, a proxy or ``curl -v``."""
    b = ctx.b
    f = ctx.g.fake("en_US")
    host = f"{ctx.choose(('api', 'app', 'www', 'portal'))}.{f.domain_name()}"
    verbose = ctx.rng.random() < 0.4
    p = "> " if verbose else ""
    if verbose:
        b.add(f"*   Trying {'...' if ctx.value_free else ''}")
        if not ctx.value_free:
            b.put(ctx.val("IP_ADDRESS"))
        b.add(f":443...\n* Connected to {host}\n")
    b.add(f"{p}{ctx.choose(('GET', 'POST', 'PUT'))} /{ctx.choose(('api/v1/orders', 'account', 'graphql', 'upload'))} HTTP/1.1\n")
    b.add(f"{p}Host: {host}\n{p}User-Agent: {ctx.choose(_USER_AGENTS)}\n{p}Accept: */*\n")
    for ev in ctx.events(ctx.rng.randint(1, 3)):
        if ev == "plant":
            t = ctx.pick(("HTTP_COOKIE", "HTTP_COOKIE", "JSON_WEB_TOKEN", "BASIC_AUTH_HEADER", "IP_ADDRESS",
                          "STRIPE_API_KEY", "OPENAI_API_KEY", "SENDGRID_API_KEY", "GCP_API_KEY", "ANTHROPIC_API_KEY",
                          "TWILIO_API_KEY", "EMAIL_ADDRESS"))
            v = ctx.val(t, oneline)
            header = {"HTTP_COOKIE": "Cookie: {v}", "JSON_WEB_TOKEN": "Authorization: Bearer {v}",
                      "BASIC_AUTH_HEADER": "Authorization: Basic {v}", "IP_ADDRESS": "X-Forwarded-For: {v}",
                      "EMAIL_ADDRESS": "From: {v}", "GCP_API_KEY": "X-Goog-Api-Key: {v}",
                      "ANTHROPIC_API_KEY": "x-api-key: {v}"}.get(t, "Authorization: Bearer {v}")
            b.add(p).fill(header, v=v).add("\n")
        elif ev == "decoy":
            d = ctx.neg(ctx.choose(("uuid", "placeholder", "version", "epoch")))
            hdr = {"uuid": "X-Request-Id", "placeholder": "X-Api-Key", "version": "X-Client-Version", "epoch": "X-Timestamp"}
            b.add(f"{p}{hdr[d.kind]}: ").put(d).add("\n")
        else:
            b.add(f"{p}Accept-Language: {ctx.choose(('en-US,en;q=0.9', 'de-DE', 'fr-FR,fr;q=0.8'))}\n")
    b.add(f"{p}\n" if verbose else "\n")
    b.add(("< " if verbose else "") + f"HTTP/1.1 {ctx.choose((200, 302, 401))} \n")
    if not ctx.value_free and ctx.rng.random() < 0.5:
        b.add(("< " if verbose else "") + "Set-Cookie: ")
        b.value("HTTP_COOKIE", session_cookie(ctx.g))
        b.add("; Path=/; HttpOnly; Secure; SameSite=Lax\n")
    b.add(("< " if verbose else "") + "Content-Type: application/json\n")
    return ctx.choose(("txt", "log"))


# --------------------------------------------------------------------------- source code

_CODE_FILLER = {
    "py": ("def {f}(items):\n    return [x for x in items if x.{a}]\n",
           "class {C}:\n    def __init__(self, client):\n        self.client = client\n",
           "for row in rows:\n    total += row.{a}\n", "log.info(\"processed %d rows\", len(rows))\n"),
    "js": ("export function {f}(items) {{\n  return items.filter((x) => x.{a});\n}}\n",
           "const {a}s = await fetch(url).then((r) => r.json());\n", "console.log(`done in ${{ms}} ms`);\n"),
    "ts": ("export const {f} = (items: Item[]): Item[] => items.filter((x) => x.{a});\n",
           "interface {C} {{ id: string; {a}: number }}\n"),
    "go": ("func {F}(items []Item) int {{\n\treturn len(items)\n}}\n", "if err != nil {{\n\treturn err\n}}\n"),
    "java": ("public int {f}(List<Item> items) {{ return items.size(); }}\n", "private final Logger log = LoggerFactory.getLogger({C}.class);\n"),
    "cs": ("public int {F}(List<Item> items) => items.Count;\n", "var client = new HttpClient();\n"),
    "rb": ("def {f}(items)\n  items.select(&:{a})\nend\n", "puts \"done\"\n"),
}
_CODE_ASSIGN = {
    "py": ('{k} = "{v}"\n', 'client = Client(api_key="{v}")\n', '{k} = os.getenv("{K}", "{v}")\n',
           'settings = {{"{k}": "{v}", "timeout": 30}}\n'),
    "js": ("const {k} = '{v}';\n", "const client = new Client({{ apiKey: '{v}' }});\n",
           "const {k} = process.env.{K} || '{v}';\n"),
    "ts": ("const {k}: string = '{v}';\n", "export const config = {{ {k}: '{v}' }};\n"),
    "go": ('const {k} = "{v}"\n', '{k} := os.Getenv("{K}")\nif {k} == "" {{\n\t{k} = "{v}"\n}}\n'),
    "java": ('private static final String {K} = "{v}";\n', 'props.setProperty("{k}", "{v}");\n'),
    "cs": ('private const string {K} = "{v}";\n', 'var {k} = "{v}";\n'),
    "rb": ("{K} = '{v}'\n", "config.{k} = '{v}'\n"),
}
_CODE_HEAD = {"py": "import os\nimport logging\n\nlog = logging.getLogger(__name__)\n\n",
              "js": "import { readFile } from 'node:fs/promises';\n\n", "ts": "import type { Item } from './types';\n\n",
              "go": "package main\n\nimport (\n\t\"os\"\n)\n\n", "java": "package com.example.app;\n\nimport java.util.List;\n\n",
              "cs": "using System.Net.Http;\n\nnamespace App;\n\n", "rb": "require 'json'\n\n"}
_COMMENT = {"py": "# ", "js": "// ", "ts": "// ", "go": "// ", "java": "// ", "cs": "// ", "rb": "# "}


def code_file(ctx: Ctx) -> str:
    b = ctx.b
    lang = ctx.choose(("py", "py", "js", "ts", "go", "java", "cs", "rb"))
    b.add(_CODE_HEAD[lang])
    f = ctx.g.fake("en_US")
    words = lambda: dict(f=f"{ctx.choose(('load', 'sync', 'parse', 'send', 'build'))}_{f.word()}",  # noqa: E731
                         F=f.word().title() + ctx.choose(("Items", "Rows", "Jobs")), a=f.word(),
                         C=f.word().title() + ctx.choose(("Client", "Store", "Handler")))
    eligible = CONFIG_SECRETS + ("EMAIL_ADDRESS", "CREDIT_CARD_NUMBER", "US_SOCIAL_SECURITY_NUMBER", "PHONE_NUMBER",
                                 "IBAN_CODE", "PASSWORD")
    for ev in ctx.events(ctx.rng.randint(3, 9)):
        if ev == "plant":
            t = ctx.pick(eligible)
            if t in MULTILINE:
                v = ctx.val(t)
                K = ctx.key(t).upper()
                tpl = {"py": '{K} = """{v}"""\n', "js": "const {K} = `{v}`;\n", "ts": "const {K} = `{v}`;\n",
                       "go": "const {K} = `{v}`\n", "rb": "{K} = <<~KEY\n{v}\nKEY\n"}.get(lang)
                if tpl is None:  # Java and C# text blocks
                    tpl = 'String {K} = """\n{v}""";\n' if lang == "java" else 'var {K} = @"{v}";\n'
                b.fill(tpl, K=K, v=v)
                continue
            if t == "AZURE_STORAGE_KEY" and ctx.rng.random() < 0.5:
                v = Val(t, azure_storage_connection_string(ctx.g))
            elif t == "AWS_CREDENTIALS":
                v = Val(t, aws_access_key_id(ctx.g) if ctx.rng.random() < 0.5 else aws_secret_key(ctx.g))
            else:
                v = ctx.val(t, lambda x: no_quotes(x) and "'" not in x and "$" not in x)
            if v is None:
                continue
            k = ctx.key(t)
            if t in ("EMAIL_ADDRESS",) and ctx.rng.random() < 0.3:
                b.add(_COMMENT[lang]).fill(ctx.choose(("Maintainer: {v}", "Author: {n} <{v}>", "contact {v} before changing this")),
                                           v=v, n=f.name())
                b.add("\n")
                continue
            b.fill(ctx.choose(_CODE_ASSIGN[lang]), k=re.sub(r"\W", "_", k), K=re.sub(r"\W", "_", k).upper(), v=v)
        elif ev == "decoy":
            d = ctx.neg(fits=lambda x: no_quotes(x) and "'" not in x)
            key = ctx.choose(negatives.CONTEXT[d.kind][1])
            if ctx.rng.random() < 0.4:
                b.add(_COMMENT[lang]).fill("see {d}\n", d=d)
            else:
                b.fill(ctx.choose(_CODE_ASSIGN[lang])[:-1] + "\n", k=key, K=key.upper(), v=d)
        else:
            b.add(ctx.choose(_CODE_FILLER[lang]).format(**words()))
        b.add("\n")
    return lang


# --------------------------------------------------------------------------- registry

@dataclass(frozen=True)
class Kind:
    write: Callable[[Ctx], str]
    weight: float          # share of labelled documents
    free_weight: float     # share of value-free documents (0: this kind always holds values)
    plants: tuple[int, int]


KINDS: dict[str, Kind] = {
    "chat": Kind(chat, 12, 3, (1, 4)),
    "ticket": Kind(ticket, 8, 2, (1, 3)),
    "email": Kind(email, 8, 0, (1, 3)),  # every real message has addresses
    "form": Kind(form, 5, 1, (2, 5)),
    "csv": Kind(csv_file, 6, 1, (3, 12)),
    "tsv": Kind(tsv_file, 3, 0.5, (3, 12)),
    "markdown_table": Kind(markdown_table, 5, 1, (2, 10)),
    "html_table": Kind(html_table, 4, 1, (2, 10)),
    "sql": Kind(sql_dump, 3, 0.5, (2, 10)),
    "json": Kind(json_file, 6, 1.5, (1, 4)),
    "yaml": Kind(yaml_file, 5, 1.5, (1, 4)),
    "env": Kind(env_file, 5, 1, (1, 4)),
    "ini": Kind(ini_file, 4, 1, (1, 3)),
    "log": Kind(log_file, 7, 2, (1, 5)),
    "code": Kind(code_file, 9, 3, (1, 3)),
    "shell": Kind(shell_history, 5, 1, (1, 4)),
    "http": Kind(http_dump, 4, 1, (1, 3)),
}
