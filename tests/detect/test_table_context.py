"""A column header is the context of every cell below it, whatever the table is written in
(issue 9): CSV/TSV with an index column ``#``, psql and MySQL console output, headers in other
languages, HTML tables read as raw text, SQL ``INSERT``/``CREATE TABLE``/``COPY`` dumps. A table's
header must not lend its words to the cells of other columns, and raw-text scanning must find what
the extraction path (which turns HTML tables into tab-separated rows) finds."""

from __future__ import annotations

import pytest

from vigil.detect.structure import Structure
from vigil.extract import extract

SSN, SSN2 = "530702536", "536221987"
PASSPORT, PASSPORT2 = "V45167089", "X83429165"
CARD = "62101069109732035"
PASSWORD = "Quartz#6249river"


def found(engine, text):
    return [(f.infotype, text[f.start:f.end]) for f in engine.scan(text)]


def typed(hits, infotype):
    return [v for t, v in hits if t == infotype]


ENGINES = ["hs_engine", "py_engine"]


# -- line tables -------------------------------------------------------------------------------

HTML_ROWS = ("<table>\n  <thead><tr><th>#</th><th>SSN</th><th>Passport No</th><th>db_password</th>"
             "<th>Birth date</th></tr></thead>\n  <tbody>\n"
             f"    <tr><td>1</td><td>{SSN}</td><td>{PASSPORT}</td><td>{PASSWORD}</td><td>12-03-1984</td></tr>\n"
             f"    <tr><td>2</td><td>{SSN2}</td><td>{PASSPORT2}</td><td>Rv8#kL2pQx</td><td>03-Feb-1990</td></tr>\n"
             "  </tbody>\n</table>\n")
HTML_CELL_LINES = ("<TABLE border=1>\n<TR>\n  <TH>name</TH>\n  <TH colspan=\"2\">passport</TH>\n</TR>\n"
                   f"<TR>\n  <TD>Derek</TD>\n  <TD>US</TD>\n  <TD>\n    <b>{PASSPORT}</b>\n  </TD>\n</TR>\n"
                   "</TABLE>")
HTML_ONE_LINE = (f"<p>export</p><table><tr><th>id</th><th>ssn</th></tr><tr><td>7</td><td>{SSN}</td></tr>"
                 f"<tr><td>8</td><td>{SSN2}</td></tr></table><p>done</p>")
HTML_ROW_LABELS = ("<table>\n<tr><th>Name</th><td>Derek Ruiz</td></tr>\n"
                   f"<tr><th>Passport number</th><td>{PASSPORT}</td></tr>\n"
                   f"<tr><th>Password</th><td>{PASSWORD}</td></tr>\n</table>\n")

BOTH_SSNS, BOTH_PASSPORTS, BOTH_PASSWORDS = [SSN, SSN2], [PASSPORT, PASSPORT2], [PASSWORD, "Rv8#kL2pQx"]

# (what the case shows, document, {infoType: the values found of that type, in order})
HEADER_CASES = [
    # -- line tables
    ("index-column-named-hash",
     f"#,name,social_security_number,passport_number,card_no\n"
     f"1000,Derek Ruiz,{SSN},{PASSPORT},{CARD}\n1001,Ana Lima,{SSN2},{PASSPORT2},\n",
     {"US_SOCIAL_SECURITY_NUMBER": BOTH_SSNS, "US_PASSPORT": BOTH_PASSPORTS, "CREDIT_CARD_NUMBER": [CARD]}),
    ("tsv-password-column-under-hash-header",
     f"#\tsecret_password\tcity\n1\t{PASSWORD}\tLyon\n2\tRv8#kL2pQx\tParis\n",
     {"PASSWORD": BOTH_PASSWORDS}),
    ("psql-output-with-plus-separator",
     "app=> SELECT * FROM staff LIMIT 2;\n"
     " id | name       | ssn       | passport  | born\n"
     "----+------------+-----------+-----------+------------\n"
     f"  1 | Derek Ruiz | {SSN} | {PASSPORT} | 12-03-1984\n"
     f"  2 | Ana Lima   | {SSN2} | {PASSPORT2} | 03-Feb-1990\n"
     "(2 rows)\n",
     {"US_SOCIAL_SECURITY_NUMBER": BOTH_SSNS, "US_PASSPORT": BOTH_PASSPORTS,
      "DATE_OF_BIRTH": ["12-03-1984", "03-Feb-1990"]}),
    ("mysql-console-table-with-borders",
     "+----+------------+-----------+\n| id | name       | passport  |\n+----+------------+-----------+\n"
     f"|  1 | Derek Ruiz | {PASSPORT} |\n|  2 | Ana Lima   | {PASSPORT2} |\n+----+------------+-----------+\n",
     {"US_PASSPORT": BOTH_PASSPORTS}),
    ("header-in-another-language",
     "Número,Nombre,Fecha de nacimiento\n1,Ana,12/03/1984\n2,Bo,1990-02-03\n",
     {"DATE_OF_BIRTH": ["12/03/1984", "1990-02-03"]}),
    # -- HTML tables scanned as raw text
    ("html-header-cells", f"<html><body><h1>Export</h1>\n{HTML_ROWS}</body></html>",
     {"US_SOCIAL_SECURITY_NUMBER": BOTH_SSNS, "US_PASSPORT": BOTH_PASSPORTS, "PASSWORD": BOTH_PASSWORDS,
      "DATE_OF_BIRTH": ["12-03-1984", "03-Feb-1990"]}),
    ("html-cells-on-lines-colspan", HTML_CELL_LINES, {"US_PASSPORT": [PASSPORT]}),
    ("html-one-line", HTML_ONE_LINE, {"US_SOCIAL_SECURITY_NUMBER": BOTH_SSNS}),
    ("html-row-labels", HTML_ROW_LABELS, {"US_PASSPORT": [PASSPORT], "PASSWORD": [PASSWORD]}),
    # -- SQL
    ("insert-column-list",
     "-- dump of users\n"
     "CREATE TABLE users (id INT, full_name TEXT, ssn TEXT, passport_no TEXT, pwd TEXT);\n"
     f"INSERT INTO users (id, full_name, ssn, passport_no, pwd) VALUES (1, 'Derek Ruiz', '{SSN}', "
     f"'{PASSPORT}', '{PASSWORD}');\n"
     f"INSERT INTO `users` (`id`, `full_name`, `ssn`, `passport_no`, `pwd`) VALUES\n"
     f"  (2, 'Ana O''Neil, PhD', '{SSN2}', '{PASSPORT2}', 'Rv8#kL2pQx'),\n"
     f"  (3, 'Bo Li', NULL, NULL, NULL);\n",
     {"US_SOCIAL_SECURITY_NUMBER": BOTH_SSNS, "US_PASSPORT": BOTH_PASSPORTS, "PASSWORD": BOTH_PASSWORDS}),
    ("insert-without-columns-reads-create-table",
     "CREATE TABLE IF NOT EXISTS public.patients (\n  id SERIAL PRIMARY KEY,\n"
     "  name VARCHAR(80) NOT NULL,\n  mrn CHAR(8),\n  date_of_birth DATE,\n"
     "  balance NUMERIC(10, 2) DEFAULT 0,\n  CONSTRAINT mrn_unique UNIQUE (mrn)\n);\n\n"
     "INSERT INTO public.patients VALUES (1, 'Derek Ruiz', '00482913', '1984-03-12', 10.50);\n"
     "INSERT INTO patients VALUES (2, 'Ana Lima', '00519377', '03-Feb-1990', 0);\n",
     {"MEDICAL_RECORD_NUMBER": ["00482913", "00519377"], "DATE_OF_BIRTH": ["1984-03-12", "03-Feb-1990"]}),
    ("copy-from-stdin-reads-column-list",
     "COPY public.staff (id, full_name, passport_number, ssn) FROM stdin;\n"
     f"1\tDerek Ruiz\t{PASSPORT}\t{SSN}\n2\tAna Lima\t{PASSPORT2}\t{SSN2}\n\\.\n",
     {"US_PASSPORT": BOTH_PASSPORTS, "US_SOCIAL_SECURITY_NUMBER": BOTH_SSNS}),
    ("lowercase-run-together-column-names",
     f"INSERT INTO staff (id, passportnumber, driverlicense) VALUES (1, '{PASSPORT}', 'D1234567'), "
     f"(2, '{PASSPORT2}', 'S12345678');",
     {"US_PASSPORT": BOTH_PASSPORTS, "US_DRIVERS_LICENSE_NUMBER": ["D1234567", "S12345678"]}),
]


@pytest.mark.parametrize("engine_name", ENGINES)
@pytest.mark.parametrize("text,expected", [c[1:] for c in HEADER_CASES], ids=[c[0] for c in HEADER_CASES])
def test_a_header_is_context_for_its_column(engine_name, request, text, expected):
    hits = found(request.getfixturevalue(engine_name), text)
    assert {infotype: typed(hits, infotype) for infotype in expected} == expected


def test_a_header_word_does_not_reach_the_next_column(hs_engine):
    text = f"#,passport,ref\n1,{PASSPORT},{SSN}\n2,{PASSPORT2},{SSN2}\n"
    hits = found(hs_engine, text)
    assert typed(hits, "US_PASSPORT") == [PASSPORT, PASSPORT2]
    assert not [v for t, v in hits if v in (SSN, SSN2)]


def test_html_header_of_another_column_is_no_context(hs_engine):
    html = (f"<table><tr><th>passport</th><th>order_ref</th></tr>"
            f"<tr><td>{PASSPORT}</td><td>{SSN}</td></tr></table>")
    hits = found(hs_engine, html)
    assert ("US_PASSPORT", PASSPORT) in hits
    assert not [t for t, v in hits if v == SSN]


def test_raw_html_scan_finds_what_the_extraction_path_finds(hs_engine):
    html = f"<!DOCTYPE html>\n<html><body>\n{HTML_ROWS}{HTML_ROW_LABELS}</body></html>\n"
    raw = sorted(found(hs_engine, html))
    extracted = []
    for segment in extract(html.encode(), "export.html").segments:
        extracted += [(f.infotype, segment.text[f.start:f.end]) for f in hs_engine.scan(segment.text)]
    assert raw == sorted(extracted)
    assert len(raw) == 10


def test_sql_value_of_an_unrelated_column_is_not_lent_the_header(hs_engine):
    text = f"INSERT INTO t (passport, order_id) VALUES ('{PASSPORT}', '{SSN}'), ('{PASSPORT2}', '{SSN2}');"
    hits = found(hs_engine, text)
    assert typed(hits, "US_PASSPORT") == [PASSPORT, PASSPORT2]
    assert not [t for t, v in hits if v in (SSN, SSN2)]


# -- the structure itself --------------------------------------------------------------------

def test_structure_cells_of_html_and_sql():
    text = HTML_ONE_LINE + "\nINSERT INTO t (a, card_no) VALUES (1, 'x y'), (2, '4111');\n"
    s = Structure(text)
    i = text.index(SSN2)
    cell = s.cell_context(i, i + len(SSN2))
    assert cell is not None and text[cell.cell[0]:cell.cell[1]] == SSN2 and cell.header == "ssn"
    j = text.index("4111")
    cell = s.cell_context(j, j + 4)
    assert cell is not None and text[cell.cell[0]:cell.cell[1]] == "4111" and cell.header == "card_no"
    k = text.index("x y")
    assert s.cell_context(k, k + 3).cell == (k, k + 3)
    # the header words speak for the rows below them
    region = s.word_region(text.index("ssn") + 2)
    assert region is not None and region[0] <= text.index(SSN) and text.index(SSN2) < region[1]
    region = s.word_region(text.index("card_no") + 6)
    assert region is not None and region[0] <= j < region[1]


def test_malformed_markup_and_sql_do_not_raise():
    for text in ["<table><tr><td>1<td>2</tr>", "<td>orphan</td>", "</table></tr>", "<th>",
                 "INSERT INTO t (a, b) VALUES ('unterminated, 2", "INSERT INTO t VALUES", "COPY t FROM stdin;",
                 "CREATE TABLE t (a INT", "CREATE TABLE (", "INSERT INTO t (a) VALUES (1), (2"]:
        s = Structure(text)
        for i in range(len(text)):
            s.cell_context(i, i + 1)
            s.word_region(i)


# -- keyed values: a key labels its own value, not its neighbour's; a word on a later line
#    speaks only as a sibling field's value ------------------------------

@pytest.mark.parametrize("text,word,value,other", [
    ("DL Number: 357157865\nhere: 3554.\nstill on 1635238030?", "DL", "1635238030", True),
    ("DL Number: 357157865", "DL", "357157865", False),
    ('{"DOB": "6/1/1965", "NPI": "2499979864", "Driver_License": "32820789"}', "Driver_License", "2499979864", True),
    ('{"DOB": "6/1/1965", "NPI": "2499979864"}', "DOB", "2499979864", True),
    ('{"DOB": "6/1/1965", "NPI": "2499979864"}', "DOB", "6/1/1965", False),
    ("passport:\n  number: 123456789", "passport", "123456789", False),
    ('{"type": "passport", "id": "123456789"}', "passport", "123456789", False),
    ("fein - 820667768\nPassport = 851442226", "Passport", "820667768", True),
    ("I typed 123456789 into the passport field", "passport", "123456789", False),
    # a ``#`` closes a key before a value with a digit, not before a word
    ("DL# 67 289 571, if that helps.\nIndividual taxpayer number 931775542", "DL", "931775542", True),
    ("DL# 67 289 571, if that helps.", "DL", "67 289 571", False),
    ("I typed 23464173 into the DL# field and it was rejected.", "DL", "23464173", False),
    ("774 748 2647 is the NHS # they sent over.", "NHS", "774 748 2647", False),
    ("Created: 2024-04-08 05:18\n\nDescription:\ndob: 03-12-2001", "dob", "2024-04-08", True),
    ("01-04-2008 is the d.o.b. they sent over. Here's the background: finance", "d.o.b", "01-04-2008", False),
    ('ssnLast = os.getenv("SSNLAST", "672776578")', "ssnLast", "672776578", False),
    # what looks like a key tail runs over the value up to its base64 padding: not a key
    ("my storage account key is 7+wctdFhOSbiG2tzuq+Ag==", "key", "7+wc", False),
    ("Tel: 0612345678", "Tel", "0612345678", False),
    ("call me on 046 851 4339", "call", "046", False),
    ("Contact: Ana Lima, phone 0612345678", "Contact", "0612345678", False),
    ("0612345678 (mobile)", "mobile", "0612345678", False),
    ("Emergency contact: Ana Lima\nimei: 3571", "contact", "3571", True),
    ("imei: 3571\nEmergency contact: Ana Lima", "contact", "3571", True),
    ("id 3571\nmobile", "mobile", "3571", True),
    ('"sms_to": "010", "amount": "3550002"', "sms", "3550002", True),
    ("const tel: string = '0612';", "tel", "0612", False),
    ('{\n  "number": "0612",\n  "type": "mobile"\n}', "mobile", "0612", False),
])
def test_a_key_labels_its_own_value(text, word, value, other):
    ws, vs = text.index(word), text.index(value)
    we, ve = ws + len(word), vs + len(value)
    structure = Structure(text)
    assert structure.word_speaks_for(ws, we, vs, ve, own_label=True) is not other
    if not (ws > vs and "\n" in text[vs:ws]):  # a word on a later line is settled before its key is read
        assert structure.labels_other_value(ws, we, vs) is other


@pytest.mark.parametrize("engine_name", ENGINES)
@pytest.mark.parametrize("text,kept,lost", [
    ("Born March 9, 1993, if that helps.\nwe moved to 17-Sep-2026 last week.", "March 9, 1993", "17-Sep-2026"),
    ("87817306 is the medical record they sent over.\nsince 1605987427 looks fine.", "87817306", "1605987427"),
    ("Born March 9, 1993, if that helps.\n17-Sep-2026\n", "March 9, 1993", "17-Sep-2026"),
    ("87817306 is the medical record they sent over.\n1605987427\n", "87817306", "1605987427"),
    ('{"body": "Born March 9, 1993, if that helps.\\nwe moved to 17-Sep-2026 last week."}',
     "March 9, 1993", "17-Sep-2026"),
])
def test_a_word_with_a_value_on_its_own_line_does_not_speak_for_the_next_line(engine_name, request, text, kept,
                                                                               lost):
    hits = [v for _, v in found(request.getfixturevalue(engine_name), text)]
    assert kept in hits and lost not in hits


@pytest.mark.parametrize("engine_name", ENGINES)
@pytest.mark.parametrize("text,values", [
    ("Patient MRNs: 87817306\n87817307\n90817311\n", ["87817306", "87817307", "90817311"]),
    ("Medical record numbers: 87817306,\n  87817307,\n  90817311.", ["87817306", "87817307", "90817311"]),
    ("DOBs: 1990-03-09\n- 1985-11-23\n- 2001-07-30", ["1990-03-09", "1985-11-23", "2001-07-30"]),
    ('{"note": "Patient MRNs: 87817306\\n87817307\\n90817311"}', ["87817306", "87817307", "90817311"]),
])
def test_a_list_under_one_label_keeps_every_item(engine_name, request, text, values):
    """The label's line holds the first item; the next lines hold nothing but the others."""
    hits = [v for _, v in found(request.getfixturevalue(engine_name), text)]
    assert hits == values


@pytest.mark.parametrize("engine_name", ENGINES)
def test_a_label_alone_on_its_line_still_speaks_for_the_next(engine_name, request):
    engine = request.getfixturevalue(engine_name)
    assert ("DATE_OF_BIRTH", "1990-03-09") in found(engine, "DOB:\n1990-03-09\n")
    assert ("DATE_OF_BIRTH", "1990-03-09") in found(engine, "Date of birth\n1990-03-09, per the form\n")


@pytest.mark.parametrize("engine_name", ENGINES)
def test_contextual_values_do_not_borrow_the_key_of_another_field(engine_name, request):
    engine = request.getfixturevalue(engine_name)
    form = "Driver License: S86539626\nPassport - 247393235\nStart date: 2026-02-03\nDOB: 1945-06-07\n"
    hits = found(engine, form)
    assert ("US_DRIVERS_LICENSE_NUMBER", "S86539626") in hits and ("US_PASSPORT", "247393235") in hits
    assert ("DATE_OF_BIRTH", "1945-06-07") in hits
    assert not [t for t, v in hits if v == "2026-02-03"]
    assert not [t for t, v in hits if v == "247393235" and t != "US_PASSPORT"]
    json = '[{"DOB": "6/1/1965", "updated_at": "2024-07-29", "Driver_License": "32820789"}]'
    hits = found(engine, json)
    assert ("DATE_OF_BIRTH", "6/1/1965") in hits and ("US_DRIVERS_LICENSE_NUMBER", "32820789") in hits
    assert not [t for t, v in hits if v == "2024-07-29"]
