"""docs/schema.md documents exactly the lake's columns, with an example query per table that runs.

Each table and view has a section headed ``### `name` ``; its first Markdown table lists the
columns (several may share a row: ``start, end``). ``landed_at`` and ``dt``, which every table
has, are described once above the tables. Every ```sql block of a section runs on an empty lake.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from vigil.lake import TABLES, Lake

DOC = Path(__file__).resolve().parents[2] / "docs" / "schema.md"
EVERY_TABLE = {"landed_at", "dt"}
HEADER = re.compile(r"^###\s+`([a-z_]+)`", re.M)


def sections(text: str) -> dict[str, str]:
    found = list(HEADER.finditer(text))
    return {m.group(1): text[m.end(): found[i + 1].start() if i + 1 < len(found) else len(text)]
            for i, m in enumerate(found)}


def documented_columns(section: str) -> set[str]:
    columns: set[str] = set()
    in_table = False
    for line in section.splitlines():
        if line.startswith("|"):
            cell = line.split("|")[1].strip()
            if cell in ("column", "") or set(cell) <= set("-: "):
                in_table = True
                continue
            columns.update(c.strip().strip("`") for c in cell.split(",") if c.strip())
        elif in_table:
            break
    return columns


def sql_blocks(section: str) -> list[str]:
    return re.findall(r"```sql\n(.*?)```", section, flags=re.S)


@pytest.fixture(scope="module")
def empty_lake(tmp_path_factory):
    return Lake(str(tmp_path_factory.mktemp("lake")))


def _view_names(con) -> set[str]:
    rows = con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()
    return {r[0] for r in rows if not r[0].endswith("_all") and not r[0].startswith("_")}


def test_every_table_and_view_is_documented_with_exactly_its_columns(empty_lake):
    docs = sections(DOC.read_text())
    con = empty_lake.connect()
    try:
        names = _view_names(con)
        assert set(TABLES) <= names
        problems = []
        for name in sorted(names):
            if name not in docs:
                problems.append(f"{name}: no section")
                continue
            actual = {r[0] for r in con.execute(f"DESCRIBE {name}").fetchall()} - EVERY_TABLE
            written = documented_columns(docs[name]) - EVERY_TABLE
            if actual != written:
                problems.append(f"{name}: undocumented {sorted(actual - written)}, "
                                f"documented but absent {sorted(written - actual)}")
    finally:
        con.close()
    assert not problems, "\n".join(problems)


def test_every_section_has_an_example_query_that_runs(empty_lake):
    docs = sections(DOC.read_text())
    con = empty_lake.connect()
    try:
        missing = [name for name in _view_names(con) if name in docs and not sql_blocks(docs[name])]
        assert not missing, f"no example query for {missing}"
        for name, section in docs.items():
            for query in sql_blocks(section):
                for statement in filter(str.strip, query.split(";")):
                    con.execute(statement).fetchall()
    finally:
        con.close()
