"""brat reading and the span matching rules shared by benchmark and scoring."""

from curate.io.brat import parse_ann, read_brat, to_document
from curate.marks import quote_kind
from curate.score.match import coverage, jaccard, majority_overlap, match_spans

TEXT = 'The New York Post reports that her team said "no comment" today.'


def _write(tmp_path, ann: str):
    (tmp_path / "text").mkdir()
    (tmp_path / "attributions").mkdir()
    (tmp_path / "text" / "doc1.txt").write_text(TEXT, encoding="utf-8")
    (tmp_path / "attributions" / "doc1_b.ann").write_text(ann, encoding="utf-8")
    (tmp_path / "attributions" / "doc1_a.ann").write_text(ann, encoding="utf-8")


ANN = (
    "T1\tSource 0 17\tThe New York Post\n"
    "T2\tCue 18 25\treports\n"
    'T3\tContent 26 39;40 63\tthat her team said "no comment" today\n'
    "T4\tAttribution 18 25\treports\n"
    "E1\tAttribution:T4 Content:T3 Cue:T2 Source:T1\n"
    "T5\tSource broken\n"
)


def test_parse_ann_reads_fragments_and_reports_malformed_lines(tmp_path):
    _write(tmp_path, ANN)
    ann = parse_ann(tmp_path / "attributions" / "doc1_a.ann")
    assert ann.spans["T3"].fragments == ((26, 39), (40, 63))
    assert len(ann.problems) == 1 and ":6:" in ann.problems[0]
    doc = to_document("doc1", TEXT, ann)
    (q,) = doc.quotes
    assert (q.start, q.end) == (26, 63)
    assert q.offsets == ((26, 39), (40, 63))
    assert q.speaker.text == "The New York Post" and q.cue.text == "reports"
    assert q.kind == "mixed"


def test_read_brat_gold_takes_first_ann_in_sorted_order(tmp_path):
    _write(tmp_path, ANN)
    corpus = read_brat(tmp_path)
    (doc,) = corpus.gold()
    assert doc.provenance.annotator == "a" and doc.provenance.other_annotators == ("b",)
    assert [d.provenance.annotator for d in corpus.annotations] == ["a", "b"]
    # the malformed T5 line is reported once per file that has it
    assert sum(":6: malformed T line" in p for p in corpus.problems) == 2


def test_quote_kind():
    assert quote_kind("“We will,”") == "direct"
    assert quote_kind('would "pay a price"') == "mixed"
    assert quote_kind("that the deal is off") == "indirect"


def test_matching_rules():
    assert jaccard((0, 10), (5, 15)) == 5 / 15
    assert majority_overlap((0, 10), (0, 6)) and not majority_overlap((0, 10), (0, 5))
    assert not majority_overlap((0, 4), (0, 10))
    assert coverage((0, 10), (5, 20)) == 0.5
    # optimal, one-to-one: the better (higher Jaccard) pair wins
    assert match_spans([(0, 10), (20, 30)], [(1, 10), (0, 9), (21, 30)]) == [(0, 0), (1, 2)]
    assert match_spans([(0, 10)], [(50, 60)]) == []


def test_fragment_rules_use_the_union_of_the_fragments():
    interrupted = ((0, 10), (30, 40))  # “A,” he said, “B.”: 20 characters of content
    covering = (0, 40)
    assert majority_overlap(interrupted, interrupted)
    assert not majority_overlap(interrupted, covering)  # the attribution is not content
    assert not majority_overlap(interrupted, (0, 25))  # 10 of the 20: not more than half
    assert majority_overlap(interrupted, ((0, 10), (30, 35)))  # a shorter second fragment
    assert coverage(interrupted, (0, 10)) == 0.5
    assert jaccard(interrupted, covering) == 20 / 40
    assert match_spans([interrupted], [(0, 10), ((0, 10), (30, 40))]) == [(0, 1)]
