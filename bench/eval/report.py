"""Turn scoring results into JSON-ready summaries and markdown tables.

The markdown holds numbers only: no snippets of the corpus (masked examples of misses and false
findings go to the JSON under ``bench/out/``, which git ignores), so the results page does not
reveal the corpus's templates.
"""

from __future__ import annotations

from bench.eval.scoring import CONTEXTUAL, Result


def summarise(res: Result, covers: frozenset[str], universe: frozenset[str]) -> dict:
    """The numbers a report needs from one tool's result on one corpus."""
    claimed = covers & universe
    structured = [t for t in universe if t not in CONTEXTUAL]
    per_type = res.per_type(universe)
    return {
        "per_type": {t: c.as_dict() for t, c in per_type.items()},
        "per_kind_claimed": {k: c.as_dict() for k, c in res.per_kind(claimed).items()},
        "per_kind_all": {k: c.as_dict() for k, c in res.per_kind(universe).items()},
        "micro_all": res.total(universe).as_dict(),
        "micro_claimed": res.total(claimed).as_dict(),
        "micro_structured": res.total(structured).as_dict(),
        "structured_below_090": sorted(t for t in structured if per_type[t].labels and per_type[t].recall < 0.90),
        "covers": sorted(claimed),
        "nested": res.nested, "unscored": dict(res.unscored.most_common()),
        "decoys": dict(res.decoys), "decoy_hits": dict(res.decoy_hits),
        "free_false": dict(res.free_false.most_common()), "free_bytes": res.free_bytes, "free_docs": res.free_docs,
        "free_per_mb": res.free_per_mb,
        "misses": dict(res.misses), "false": dict(res.false),
    }


def f(x: float, digits: int = 2) -> str:
    return "–" if x is None or x != x else f"{x:.{digits}f}"


def pr(c: dict, digits: int = 2) -> str:
    return f"{f(c['precision'], digits)} / {f(c['recall'], digits)}"


def headline(corpus_name: str, cols: dict[str, dict]) -> list[str]:
    out = [f"| Tool | micro P / R, every labelled infoType | micro P / R, infoTypes the tool claims | "
           f"structured infoTypes < 0.90 recall | false findings / MB, value-free docs | hard negatives flagged |",
           "|---|---|---|---|---|---|"]
    for name, s in cols.items():
        below = s["structured_below_090"]
        free = f(s["free_per_mb"], 1) if s["free_bytes"] else "–"
        decoys = f"{sum(s['decoy_hits'].values())} of {sum(s['decoys'].values())}"
        out.append(f"| {name} | **{pr(s['micro_all'], 3)}** | {pr(s['micro_claimed'], 3)} ({len(s['covers'])} types) | "
                   f"{len(below)} | {free} | {decoys} |")
    return out


def per_type_table(cols: dict[str, dict], labels: dict[str, int]) -> list[str]:
    names = list(cols)
    out = ["| InfoType | Labels | " + " | ".join(f"{n} P / R" for n in names) + " |",
           "|---|---|" + "---|" * len(names)]
    for t in sorted(labels, key=lambda t: (-labels[t], t)):
        cells = []
        for n in names:
            s = cols[n]
            c = s["per_type"].get(t)
            if t not in s["covers"] or c is None:
                cells.append("–")
                continue
            flag = " ⚠" if t not in CONTEXTUAL and c["recall"] < 0.90 else ""
            cells.append(pr(c) + flag)
        out.append(f"| {t}{' ◦' if t in CONTEXTUAL else ''} | {labels[t]} | " + " | ".join(cells) + " |")
    return out


def per_kind_table(cols: dict[str, dict], kinds: dict[str, dict]) -> list[str]:
    names = list(cols)
    first = names[0]
    out = ["| Document kind | Docs | Labels | " + f"{first} P / R, every infoType | "
           + " | ".join(f"{n} P / R, claimed" for n in names) + " |",
           "|---|---|---|---|" + "---|" * len(names)]
    for k in sorted(kinds):
        row = [k, str(kinds[k]["docs"]), str(kinds[k]["labels"])]
        c = cols[first]["per_kind_all"].get(k)
        row.append(pr(c) if c else "–")
        for n in names:
            c = cols[n]["per_kind_claimed"].get(k)
            row.append(pr(c) if c and (c["labels"] or c["tp"] + c["fp"]) else "–")
        out.append("| " + " | ".join(row) + " |")
    return out


def decoy_table(cols: dict[str, dict]) -> list[str]:
    names = list(cols)
    first = cols[names[0]]
    out = ["| Hard negative | Planted | " + " | ".join(names) + " |", "|---|---|" + "---|" * len(names)]
    for kind in sorted(first["decoys"]):
        out.append(f"| {kind} | {first['decoys'][kind]} | "
                   + " | ".join(str(cols[n]["decoy_hits"].get(kind, 0)) for n in names) + " |")
    return out


