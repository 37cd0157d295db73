"""What a labeler reads above and beside the article: header, instructions, region scores,
a quote described in words, its parts nested under it (pure conversion, no server)."""

from __future__ import annotations

import re

import pytest

from curate.extract.quotes import CERTAINTY, quote_shape
from curate.model import Document, Entity, Prediction, Quote, Span
from curate.schema import load_schema
from curate.studio.convert import (
    INSTRUCTIONS,
    document_to_results,
    document_to_task,
    headline,
    prediction_score,
    results_to_document,
)
from curate.studio.linkview import FIELD, link_view
from curate.studio.push import prediction

TEXT = (
    "SEOUL, Sept. 6 (UPI) — U.S. officials said talks had stalled. More words follow.\n"
    "“We will rebuild the port,” said Dmitry Peskov. He added that talks would resume."
)


def _doc(**source) -> Document:
    def span(s: str, nth: int = 0) -> Span:
        i = -1
        for _ in range(nth + 1):
            i = TEXT.index(s, i + 1)
        return Span.of(TEXT, i, i + len(s))

    peskov = span("Dmitry Peskov")
    direct, indirect = span("“We will rebuild the port,”"), span("that talks would resume")
    quotes = (
        Quote(*_at(direct), direct.text, "direct",
              speaker=peskov, cue=span("said", 1), speaker_entity=peskov),
        Quote(*_at(indirect), indirect.text, "indirect",
              speaker=span("He"), cue=span("added"), speaker_entity=peskov),
    )  # fmt: skip
    entities = (Entity.of(TEXT, peskov.start, peskov.end, "PERSON"),)
    made_by = Prediction.from_dict({"model_version": "test", **source})
    return Document("a1", TEXT, entities=entities, quotes=quotes, provenance=made_by)


def _at(s: Span) -> tuple[int, int]:
    return s.start, s.end


@pytest.mark.parametrize(
    "text, title, dateline",
    [
        (TEXT, "U.S. officials said talks had stalled.", "SEOUL, Sept. 6 (UPI)"),
        (
            "WASHINGTON (AP) — Mr. Smith said no. Then more.",
            "Mr. Smith said no.",
            "WASHINGTON (AP)",
        ),
        ("A plain opening without an end", "A plain opening without an end", ""),
        ("  \n", "", ""),
        ("word " * 40, ("word " * 20).strip() + "…", ""),
    ],
)
def test_headline_is_the_first_sentence_without_the_dateline(text, title, dateline):
    assert headline(text) == (title, dateline)


def test_task_header_never_shows_a_file_name():
    schema = load_schema()
    doc = _doc().with_(meta={"file": "a1.txt"})
    data = document_to_task(doc, schema)["data"]
    assert data["title"] == "U.S. officials said talks had stalled."
    assert data["byline"] == "SEOUL, Sept. 6 (UPI)"
    assert "a1" not in data["title"] + data["byline"]
    titled = document_to_task(doc.with_(meta={"title": "Port talks", "source": "UPI"}), schema)
    assert (titled["data"]["title"], titled["data"]["byline"]) == ("Port talks", "UPI")
    bare = document_to_task(Document("a2", "no dateline here"), schema)
    assert bare["data"]["byline"] == ""


def test_instructions_are_five_lines_with_every_kind_and_the_quote_hotkeys():
    lines = INSTRUCTIONS.splitlines()
    assert len(lines) <= 5
    for kind in ("direct", "indirect", "mixed"):
        assert sum(line.startswith(f"{kind}:") for line in lines) == 1
    for key in ("QUOTE q", "SPEAKER s", "CUE c", "1 direct", "2 indirect", "3 mixed"):
        assert key in INSTRUCTIONS


def test_every_region_has_a_score_and_a_quote_says_its_parts_in_words():
    schema = load_schema()
    doc = _doc(entity_precision={"PERSON": 0.86})
    results = document_to_results(doc, schema)
    regions = [r for r in results if r["type"] == "labels"]
    assert regions and all(isinstance(r.get("score"), float) for r in regions)
    by_label = {}
    for r in regions:
        by_label.setdefault(r["value"]["labels"][0], []).append(r)
    assert {r["score"] for r in by_label["PERSON"]} == {0.86}
    direct, indirect = sorted(by_label["QUOTE"], key=lambda r: r["value"]["start"])
    assert (
        direct["score"] == CERTAINTY[quote_shape(doc.quotes[0])] == CERTAINTY["direct+cue+speaker"]
    )
    (said,) = direct["meta"]["text"]
    assert "direct" in said and "Dmitry Peskov" in said and "said" in said
    (added,) = indirect["meta"]["text"]
    assert "He (= Dmitry Peskov)" in added and "added" in added and "indirect" in added
    # Each quote's speaker and cue are nested under it in the Regions panel.
    parents = {r["value"]["text"]: r.get("parentID") for r in by_label["SPEAKER"] + by_label["CUE"]}
    assert parents == {"Dmitry Peskov": direct["id"], "said": direct["id"],
                       "He": indirect["id"], "added": indirect["id"]}  # fmt: skip
    (he,) = [r for r in by_label["SPEAKER"] if r["value"]["text"] == "He"]
    assert he["meta"]["text"] == ["Suggestion: speaker of 1 quote(s); refers to Dmitry Peskov."]
    # The note says it is the suggestion: Label Studio never updates it after an edit.
    assert said.startswith("Suggestion (edits do not update this note): direct quote.")
    # Reading the results back ignores all of it.
    back = results_to_document(TEXT, results, schema, id="a1")
    assert back.quotes == doc.quotes


def test_prediction_score_is_the_mean_region_score():
    schema = load_schema()
    doc = _doc(entity_precision={"PERSON": 0.5})
    pred = prediction(doc, schema)
    scores = [r["score"] for r in pred["result"] if "score" in r]
    assert pred["score"] == pytest.approx(sum(scores) / len(scores), abs=1e-4)
    assert prediction(doc.with_(provenance=Prediction("test", score=0.25)), schema)["score"] == 0.25
    assert prediction_score([{"type": "relation"}]) is None


def _rules(css: str) -> dict[str, tuple[set[int], set[str]]]:
    """region id -> (arrow positions drawn while it is selected, regions outlined)."""
    out: dict[str, tuple[set[int], set[str]]] = {}
    sel = r"body:has\(\.htx-highlight\.__active\[class\*=htx-highlight-(\w+)-\]\) "
    arrows_at = r"svg\.relations-overlay > g:is\(((?::nth-of-type\(\d+\)(?:, )?)+)\)"
    for rid, arrows in re.findall(sel + arrows_at, css):
        out.setdefault(rid, (set(), set()))[0].update(map(int, re.findall(r"\d+", arrows)))
    for rid, ends in re.findall(sel + r"\.htx-highlight:is\((.*?)\) \{", css):
        out.setdefault(rid, (set(), set()))[1].update(re.findall(r"htx-highlight-(\w+)-", ends))
    return out


def test_each_task_says_which_arrows_its_selected_region_draws():
    schema = load_schema()
    doc = _doc()
    results = document_to_results(doc, schema)
    css = document_to_task(doc, schema)["data"][FIELD]
    assert css == link_view(results)
    links = [(r["from_id"], r["to_id"]) for r in results if r["type"] == "relation"]
    rules = _rules(css)
    for rid in {end for link in links for end in link}:
        mine = {k for k, link in enumerate(links, start=1) if rid in link}
        ends = {end for link in links if rid in link for end in link}
        assert rules[rid] == (mine, ends), rid
    # The direct quote (q0): its speaker and cue arrows, no other.
    assert rules["q0"][0] == {links.index(("q0", "q0s")) + 1, links.index(("q0", "q0c")) + 1}
    # Only while every suggested link is still drawn and every region they join is there.
    assert f"svg.relations-overlay > g:nth-of-type({len(links)}):last-of-type)" in css
    he = doc.quotes[1].speaker
    assert f':has(.htx-highlight[class*=htx-highlight-q1s-][data-start="{he.start}"])' in css
    assert 'id="curate-all-links"' in css


def test_link_rules_skip_ids_that_are_not_css_identifiers():
    css = link_view(
        [
            {"type": "relation", "from_id": "q0", "to_id": "x]{}"},
            {"type": "relation", "from_id": "q1", "to_id": "q1s"},
        ]
    )
    assert "x]" not in css
    assert _rules(css)["q1"] == ({2}, {"q1", "q1s"}), "positions still count the skipped link"
    assert "g:nth-of-type(2):last-of-type)" in css
    assert link_view([]).count("nth-of-type") == 1  # no link: only the intact check
