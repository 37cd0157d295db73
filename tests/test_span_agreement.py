"""Gamma against its reference implementation, and annotators against a reference."""

from __future__ import annotations

import pytest

from curate.model import Annotation, Document, Entity, Quote, Span
from curate.score.span_agreement import against_reference, edit_counts, gamma_by_label

TEXT = "Anna Smith met Bob Jones in Paris. “We will win,” she said on Monday."
ANNA = Entity.of(TEXT, 0, 10, "PERSON")
ANNA_SHORT = Entity.of(TEXT, 0, 4, "PERSON")
BOB = Entity.of(TEXT, 15, 24, "PERSON")
BOB_ORG = Entity.of(TEXT, 15, 24, "ORG")
PARIS = Entity.of(TEXT, 28, 33, "GPE")
QS, QE = TEXT.index("“"), TEXT.index("”") + 1
SHE = Span.of(TEXT, TEXT.index("she"), TEXT.index("she") + 3)
SAID = Span.of(TEXT, TEXT.index("said"), TEXT.index("said") + 4)
QUOTE = Quote(QS, QE, TEXT[QS:QE], "direct", speaker=SHE, cue=SAID)


def doc(who: str, *regions, art: str = "a1") -> Document:
    return Document(
        id=art,
        text=TEXT,
        entities=tuple(r for r in regions if isinstance(r, Entity)),
        quotes=tuple(r for r in regions if isinstance(r, Quote)),
        provenance=Annotation((who,)),
    )


def test_edit_counts_name_each_kind_of_edit():
    ref = doc("model", ANNA, BOB, PARIS, QUOTE)
    mine = doc(
        "x",
        ANNA_SHORT,  # boundary moved
        BOB_ORG,  # label changed
        # PARIS deleted
        Quote(QS, QE, TEXT[QS:QE], "direct", speaker=None, cue=SAID),  # speaker changed
        Entity.of(TEXT, TEXT.index("Monday"), TEXT.index("Monday") + 6, "DATE"),  # added
    )
    assert edit_counts(ref, mine) == {
        "kept": 0,
        "label_changed": 1,
        "boundary_moved": 1,
        "kind_changed": 0,
        "speaker_changed": 1,
        "cue_changed": 0,
        "added": 1,
        "deleted": 1,
    }
    assert edit_counts(ref, ref)["kept"] == 4 and sum(edit_counts(ref, ref).values()) == 4


def test_against_reference_pools_per_annotator():
    ref = {"a1": doc("gold", ANNA, BOB)}
    docs = [doc("x", ANNA, BOB), doc("y", ANNA), doc("z", ANNA, art="other")]
    rows = {r.annotator: r for r in against_reference(docs, ref)}
    assert set(rows) == {"x", "y"}  # z's article is not in the reference
    assert rows["x"].f1 == 1.0
    assert rows["y"].f1 == pytest.approx(2 * 1 / (2 + 1))
    assert rows["y"].edits["deleted"] == 1 and rows["y"].edits["kept"] == 1


def test_reference_regions_of_a_kind_no_annotator_marks_are_not_counted_deleted():
    # A corpus annotated for quotes only (PolNeAR): the suggested entities are no edit.
    ref = {"a1": doc("model", ANNA, BOB, PARIS, QUOTE)}
    docs = [doc("x", QUOTE), doc("y")]
    rows = {r.annotator: r for r in against_reference(docs, ref)}
    assert rows["x"].edits["deleted"] == 0 and rows["x"].edits["kept"] == 1
    assert rows["x"].f1 == 1.0 and rows["x"].reference_spans == 3  # quote, speaker, cue
    assert rows["y"].edits["deleted"] == 1  # y deleted the quote x kept
    # An entity label one annotator uses (PERSON) stays in the reference for everyone;
    # PARIS (GPE, used by nobody) does not.
    rows = {r.annotator: r for r in against_reference([doc("x", QUOTE, ANNA), doc("y")], ref)}
    assert rows["y"].edits["deleted"] == 3  # ANNA, BOB, the quote
    assert rows["x"].edits["kept"] == 2 and rows["x"].edits["deleted"] == 1  # BOB


def test_gamma_is_one_for_identical_annotations_and_lower_otherwise():
    same = [doc("a", ANNA, BOB, PARIS), doc("b", ANNA, BOB, PARIS)]
    g = gamma_by_label(same)
    assert g["PERSON"] == pytest.approx(1.0, abs=1e-6)
    differ = [doc("a", ANNA, BOB, PARIS), doc("b", ANNA_SHORT, PARIS), doc("c", ANNA, BOB)]
    g2 = gamma_by_label(differ)
    assert g2["PERSON"] < 1.0
    assert g2 == gamma_by_label(differ)  # same seed, same value
    canonical = gamma_by_label(differ, fast=False)
    assert canonical["PERSON"] == pytest.approx(g2["PERSON"], rel=0.05)  # fast-gamma


def test_agreement_html_marks_low_values_and_escapes_names():
    from curate.report.agreement import render_agreement_html

    report = {
        "articles": 2,
        "annotators": ["<b>x</b>", "y"],
        "labels": [
            {
                "label": "CUE",
                "spans": 4,
                "f1_exact": 0.5,
                "f1_overlap": 0.9,
                "alpha": 0.95,
                "u_alpha": 0.61,
            },
        ],
        "overall": {
            "label": "all",
            "spans": 9,
            "f1_exact": 0.55,
            "f1_overlap": 0.91,
            "alpha": 0.93,
            "u_alpha": 0.62,
        },
        "by_annotator": [
            {
                "annotator": "<b>x</b>",
                "articles": 2,
                "spans": 3,
                "f1_exact": 0.9,
                "f1_overlap": 0.2,
                "alpha": None,
            },
        ],
        "by_article": [],
        "against": {
            "the gold": [
                {
                    "annotator": "y",
                    "articles": 2,
                    "f1_exact": 0.8,
                    "edits": {
                        "kept": 3,
                        "label_changed": 1,
                        "boundary_moved": 0,
                        "kind_changed": 0,
                        "speaker_changed": 0,
                        "cue_changed": 0,
                        "added": 2,
                        "deleted": 0,
                    },
                },
            ]
        },
    }
    html = render_agreement_html(report, "t & <title>")
    assert "<b>x</b>" not in html and "&lt;b&gt;x&lt;/b&gt;" in html
    assert '<td class="low">0.500</td>' in html  # F1 exact 0.5 < 0.67
    assert "<td>0.950</td>" in html
    assert '<td class="low">0.610</td>' in html and "unitizing alpha" in html
    assert '<tr class="total"><td>all</td><td>9</td>' in html  # the labels' total row
    assert '<td class="low">0.620</td>' in html
    assert "<td>-</td></tr>" in html  # a report from before u-alpha: no per-annotator figure
    assert 'class="bar low"' in html  # the annotator's overlap F1 bar (0.2)
    assert "Each annotator against the gold" in html
    assert "http" not in html.split("</style>")[0]  # nothing fetched
