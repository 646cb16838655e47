"""The second evaluation set: Microsoft presidio-evaluator's sentence templates, filled with
bench/eval's own values.

The templates (``data/presidio_templates.txt``, MIT licence, see ``.NOTICE`` beside it) are short
customer messages with ``{{placeholder}}`` fields. Fields for infoTypes we label (card, phone,
e-mail, IBAN, SSN, IP, date of birth, driver's licence) get a value from ``bench.eval.values``
in the document's locale; every other field (names, addresses, companies, URLs, dates, ...) gets
ordinary Faker text and no label. Templates without a labelled field are kept: they count
towards false findings.
"""

from __future__ import annotations

import datetime as dt
import random
import re
from pathlib import Path

from bench.eval.corpus import _locale
from bench.eval.model import Builder, Document
from bench.eval.values import Gen, moment

TEMPLATES = Path(__file__).resolve().parent / "data" / "presidio_templates.txt"
SET_VERSION = 1
DEFAULT_DOCS = 3300

LABELLED = {
    "credit_card_number": "CREDIT_CARD_NUMBER", "phone_number": "PHONE_NUMBER", "email": "EMAIL_ADDRESS",
    "iban": "IBAN_CODE", "ssn": "US_SOCIAL_SECURITY_NUMBER", "ip_address": "IP_ADDRESS",
    "date_of_birth": "DATE_OF_BIRTH", "us_driver_license": "US_DRIVERS_LICENSE_NUMBER",
}
_NATIONALITIES = ("American", "Brazilian", "Canadian", "Dutch", "French", "German", "Indian", "Italian", "Japanese",
                  "Mexican", "Nigerian", "Polish", "Spanish", "Swedish", "Turkish")
_FIELD = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")


def templates() -> list[str]:
    """The template lines (blank lines dropped)."""
    return [line.strip() for line in TEMPLATES.read_text(encoding="utf-8").splitlines() if line.strip()]


def _plain(g: Gen, name: str) -> str:
    f = g.fake()
    simple = {
        "person": f.name, "name": f.name, "first_name": f.first_name, "last_name": f.last_name,
        "name_female": f.name_female, "name_male": f.name_male, "first_name_male": f.first_name_male,
        "first_name_female": f.first_name_female, "last_name_male": f.last_name_male,
        "last_name_female": f.last_name_female, "prefix_male": f.prefix_male, "prefix_female": f.prefix_female,
        "prefix": f.prefix, "city": f.city, "country": f.country, "street_name": f.street_name,
        "building_number": f.building_number, "secondary_address": lambda: g.fake("en_US").secondary_address(),
        "postcode": f.postcode, "zipcode": lambda: g.fake("en_US").zipcode(), "organization": f.company,
        "job": f.job, "url": f.url, "day_of_week": f.day_of_week, "state_abbr": lambda: g.fake("en_US").state_abbr(),
        "first_name_nonbinary": lambda: g.fake("en_US").first_name_nonbinary(),
        "address": lambda: f.address().replace("\n", ", "),
        "age": lambda: str(g.rng.randint(18, 90)), "year": lambda: str(g.rng.randint(1950, 2025)),
        "date_time": lambda: moment(g, dt.datetime(2020, 1, 1), 2500).strftime(g.rng.choice(("%Y-%m-%d %H:%M", "%B %d, %Y", "%d/%m/%Y"))),
        "nationality": lambda: g.rng.choice(_NATIONALITIES), "nation_woman": lambda: g.rng.choice(_NATIONALITIES) + " woman",
        "nation_plural": lambda: g.rng.choice(_NATIONALITIES) + "s",
    }
    make = simple.get(name)
    if make is None:
        raise KeyError(f"presidio template field {{{{{name}}}}} has no filler")
    return make()


def build(index: int, template: str, seed: int) -> Document:
    rng = random.Random(f"{seed}:presidio:{SET_VERSION}:{index}")
    locale = _locale(rng)
    g = Gen(rng, locale)
    b = Builder()
    pos = 0
    for m in _FIELD.finditer(template):
        b.add(template[pos:m.start()])
        name = m.group(1)
        infotype = LABELLED.get(name)
        if infotype:
            value = g.value(infotype, lambda v: "\n" not in v)
            b.value(infotype, value)
        else:
            b.add(_plain(g, name))
        pos = m.end()
    b.add(template[pos:] + "\n")
    return b.document(doc_id=f"presidio-{index:05d}", kind="presidio_template",
                      filename=f"presidio/{index:05d}.txt", locale=locale, value_free=False)


def generate(seed: int = 424242, docs: int = DEFAULT_DOCS) -> list[Document]:
    """``docs`` messages; template ``i`` is used for documents ``i``, ``i + n``, ... so every
    template appears about equally often."""
    lines = templates()
    return [build(i, lines[i % len(lines)], seed) for i in range(docs)]
