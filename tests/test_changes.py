"""The one annotation diff (``curate.changes.diff_article``): changelog and corrections."""

from __future__ import annotations

from curate.changes import diff_article
from curate.model import Document, Entity, Quote, Span

TEXT = "“It is over,” Ana Lopez said, “and we won.” Paris agreed."


def _doc(*quotes: Quote, entities: tuple[Entity, ...] = ()) -> Document:
    return Document("d", TEXT, entities=entities, quotes=quotes)


def _quote(frags, kind="direct") -> Quote:
    ana = TEXT.index("Ana Lopez")
    return Quote.of_fragments(TEXT, frags, kind, speaker=Span.of(TEXT, ana, ana + 9))


FIRST = (0, TEXT.index("”") + 1)
SECOND = (TEXT.index("“and"), TEXT.index("won.”") + 5)


def test_a_changed_fragment_is_a_changed_quote_with_its_fragments_in_the_details():
    a, b = _doc(_quote([FIRST, SECOND])), _doc(_quote([FIRST, (SECOND[0] + 1, SECOND[1])]))
    ch = diff_article(a, b)
    ((old, new, fields),) = ch.quotes_changed
    assert fields == ("fragments",)
    assert ch.details() == [f"~ quote 0:{SECOND[1]} fragments 0:13 + 30:43 -> 0:13 + 31:43"]
    assert ch.summary() == "1 quote changed"


def test_moved_pairs_what_overlaps_instead_of_removing_and_adding():
    paris = TEXT.index("Paris")
    a = _doc(_quote([FIRST, SECOND]), entities=(Entity.of(TEXT, paris, paris + 5, "GPE"),))
    b = _doc(_quote([FIRST]), entities=(Entity.of(TEXT, paris, paris + 4, "GPE"),))
    plain = diff_article(a, b)
    assert (len(plain.quotes_removed), len(plain.quotes_added)) == (1, 1)
    assert (len(plain.entities_removed), len(plain.entities_added)) == (1, 1)
    moved = diff_article(a, b, moved=True)
    assert not (moved.quotes_removed or moved.quotes_added or moved.entities_added)
    ((_, _, fields),) = moved.quotes_changed
    assert fields == ("content",)
    assert [(x.end, y.end) for x, y in moved.entities_moved] == [(paris + 5, paris + 4)]
    assert moved.summary() == "1 entity moved, 1 quote changed"
