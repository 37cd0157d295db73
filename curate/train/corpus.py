"""A spaCy corpus reader for docs the base model already parsed.

spaCy's own reader (``spacy.Corpus.v1``) re-tokenizes each text, so the tagger and
parser would have to run again on every pass to give the quote model its features. This
reader hands the stored parse to the model instead: the predicted doc is the reference
doc (tokens, tags, dependencies, sentences) without its entities. Importing this module
registers ``curate.ParsedCorpus.v1`` in spaCy's reader registry.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from spacy.tokens import DocBin
from spacy.training import Example
from spacy.util import registry

if TYPE_CHECKING:
    from spacy.language import Language


@registry.readers("curate.ParsedCorpus.v1")
def parsed_corpus(path: Path) -> Callable[[Language], Iterator[Example]]:
    """Examples from a DocBin of parsed docs whose ``ents`` are the quote parts."""

    def read(nlp: Language) -> Iterator[Example]:
        for ref in DocBin().from_disk(path).get_docs(nlp.vocab):
            pred = ref.copy()
            pred.set_ents([], default="missing")
            yield Example(pred, ref)

    return read
