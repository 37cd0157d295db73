"""Agreement between annotators, checked against numbers worked out by hand.

The hand-checked case: ``"Anna met Bob at Acme."`` (21 characters).
Annotator a: PERSON Anna (0-4), PERSON Bob (9-12), ORG Acme (16-20).
Annotator b: PERSON Anna (0-4), ORG Bob (9-12), ORG Acme (16-20).

Span F1, PERSON: a has 2 spans, b has 1, 1 identical: 2 * 1 / (2 + 1) = 2/3; ORG likewise.

Alpha, PERSON, one unit per character: a covers 7 characters, b 4; they disagree on the 3
characters of ``Bob``. Coincidences (each unit with two values gives two ordered pairs):
o(1,1) = 2 * 4 = 8, o(0,0) = 2 * 14 = 28, o(0,1) = o(1,0) = 3; n = 42, n1 = 11, n0 = 31.
alpha = 1 - (n - 1) * (o01 + o10) / (2 * n0 * n1) = 1 - 41 * 6 / 682 = 218/341.
ORG is the mirror image (b covers 7, a 4, the same 3 disagree): also 218/341.

Unitizing alpha (Krippendorff 2004, formulas in curate.score.unitizing), L = 21, m = 2.
PERSON: a's Bob (9-12) lies inside b's gap 4-21, the Annas coincide: D_o = 2 * 3**2 /
(2 * 21**2) = 18/882. Units 4, 3, 4 (N = 3), gaps 5, 9 (a) and 17 (b); per unit
(N - 1) l (l - 1) (2l - 1) / 3 + l**2 * sum over gaps >= l of (gap - l + 1): 56 + 16 * 22
= 408 twice, 20 + 9 * 25 = 245; D_e = 2 * 1061 / (21 * (42 * 41 - 30)) = 2122/35532.
ORG: the same D_o, gaps 16, 1 (a) and 9, 4, 1 (b): 376 twice and 227, D_e = 1958/35532.
Across labels: 1 - (D_o sum) / (D_e sum).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from curate.cli import app
from curate.errors import InputError
from curate.model import Annotation, Document, Entity, Quote, Span
from curate.score.agreement import agreement, annotation_spans, load_annotations

TEXT = "Anna met Bob at Acme."
ALPHA = 218 / 341
U_ALPHA = {"PERSON": 1 - (18 / 882) / (2122 / 35532), "ORG": 1 - (18 / 882) / (1958 / 35532)}


def doc(who: str, entities: list[tuple[int, int, str]], doc_id: str = "x") -> Document:
    ents = tuple(Entity.of(TEXT, s, e, lab) for s, e, lab in entities)
    return Document(doc_id, TEXT, ents, provenance=Annotation((who,)))


A = doc("a", [(0, 4, "PERSON"), (9, 12, "PERSON"), (16, 20, "ORG")])
B = doc("b", [(0, 4, "PERSON"), (9, 12, "ORG"), (16, 20, "ORG")])


def test_hand_checked_case() -> None:
    r = agreement([A, B])
    assert r.annotators == ["a", "b"] and r.articles == 1
    labels = {la.label: la for la in r.labels}
    assert set(labels) == {"ORG", "PERSON"}
    for label in ("ORG", "PERSON"):
        assert labels[label].f1_exact == pytest.approx(2 / 3)
        assert labels[label].f1_overlap == pytest.approx(2 / 3)
        assert labels[label].alpha == pytest.approx(ALPHA)
        assert labels[label].spans == 3
        assert labels[label].u_alpha == pytest.approx(U_ALPHA[label])
    assert r.overall.u_alpha == pytest.approx(1 - (36 / 882) / (4080 / 35532))
    assert r.overall.f1_exact == pytest.approx(4 / 6)
    assert r.overall.alpha == pytest.approx(ALPHA)
    for who in r.by_annotator:
        assert who.f1_exact == pytest.approx(2 / 3)
        assert who.alpha == pytest.approx(ALPHA)
        assert who.u_alpha == pytest.approx(sum(U_ALPHA.values()) / 2)  # two annotators
    (art,) = r.by_article
    assert (art.id, art.annotators, art.spans) == ("x", 2, 6)
    assert art.f1_exact == pytest.approx(2 / 3)


def test_perfect_agreement_is_one() -> None:
    r = agreement([A, A.with_(provenance=Annotation(("c",)))])
    assert all(la.f1_exact == 1.0 and la.alpha == pytest.approx(1.0) for la in r.labels)


def test_quote_parts_and_the_overlap_rule() -> None:
    text = "Kim said that the talks failed. Lee said so."
    said = Span.of(text, 4, 8)
    kim = Span.of(text, 0, 3)
    # a: content "that the talks failed"; b: "the talks failed" (boundary differs)
    qa = Quote(9, 30, text[9:30], "indirect", speaker=kim, cue=said)
    qb = Quote(14, 30, text[14:30], "indirect", speaker=kim, cue=said)
    da = Document("q", text, quotes=(qa,), provenance=Annotation(("a",)))
    db = Document("q", text, quotes=(qb,), provenance=Annotation(("b",)))
    assert annotation_spans(da) == {"QUOTE": [(9, 30)], "SPEAKER": [(0, 3)], "CUE": [(4, 8)]}
    labels = {la.label: la for la in agreement([da, db]).labels}
    assert labels["QUOTE"].f1_exact == 0.0
    assert labels["QUOTE"].f1_overlap == 1.0  # 16 of 21 and 16 of 16 characters overlap
    assert labels["SPEAKER"].f1_exact == labels["CUE"].f1_exact == 1.0
    # 5 of 31 characters in dispute: alpha is high but below 1
    assert 0.6 < labels["QUOTE"].alpha < 1.0
    attrs = agreement([da, db]).quote_attributes
    assert (attrs.matched, attrs.kind, attrs.speaker, attrs.cue) == (1, 1.0, 1.0, 1.0)
    assert attrs.speaker_entity is None  # nobody resolved a speaker: no number, not 100%
    # b calls it mixed and names no speaker: both attributes now disagree
    db2 = db.with_(quotes=(Quote(14, 30, text[14:30], "mixed", cue=said),))
    attrs = agreement([da, db2]).quote_attributes
    assert (attrs.matched, attrs.kind, attrs.speaker, attrs.cue) == (1, 0.0, 0.0, 1.0)


def test_articles_ranked_by_disagreement_single_annotator_articles_not_counted() -> None:
    same = [doc(w, [(0, 4, "PERSON")], doc_id="calm") for w in ("a", "b")]
    lonely = doc("a", [(0, 4, "PERSON")], doc_id="lonely")
    r = agreement([*same, A, B, lonely])
    assert [x.id for x in r.by_article] == ["x", "calm"]
    assert r.by_article[1].f1_exact == 1.0
    assert (r.articles, r.single_annotator_articles) == (2, 1)


def test_three_annotators_with_one_missing_article() -> None:
    c_other = doc("c", [(0, 4, "PERSON")], doc_id="y")
    a_other = doc("a", [(0, 4, "PERSON")], doc_id="y")
    r = agreement([A, B, a_other, c_other])
    by = {x.annotator: x for x in r.by_annotator}
    assert (by["a"].articles, by["b"].articles, by["c"].articles) == (2, 1, 1)
    assert by["c"].f1_exact == 1.0  # c only met a on y, where they agree
    # b and c share no article: their pair has no alpha, so c's alpha is its pair with a
    assert by["c"].alpha == pytest.approx(1.0)


def test_bad_inputs_are_named() -> None:
    with pytest.raises(InputError, match="without an annotator"):
        agreement([A.with_(provenance=None)])
    with pytest.raises(InputError, match="two annotations by 'a'"):
        agreement([A, A])
    other = Document("x", "Anna met Bob at Acme!", provenance=Annotation(("b",)))
    with pytest.raises(InputError, match="different texts"):
        agreement([A, other])


def test_the_command_leaves_out_a_bad_article_and_scores_the_rest(tmp_path: Path) -> None:
    """One article annotated twice by one account: named and left out, not the whole run."""
    from curate.score.agreement import comparable

    twice = doc("a", [(0, 4, "PERSON")], doc_id="y")
    kept, left = comparable([A, B, twice, twice])
    assert kept == [A, B]
    assert left == ["article 'y': two annotations by 'a'; keep one per annotator; skipped"]
    path = tmp_path / "annotations.jsonl"
    lines = [json.dumps(d.to_dict()) for d in (A, B, twice, twice)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    res = CliRunner().invoke(app, ["agreement", str(path)])
    assert res.exit_code == 0, res.output
    said = " ".join(res.output.split())
    assert "skipped article 'y': two annotations by 'a'" in said
    assert "1 articles with 2+ annotators" in said


def test_load_annotations_skips_bad_lines(tmp_path: Path) -> None:
    path = tmp_path / "annotations.jsonl"
    lines = [json.dumps(A.to_dict()), "{broken", json.dumps({"id": "x"}), json.dumps(B.to_dict())]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    docs, problems = load_annotations(tmp_path)  # the folder holding annotations.jsonl
    assert [d.provenance.annotator for d in docs] == ["a", "b"]
    assert len(problems) == 2
    assert any(":2:" in p for p in problems) and any(":3:" in p for p in problems)


def test_cli_agreement(tmp_path: Path) -> None:
    path = tmp_path / "annotations.jsonl"
    path.write_text("\n".join(json.dumps(d.to_dict()) for d in (A, B)) + "\n", encoding="utf-8")
    out = tmp_path / "agreement.json"
    res = CliRunner().invoke(app, ["agreement", str(path), "--json", str(out)])
    assert res.exit_code == 0, res.output
    assert "PERSON" in res.output and "0.639" in res.output and "0.667" in res.output
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["overall"]["alpha"] == pytest.approx(ALPHA)
    assert report["labels"][1]["u_alpha"] == pytest.approx(U_ALPHA["PERSON"])
    assert "u-alpha" in res.output and "0.658" in res.output
    # pre-annotations of other articles: said, not a silently missing comparison
    other = tmp_path / "other.jsonl"
    other.write_text(json.dumps({"id": "elsewhere", "text": "x"}) + "\n", encoding="utf-8")
    res = CliRunner().invoke(app, ["agreement", str(path), "--predictions", str(other)])
    assert res.exit_code == 0, res.output
    assert "warning: the pre-annotation has none of the annotated articles" in " ".join(
        res.output.split()
    )


def test_cli_agreement_needs_two_annotators(tmp_path: Path) -> None:
    path = tmp_path / "annotations.jsonl"
    path.write_text(json.dumps(A.to_dict()) + "\n", encoding="utf-8")
    res = CliRunner().invoke(app, ["agreement", str(path)])
    assert res.exit_code == 1
    assert "no article has two or more annotators" in res.output


# PolNeAR sits beside the project (../shared); tests must pass without it.
POLNEAR_TRAINING = Path(__file__).resolve().parents[2] / "shared/corpora/polnear/annotator-training"


@pytest.mark.skipif(not POLNEAR_TRAINING.is_dir(), reason="PolNeAR not available")
def test_polnear_annotator_training() -> None:
    docs, problems = load_annotations(POLNEAR_TRAINING)
    r = agreement(docs)
    assert problems == [] and r.articles == 4 and len(r.annotators) == 6
    assert {la.label for la in r.labels} == {"QUOTE", "SPEAKER", "CUE"}
    assert all(0.5 < la.alpha < 0.95 for la in r.labels)
    assert all(0.4 < la.u_alpha < 0.95 for la in r.labels)


def test_alpha_equals_the_krippendorff_package_with_missing_coders() -> None:
    import krippendorff  # a dev dependency: missing means a broken install, not a skip
    import numpy as np

    rng = np.random.default_rng(7)
    texts = {"p": "x" * 40, "q": "y" * 25, "r": "z" * 30}
    seen = {"p": "abc", "q": "ab", "r": "bc"}  # c never saw q, a never saw r
    docs, rows = [], {w: [] for w in "abc"}
    for art, text in texts.items():
        for w in "abc":
            if w not in seen[art]:
                rows[w].append(np.full(len(text), np.nan))
                continue
            cuts = sorted(rng.choice(len(text), size=4, replace=False))
            ents = [(int(cuts[0]), int(cuts[1]), "X"), (int(cuts[2]), int(cuts[3]), "X")]
            docs.append(
                Document(
                    art,
                    text,
                    tuple(Entity.of(text, s, e, lab) for s, e, lab in ents),
                    provenance=Annotation((w,)),
                )
            )
            v = np.zeros(len(text))
            for s, e, _ in ents:
                v[s:e] = 1
            rows[w].append(v)
    data = np.array([np.concatenate(rows[w]) for w in "abc"])
    expected = krippendorff.alpha(reliability_data=data, level_of_measurement="nominal")
    (label,) = agreement(docs).labels
    assert label.alpha == pytest.approx(expected)
    pair = krippendorff.alpha(reliability_data=data[[0, 1]], level_of_measurement="nominal")
    by = {
        x.annotator: x
        for x in agreement([d for d in docs if d.provenance.annotator != "c"]).by_annotator
    }
    assert by["a"].alpha == pytest.approx(pair)


def test_a_gold_version_is_refused_with_what_to_give_instead() -> None:
    version = Path(__file__).resolve().parent.parent / "data" / "gold" / "seeds" / "2.0.0"
    with pytest.raises(InputError, match="is a gold version.*pull folder.*--gold"):
        load_annotations(version)
    from curate.gold.version import MANIFEST
    from curate.score.agreement import VERSION_MANIFEST

    assert VERSION_MANIFEST == MANIFEST  # score names the file gold writes


def test_cli_agreement_names_e_mail_annotators_by_pseudonym(tmp_path: Path, monkeypatch) -> None:
    from curate import settings

    monkeypatch.setattr(settings, "GOLD_ROOT", tmp_path / "gold")
    a = doc("ana@example.org", [(0, 4, "PERSON")])
    b = doc("bo@example.org", [(0, 4, "PERSON"), (16, 20, "ORG")])
    path = tmp_path / "annotations.jsonl"
    path.write_text("\n".join(json.dumps(d.to_dict()) for d in (a, b)) + "\n", encoding="utf-8")
    out, html = tmp_path / "agreement.json", tmp_path / "agreement.html"
    res = CliRunner().invoke(app, ["agreement", str(path), "--json", str(out), "--html", str(html)])
    assert res.exit_code == 0, res.output
    for text in (res.output, out.read_text(encoding="utf-8"), html.read_text(encoding="utf-8")):
        assert "@" not in text and "annotator-" in text
    mapping = (tmp_path / "gold" / ".annotators.json").read_text(encoding="utf-8")
    assert "ana@example.org" in mapping  # the way back stays in the private mapping
    assert (tmp_path / "gold" / ".annotators.json").stat().st_mode & 0o077 == 0
