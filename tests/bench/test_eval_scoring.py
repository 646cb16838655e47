"""The strict scorer of bench/eval and the label table, on small cases worked out by hand, and
the `vigil inspect` reader on a real run of the CLI."""

from __future__ import annotations

import math
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.eval import report  # noqa: E402
from bench.eval.inspect_run import run_inspect  # noqa: E402
from bench.eval.model import Builder, Decoy, Document, Label, Neg, Val  # noqa: E402
from bench.eval.scoring import Finding, google_name, mask, score  # noqa: E402


def _doc() -> Document:
    #       0         1         2         3         4         5         6         7
    #       0123456789012345678901234567890123456789012345678901234567890123456789012345
    text = "uuid 123e4567 mail a@b.co dsn postgres://u:pw@db/x card 4111 ip 10.0.0.1 end"
    return Document(
        doc_id="d", kind="chat", filename="d.txt", text=text,
        labels=[Label("EMAIL_ADDRESS", 19, 25), Label("DATABASE_CONNECTION_STRING", 30, 51),
                Label("CREDIT_CARD_NUMBER", 57, 61), Label("IP_ADDRESS", 65, 73)],
        decoys=[Decoy("uuid", 5, 13)])


def test_strict_scoring_counts_right_wrong_nested_and_unscored():
    doc = _doc()
    free = Document(doc_id="f", kind="log", filename="f.log", text="x" * 500_000, value_free=True)
    findings = {
        "d": [
            Finding("EMAIL_ADDRESS", 18, 24),          # overlaps its label: right
            Finding("EMAIL_ADDRESS", 18, 24),          # the same finding twice counts once
            Finding("PASSWORD", 44, 46),               # inside the DSN (a container): nested
            Finding("PHONE_NUMBER", 57, 61),           # wrong type on the card: false, card missed
            Finding("PHONE_NUMBER", 5, 13),            # on the decoy: false and a decoy hit
            Finding("IP_ADDRESS", 65, 73),             # right
            Finding(None, 0, 4, native="URL"),         # unmapped label: unscored
            Finding("PERSON_NAME", 0, 4),              # a type the corpus never labels: unscored
        ],
        "f": [Finding("EMAIL_ADDRESS", 10, 20), Finding("IP_ADDRESS", 30, 40)],
    }
    universe = {"EMAIL_ADDRESS", "DATABASE_CONNECTION_STRING", "CREDIT_CARD_NUMBER", "IP_ADDRESS",
                "PHONE_NUMBER", "PASSWORD"}
    res = score([doc, free], findings, universe)
    email = res.total(["EMAIL_ADDRESS"])
    assert (email.tp, email.fp, email.fn, email.labels) == (1, 1, 0, 1)  # the value-free one is false
    phone = res.total(["PHONE_NUMBER"])
    assert (phone.tp, phone.fp, phone.labels) == (0, 2, 0) and math.isnan(phone.recall)
    card = res.total(["CREDIT_CARD_NUMBER"])
    assert (card.fn, card.labels, card.recall) == (1, 1, 0.0)
    dsn = res.total(["DATABASE_CONNECTION_STRING"])
    assert (dsn.fn, dsn.labels) == (1, 1)
    assert res.nested == 1
    assert res.unscored == {"URL": 1, "PERSON_NAME": 1}
    assert res.decoys == {"uuid": 1} and res.decoy_hits == {"uuid": 1}
    micro = res.total()
    assert (micro.tp, micro.fp, micro.fn, micro.labels) == (2, 4, 2, 4)
    assert micro.precision == 2 / 6 and micro.recall == 0.5
    assert res.free_docs == 1 and res.free_false == {"EMAIL_ADDRESS": 1, "IP_ADDRESS": 1}
    assert res.free_per_mb == 2 / 0.5
    assert res.total(kinds=["chat"]).labels == 4 and res.total(kinds=["log"]).fp == 2

    summary = report.summarise(res, covers=frozenset({"EMAIL_ADDRESS", "IP_ADDRESS"}), universe=frozenset(universe))
    claimed = summary["micro_claimed"]
    assert (claimed["tp"], claimed["fp"], claimed["labels"]) == (2, 2, 2)
    assert summary["structured_below_090"] == ["CREDIT_CARD_NUMBER", "DATABASE_CONNECTION_STRING"]


def test_a_wrong_type_inside_a_non_container_label_is_false():
    doc = _doc()
    res = score([doc], {"d": [Finding("PHONE_NUMBER", 58, 60)]}, {"PHONE_NUMBER", "CREDIT_CARD_NUMBER"})
    assert res.nested == 0 and res.total(["PHONE_NUMBER"]).fp == 1


def test_documents_without_findings_entry_are_not_scored():
    res = score([_doc()], {}, {"EMAIL_ADDRESS"})
    assert res.total().labels == 0


def test_label_table_maps_tools_to_google_names():
    assert google_name("vigil", "AZURE_AD_CLIENT_SECRET") == "AZURE_AUTH_TOKEN"
    assert google_name("vigil", "AZURE_SAS_TOKEN") == "AZURE_AUTH_TOKEN"
    assert google_name("vigil", "CREDIT_CARD_NUMBER") == "CREDIT_CARD_NUMBER"  # identity
    assert google_name("presidio", "CREDIT_CARD") == "CREDIT_CARD_NUMBER"
    assert google_name("presidio", "US_DRIVER_LICENSE") == "US_DRIVERS_LICENSE_NUMBER"
    assert google_name("presidio", "DATE_TIME") is None
    assert google_name("detect-secrets", "Secret Keyword") == "PASSWORD"
    assert google_name("detect-secrets", "Hex High Entropy String") is None


def test_builder_labels_template_fields_at_their_offsets():
    b = Builder()
    b.fill("card {v} ref {d}; {{literal}}", v=Val("CREDIT_CARD_NUMBER", "4111 1111"), d=Neg("uuid", "abc"))
    b.end_sentence("\n")
    text = b.text
    assert text == "card 4111 1111 ref abc; {literal}.\n"
    (label,) = b.labels
    assert text[label.start:label.end] == "4111 1111"
    (decoy,) = b.decoys
    assert text[decoy.start:decoy.end] == "abc"


def test_mask_hides_the_middle():
    masked = mask("sk-ant-api03-abcdefghijklmnopqrstuvwxyz0123456789")
    assert masked.startswith("sk-") and masked.endswith("89")
    assert "abcdefghij" not in masked and "0123" not in masked


def test_inspect_reader_maps_cli_findings_back_to_documents():
    b = Builder()
    b.add("Hello,\n\nplease write to ").value("EMAIL_ADDRESS", "olga.petrova@northwind-legal.io").add(" today.\n")
    doc = b.document("one", "chat", "chat/one.txt", "en_US", False)
    empty = Document(doc_id="two", kind="chat", filename="chat/two.txt", text="nothing to see here\n",
                     value_free=True)
    run = run_inspect([doc, empty])
    assert run.error == ""
    assert run.unmatched_docs == 0 and run.records >= 1
    assert set(run.span) == {"one", "two"} and run.span["two"] == []
    (found,) = [f for f in run.span["one"] if f.infotype == "EMAIL_ADDRESS"]
    (line,) = [f for f in run.line["one"] if f.infotype == "EMAIL_ADDRESS"]
    label = doc.labels[0]
    assert line.start <= label.start and label.end <= line.end  # line 3 spans the label
    res = score([doc, empty], run.line, {"EMAIL_ADDRESS"})
    assert res.total().recall == 1.0
    assert found.end - found.start == label.end - label.start
