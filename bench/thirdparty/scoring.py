"""Scoring a detector against third-party test cases (``presidio_cases.Case``).

Each case states what one recognizer should report in a short text, and nothing about other
entities, so only findings of the case's own infoTypes are scored there:

* an expected span (mapped to its infoType) is **found** when a finding of that infoType overlaps
  it, **known example** when the only such finding is one the tool withholds as a published
  example value (vigil's ``known_example`` reason), else **missed**; a span the test gives only as
  a count (``None``) is found by any finding of the infoType;
* a finding of a case's infoType that overlaps no expected span is **false** (in a case that
  expects nothing, every such finding is).

CredSweeper's samples (``credsweeper_samples.Sample``) are whole files, scored by
``score_sample`` with credential findings only (any credential infoType: the tools name secrets
differently): an expected value is found, known example or missed as above (a value of several
lines, a private key, is found when a finding overlaps any of them); a finding in a file its
authors wrote as look-alikes is **false**; a finding elsewhere that overlaps no expected value is
**unlabelled** -- CredSweeper's expectation lists what its own rules and model report, not every
secret in the file, so such findings are listed for a person to read, not counted as false.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass

from bench.eval.scoring import google_name


@dataclass(frozen=True)
class Hit:
    """A finding: Google infoType, offsets, and whether the tool withholds it as a known example
    (counted as not reported)."""

    infotype: str | None
    start: int
    end: int
    known_example: bool = False


@dataclass(frozen=True)
class Outcome:
    """One scored item of a case: ``kind`` is found, known_example, missed or false; ``value`` the
    expected (or falsely found) text."""

    entity: str
    kind: str
    value: str
    bare: bool  # the text is the value alone (no words around it)


def score_case(case, hits: list[Hit]) -> list[Outcome]:
    """The outcomes of one case for one tool's ``hits`` on ``case.text``."""
    text = case.text
    scope = {google_name("presidio", e): e for e in case.entities}
    reported = [h for h in hits if h.infotype in scope and not h.known_example]
    withheld = [h for h in hits if h.infotype in scope and h.known_example]
    used: set[int] = set()
    out: list[Outcome] = []
    for i, span in enumerate(case.spans):
        entity = case.entities[min(i, len(case.entities) - 1)]
        infotype = google_name("presidio", entity)
        if span is None:
            match = next((k for k, h in enumerate(reported) if h.infotype == infotype and k not in used), None)
            value, bare = text, True
        else:
            s, e = span
            match = next((k for k, h in enumerate(reported) if h.infotype == infotype and h.start < e and s < h.end),
                         None)
            value, bare = text[s:e], text.strip() == text[s:e].strip()
        if match is not None:
            used.add(match)
            # Every other finding over the same span is the same value, not a false one.
            if span is not None:
                used.update(k for k, h in enumerate(reported) if h.start < span[1] and span[0] < h.end)
            out.append(Outcome(entity, "found", value, bare))
        elif span is not None and any(h.infotype == infotype and h.start < span[1] and span[0] < h.end
                                      for h in withheld):
            out.append(Outcome(entity, "known_example", value, bare))
        else:
            out.append(Outcome(entity, "missed", value, bare))
    for k, h in enumerate(reported):
        if k not in used:
            out.append(Outcome(scope[h.infotype], "false", text[h.start:h.end], text.strip() == text[h.start:h.end]))
    return out


def tally(outcomes: list[Outcome]) -> Counter:
    """Counts per (entity, kind), plus ``("*", kind)`` totals and ``(entity, kind + "_bare")``."""
    counts: Counter = Counter()
    for o in outcomes:
        for entity in (o.entity, "*"):
            counts[entity, o.kind] += 1
            if o.bare:
                counts[entity, o.kind + "_bare"] += 1
    return counts


def score_sample(sample, hits: list[Hit]) -> list[Outcome]:
    """The outcomes of one CredSweeper sample for one tool's credential ``hits`` on its text."""
    text = sample.text
    reported = [h for h in hits if not h.known_example]
    withheld = [h for h in hits if h.known_example]
    out: list[Outcome] = []
    used: set[int] = set()

    def overlaps(h: Hit, spans: list[list[int]]) -> bool:
        return any(h.start < e and s < h.end for s, e in spans)

    for exp in sample.expected:
        hit = [k for k, h in enumerate(reported) if overlaps(h, exp.spans)]
        used.update(hit)
        if not exp.scored:
            continue
        s, e = exp.spans[0]
        value = text[s:e]
        if hit:
            out.append(Outcome(exp.rule, "found", value, False))
        elif any(overlaps(h, exp.spans) for h in withheld):
            out.append(Outcome(exp.rule, "known_example", value, False))
        else:
            out.append(Outcome(exp.rule, "missed", value, False))
    for k, h in enumerate(reported):
        if k not in used:
            out.append(Outcome(h.infotype or "?", "false" if sample.negative else "unlabelled",
                               text[h.start:h.end], False))
    return out


def run_tools(tools: str, scanners: dict, items: list, evaluate) -> dict:  # noqa: ANN001
    """Each tool of the comma-separated ``tools`` (keys of ``scanners``: name and a factory that
    takes ``items``) over ``items``: name -> (counts, outcomes to list, seconds of scanning)."""
    results = {}
    for key in tools.split(","):
        name, make = scanners[key]
        scan = make(items)
        t0 = time.perf_counter()
        counts, rest = evaluate(items, scan)
        results[name] = (counts, rest, time.perf_counter() - t0)
    return results
