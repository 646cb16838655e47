"""Which regions a document's language points to, for reading national phone numbers.

A cheap count of very common function words over the start of the document; a language counts
only when it clearly leads (enough hits, twice the runner-up). Its regions are tried right after
the configured ``phone_regions`` (see ``Engine.load``)."""

from __future__ import annotations

import re
from collections import Counter

SAMPLE_CHARS = 4000
_MIN_HITS = 4

_LANGUAGES: dict[str, tuple[tuple[str, ...], str]] = {
    "de": (("DE", "AT", "CH"), r"der|die|und|nicht|ist|ich|mit|für|sie|auf|bitte|danke|ihre|eine"),
    "fr": (("FR", "BE", "CH", "CA"), r"le|la|les|et|est|vous|pour|une|des|avec|merci|bonjour|nous"),
    "es": (("ES", "MX", "AR", "CO", "CL", "PE"), r"el|los|las|es|por|para|usted|una|con|gracias|hola|del|que"),
    "pt": (("BR", "PT"), r"os|as|um|uma|não|obrigado|obrigada|olá|você|com|para|seu|sua|dos"),
    "it": (("IT",), r"il|gli|della|sono|non|per|una|grazie|ciao|che|questo|anche|del"),
    "nl": (("NL", "BE"), r"de|het|een|niet|ik|je|u|van|en|voor|bedankt|graag|met"),
    "pl": (("PL",), r"nie|jest|się|dla|oraz|dziękuję|proszę|że|jak|pan|pani"),
    "sv": (("SE",), r"och|att|det|är|inte|jag|för|med|tack|hej|på"),
}
_WORD_LANGUAGES: dict[str, list[str]] = {}
for _lang, (_, _words) in _LANGUAGES.items():
    for _w in _words.split("|"):
        _WORD_LANGUAGES.setdefault(_w, []).append(_lang)
_ENGLISH_WORDS = ("the", "and", "is", "you", "for", "with", "please", "thanks", "your", "this", "that", "are")
for _w in _ENGLISH_WORDS:
    _WORD_LANGUAGES.setdefault(_w, []).append("en")
_TOKEN = re.compile(r"\w+")
"""Words are whole runs of word characters, looked up lower-cased (a regex alternation of the
function words with lookarounds cost ~10 times more on the sample)."""
_SCRIPTS = ((re.compile(r"[\u3040-\u30ff]"), ("JP",)), (re.compile(r"[\uac00-\ud7af]"), ("KR",)),
            (re.compile(r"[\u4e00-\u9fff]"), ("CN", "TW", "HK")), (re.compile(r"[\u0400-\u04ff]"), ("RU", "UA")),
            (re.compile(r"[\u0370-\u03ff]"), ("GR", "CY")), (re.compile(r"[\u0900-\u097f]"), ("IN",)),
            (re.compile(r"[\u0590-\u05ff]"), ("IL",)), (re.compile(r"[\u0e00-\u0e7f]"), ("TH",)),
            (re.compile(r"[\u0600-\u06ff]"), ("SA", "AE", "EG")))
_ANY_SCRIPT = re.compile("[" + "".join(rx.pattern[1:-1] for rx, _ in _SCRIPTS) + "]")
"""One search for a letter of any of those scripts: most non-ASCII text is Latin with accents."""


def document_regions(text: str) -> tuple[str, ...]:
    """Regions of the document's language when it is clear, else ``()``. English gives none:
    its regions are the configured ones."""
    sample = text[:SAMPLE_CHARS]
    if not sample.isascii() and _ANY_SCRIPT.search(sample) is not None:
        for rx, regions in _SCRIPTS:
            if rx.search(sample):
                return regions
    counts: dict[str, int] = {}
    tokens = Counter(_TOKEN.findall(sample.lower()))
    for word in tokens.keys() & _WORD_LANGUAGES.keys():
        for lang in _WORD_LANGUAGES[word]:
            counts[lang] = counts.get(lang, 0) + tokens[word]
    english = counts.pop("en", 0)
    if not counts:
        return ()
    ranked = sorted(((n, lang) for lang, n in counts.items()), reverse=True) + [(0, "")]
    (best, lang), (second, _) = ranked[0], ranked[1]
    if best >= _MIN_HITS and best >= 2 * second and best > english:
        return _LANGUAGES[lang][0]
    return ()
