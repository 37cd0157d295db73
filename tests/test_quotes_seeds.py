"""Every quote of the two seed articles, with its speaker, the entity it resolves to and its cue."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from curate.extract.nlp import load_model, pipes_to_exclude  # noqa: E402
from curate.extract.quotes import REQUIRED_PIPES, VERSIONS, extract_quotes  # noqa: E402
from curate.model import Document, Quote  # noqa: E402

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
UPI = "000_4467d989d7ade940.txt"  # Sullivan, Watson, Peskov
YONHAP = "003_cc9b1eed084009b0.txt"  # Kirby, with an unbalanced quote mark

# (file, words in the quote, kind, speaker mention, speaker entity, cue)
EXPECTED = [
    (UPI, "actively advancing", "mixed", "a top U.S. security official", None, "according to"),
    (UPI, "“pay a price”", "mixed", "who", None, "warned"),
    (
        UPI,
        "is not going to reflect well",
        "mixed",
        "national security adviser Jake Sullivan",
        "Jake Sullivan",
        "said",
    ),
    (
        UPI,
        "isolated regime is already under targeted sanctions",
        "indirect",
        "Sullivan",
        "Sullivan",
        "noted",
    ),
    (UPI, "economic sanctions imposed by the West", "indirect", "He", "Sullivan", "added"),
    (UPI, "We have continued to squeeze", "direct", "Sullivan", "Sullivan", "said"),
    (UPI, "I think it says a lot", "direct", "Sullivan", "Sullivan", "said"),
    (UPI, "We will continue to call on North Korea", "direct", "Sullivan", "Sullivan", "said"),
    (
        UPI,
        "Kim Jong Un may soon travel",
        "mixed",
        "U.S. National Security Council spokeswoman Adriene Watson",
        "Adriene Watson",
        "said",
    ),
    (
        UPI,
        "Kim would likely travel by armored train",
        "indirect",
        "The New York Times",
        "The New York Times",
        "saying",
    ),
    (UPI, "Putin is seeking artillery shells", "indirect", "The Times", "Times", "reported"),
    (
        UPI,
        "he could not confirm any details",
        "indirect",
        "Kremlin spokesman Dmitry Peskov",
        "Dmitry Peskov",
        "told",
    ),
    (UPI, "We have nothing to tell you on this topic", "direct", "he", "Dmitry Peskov", "said"),
    (
        YONHAP,
        "A group of Russian officials recently trip",
        "indirect",
        "a National Security Council (NSC) official",
        None,
        "said",
    ),
    (YONHAP, "the trip may be followed", "indirect", "John Kirby", "John Kirby", "said"),
    (YONHAP, "We have new information", "direct", "the NSC spokesperson", "John Kirby", "told"),
    (YONHAP, "Following these negotiations", "direct", "he", "John Kirby", "added"),
    (YONHAP, "The DPRK has said publicly", "direct", "Kirby", "Kirby", "told"),
    (
        YONHAP,
        "Russian Minister of Defense Sergei Shoigu recently traveled",
        "direct",
        "he",
        "Kirby",
        "added",
    ),
    (
        YONHAP,
        "North Korea may also seek to provide raw materials",
        "indirect",
        "The NSC official",
        "Kirby",
        "noted",
    ),
    # The unbalanced one: “These potential deals ... base, said Kirby, noting that “export ...
    (YONHAP, "These potential deals could also include", "direct", "Kirby", "Kirby", "said"),
    (YONHAP, "export controls and sanctions", "mixed", "Kirby", "Kirby", "noting"),
    (YONHAP, "We will continue to identify, expose and counter", "direct", "he", "Kirby", "added"),
]


@pytest.fixture(scope="module")
def parsed() -> dict[str, object]:
    nlp, _ = load_model(None, disable=pipes_to_exclude(None, REQUIRED_PIPES))
    return {name: nlp((SEEDS / name).read_text(encoding="utf-8")) for name in (UPI, YONHAP)}


# Every registered rule version must meet the seed expectations.
@pytest.fixture(scope="module", params=VERSIONS, ids=[f"v{v}" for v in VERSIONS])
def found(request, parsed) -> dict[str, tuple[str, list[Quote]]]:
    return {
        name: (doc.text, extract_quotes(doc, version=request.param))  # type: ignore[attr-defined]
        for name, doc in parsed.items()
    }


def _text(part) -> str | None:
    return part.text if part is not None else None


@pytest.mark.parametrize(
    "name, needle, kind, speaker, entity, cue", EXPECTED, ids=[e[1][:30] for e in EXPECTED]
)
def test_seed_quote(found, name, needle, kind, speaker, entity, cue):
    text, quotes = found[name]
    hits = [q for q in quotes if needle in q.text]
    assert len(hits) == 1, f"{needle!r} in {[q.text[:50] for q in quotes]}"
    q = hits[0]
    assert (q.kind, _text(q.speaker), _text(q.speaker_entity), _text(q.cue)) == (
        kind,
        speaker,
        entity,
        cue,
    )
    # The resolved entity is an earlier (or the same) mention, never a later one.
    if q.speaker_entity is not None:
        assert q.speaker_entity.end <= q.speaker.end


def test_peskov_resolves_to_the_earlier_mention(found):
    text, quotes = found[UPI]
    q = next(q for q in quotes if "nothing to tell you" in q.text)
    assert q.text == "“We have nothing to tell you on this topic,”"
    assert q.speaker_entity.start == text.index("Dmitry Peskov")


def test_unbalanced_quote_is_cut_before_its_attribution(found):
    text, quotes = found[YONHAP]
    q = next(q for q in quotes if "These potential deals" in q.text)
    assert q.text.startswith("“These potential deals")
    assert q.text.endswith("Russia’s defense industrial base,")
    assert q.cue.start == text.index("said Kirby")
    # Everything after the unbalanced mark is still extracted.
    last = max(quotes, key=lambda q: q.start)
    assert "We will continue to identify" in last.text


def test_split_quote_is_one_quote(found):
    _, quotes = found[YONHAP]
    q = next(q for q in quotes if "Russian Minister of Defense" in q.text)
    assert q.text.endswith("between the DPRK and Russia.”")  # “A,” he added. “B.”


@pytest.mark.parametrize("name", [UPI, YONHAP])
def test_seed_quotes_make_a_valid_document(found, name):
    text, quotes = found[name]
    doc = Document(name, text, quotes=tuple(quotes))
    assert Document.from_dict(doc.to_dict()) == doc
    # No headline-less dateline in any content.
    assert not any(q.text.startswith("SEOUL") for q in quotes)
