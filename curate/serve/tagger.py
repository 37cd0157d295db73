"""A small learned quote model: BIO tags for CONTENT / SOURCE / CUE tokens.

The stand-in :class:`~curate.serve.training.Trainer` of ``curate serve`` until ``curate
train`` lands: a spaCy ``tagger`` over a blank English tokenizer with its own CNN
``tok2vec`` (no torch), trained through spaCy's config system and training loop
(:func:`spacy.training.loop.train`) from a seed, the config and scores saved beside
the model. It also gives per-token probabilities, from which :func:`uncertainty` is
computed for ordering tasks (``curate push --order uncertainty``).

Decoding: a run of tokens with one type is a span (``B-`` starts a new one); every
CONTENT span is a quote, its cue is the nearest CUE span and its speaker the SOURCE span
nearest to that cue (else to the content), both within :data:`MAX_LINK` characters.
The kind is read from the quote marks: content that opens and closes with a mark is
direct, content with marks inside is mixed, the rest indirect.
"""

from __future__ import annotations

import io
import json
import tempfile
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from curate.errors import CurateError
from curate.model import Article, Document, Prediction, Quote, Span

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc

NAME = "curate.serve.tagger.v1"
META_FILE = "curate-model.json"
TYPES = ("CONTENT", "SOURCE", "CUE")
MAX_LINK = 200
"""Largest distance in characters between a quote and its cue or speaker."""
OPEN_MARKS = "\"“‘'«"
CLOSE_MARKS = "\"”’'»"

CONFIG = """
[paths]
train = null
dev = null

[system]
seed = 0
gpu_allocator = null

[nlp]
lang = "en"
pipeline = ["tagger"]
batch_size = 64

[components]

[components.tagger]
factory = "tagger"
neg_prefix = "!"
overwrite = false

[components.tagger.model]
@architectures = "spacy.Tagger.v2"
nO = null
normalize = true

[components.tagger.model.tok2vec]
@architectures = "spacy.HashEmbedCNN.v2"
pretrained_vectors = null
width = 64
depth = 2
embed_size = 2000
window_size = 1
maxout_pieces = 3
subword_features = true

[corpora]

[corpora.train]
@readers = "spacy.Corpus.v1"
path = ${paths.train}

[corpora.dev]
@readers = "spacy.Corpus.v1"
path = ${paths.dev}

[training]
seed = ${system.seed}
gpu_allocator = ${system.gpu_allocator}
dropout = 0.1
accumulate_gradient = 1
patience = 400
max_epochs = 0
max_steps = 600
eval_frequency = 100
frozen_components = []
annotating_components = []
dev_corpus = "corpora.dev"
train_corpus = "corpora.train"

[training.batcher]
@batchers = "spacy.batch_by_words.v1"
discard_oversize = false
tolerance = 0.2

[training.batcher.size]
@schedules = "compounding.v1"
start = 200
stop = 2000
compound = 1.001

[training.optimizer]
@optimizers = "Adam.v1"
learn_rate = 0.002

[training.score_weights]
tag_acc = 1.0

[initialize]
vectors = null
"""


@dataclass(frozen=True)
class TrainSettings:
    """How long to train: ``max_steps`` optimizer steps (0: until ``max_epochs``)."""

    max_steps: int = 600
    max_epochs: int = 0
    seed: int = 0
    eval_frequency: int = 100


def _blank() -> Language:
    import spacy

    return spacy.blank("en")


def tag_doc(nlp: Language, doc: Document, misaligned: Counter[str] | None = None) -> Doc:
    """The spaCy Doc of ``doc.text`` with BIO tags from its quotes (for training).

    Spans are contracted to whole tokens, never widened; a span that covers no whole
    token is counted in ``misaligned`` and left out.
    """
    sdoc = nlp.make_doc(doc.text)
    tags = ["O"] * len(sdoc)
    parts: list[tuple[str, Span]] = []
    for q in doc.quotes:
        parts.append(("CONTENT", q.content))
        if q.speaker is not None:
            parts.append(("SOURCE", q.speaker))
        if q.cue is not None:
            parts.append(("CUE", q.cue))
    for label, span in parts:
        toks = sdoc.char_span(span.start, span.end, alignment_mode="contract")
        if toks is None or len(toks) == 0:
            if misaligned is not None:
                misaligned[label] += 1
            continue
        for i in range(toks.start, toks.end):
            if tags[i] == "O":
                tags[i] = ("B-" if i == toks.start else "I-") + label
    for tok, tag in zip(sdoc, tags, strict=True):
        tok.tag_ = tag
    return sdoc


def train(
    gold: Sequence[Document],
    out_dir: str | Path,
    settings: TrainSettings | None = None,
    dev: Sequence[Document] | None = None,
) -> Path:
    """Train the tagger on ``gold`` quotes and save it to ``out_dir`` (must not exist).

    ``dev`` (default: ``gold``) picks the best checkpoint by tag accuracy. Writes the
    spaCy model, ``config.cfg`` and :data:`META_FILE` (name, settings, article counts,
    misaligned spans). Raises CurateError for a gold without quotes or an existing
    ``out_dir``.
    """
    from spacy.tokens import DocBin
    from spacy.training.initialize import init_nlp
    from spacy.training.loop import train as train_loop
    from thinc.api import Config

    settings = settings or TrainSettings()
    out = Path(out_dir)
    if out.exists():
        raise CurateError(
            f"model folder {out} already exists; a model version is never overwritten"
        )
    if not any(d.quotes for d in gold):
        raise CurateError(f"the training gold ({len(gold)} articles) has no quotes to learn from")
    nlp = _blank()
    misaligned: Counter[str] = Counter()
    with tempfile.TemporaryDirectory(prefix="curate-tagger-") as tmp:
        paths = {}
        for split, docs in (("train", gold), ("dev", dev or gold)):
            db = DocBin(store_user_data=False)
            for d in docs:
                db.add(tag_doc(nlp, d, misaligned if split == "train" else None))
            paths[split] = str(Path(tmp) / f"{split}.spacy")
            db.to_disk(paths[split])
        config = Config().from_str(CONFIG, interpolate=False)
        config["paths"]["train"] = paths["train"]
        config["paths"]["dev"] = paths["dev"]
        config["system"]["seed"] = settings.seed
        config["training"]["max_steps"] = settings.max_steps
        config["training"]["max_epochs"] = settings.max_epochs
        config["training"]["eval_frequency"] = settings.eval_frequency
        trained = init_nlp(config.interpolate())
        log = io.StringIO()
        tmp_out = Path(tmp) / "out"
        tmp_out.mkdir()
        trained, _ = train_loop(trained, tmp_out, stdout=log, stderr=log)
        best = tmp_out / "model-best"
        final = _load_spacy(best) if best.exists() else trained
        out.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
        final.to_disk(staging)
        meta = {
            "name": NAME,
            "loader": "curate.serve.tagger",
            "settings": settings.__dict__,
            "train_articles": len(gold),
            "dev_articles": len(dev or gold),
            "misaligned_spans": dict(misaligned),
            "dev_tag_acc": (final.meta.get("performance") or {}).get("tag_acc"),
        }
        (staging / META_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        staging.rename(out)
    return out


def _load_spacy(path: Path) -> Language:
    import spacy

    return spacy.load(path)


class TaggerModel:
    """A trained tagger loaded for prediction: quotes and per-article uncertainty."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self.meta = json.loads((self.path / META_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise CurateError(f"{self.path} is not a curate tagger model ({e})") from e
        self.nlp = _load_spacy(self.path)
        self.tagger: Any = self.nlp.get_pipe("tagger")  # a spaCy tagger (untyped)
        self.labels = list(cast(Any, self.tagger).labels)

    @property
    def version(self) -> str:
        return f"{NAME}@{self.path.name}"

    def analyse(self, articles: Sequence[Article]) -> Iterator[tuple[Document, float]]:
        """``(prediction, uncertainty)`` per article, in order.

        Uncertainty is the sum over tokens of ``1 - max probability``: what the model is
        unsure about in the whole article (a long article with many attributions teaches
        more than a short one).
        """
        import numpy

        docs = [self.nlp.make_doc(a.text) for a in articles]
        if not docs:
            return
        scores = self.tagger.model.predict(docs)  # per-token probabilities (predict: argmax)
        for a, sdoc, probs in zip(articles, docs, scores, strict=True):
            probs = self.tagger.model.ops.to_numpy(probs) if len(sdoc) else numpy.zeros((0, 1))
            best = probs.argmax(axis=1) if len(sdoc) else []
            tags = [self.labels[i] for i in best]
            unsure = float((1.0 - probs.max(axis=1)).sum()) if len(sdoc) else 0.0
            quotes = decode(a.text, sdoc, tags)
            yield (
                Document.from_article(a, quotes=tuple(quotes), provenance=Prediction(self.version)),
                unsure,
            )

    def predict(self, articles: Sequence[Article]) -> Iterator[Document]:
        for doc, _ in self.analyse(articles):
            yield doc


def decode(text: str, sdoc: Doc, tags: Sequence[str]) -> list[Quote]:
    """Quotes from BIO tags (see the module docstring for how parts are linked)."""
    spans: dict[str, list[tuple[int, int]]] = {t: [] for t in TYPES}
    cur: tuple[str, int, int] | None = None
    for tok, tag in zip(sdoc, tags, strict=True):
        kind = tag[2:] if tag[:2] in ("B-", "I-") else None
        if kind is not None and cur is not None and cur[0] == kind and tag.startswith("I-"):
            cur = (kind, cur[1], tok.idx + len(tok.text))
            continue
        if cur is not None:
            spans[cur[0]].append((cur[1], cur[2]))
        cur = (kind, tok.idx, tok.idx + len(tok.text)) if kind else None
    if cur is not None:
        spans[cur[0]].append((cur[1], cur[2]))
    quotes = []
    for start, end in spans["CONTENT"]:
        cue = _nearest(spans["CUE"], (start, end))
        anchor = cue or (start, end)
        speaker = _nearest(spans["SOURCE"], anchor)
        quotes.append(
            Quote(
                start,
                end,
                text[start:end],
                _kind(text[start:end]),
                speaker=Span.of(text, *speaker) if speaker else None,
                cue=Span.of(text, *cue) if cue else None,
            )
        )
    return quotes


def _nearest(cands: Sequence[tuple[int, int]], to: tuple[int, int]) -> tuple[int, int] | None:
    def gap(c: tuple[int, int]) -> int:
        return max(0, c[0] - to[1], to[0] - c[1])

    best = min(cands, key=gap, default=None)
    return best if best is not None and gap(best) <= MAX_LINK else None


def _kind(content: str) -> str:
    s = content.strip()
    if len(s) > 1 and s[0] in OPEN_MARKS and s[-1] in CLOSE_MARKS + ".,":
        return "direct"
    if any(m in s for m in '“”"«»'):
        return "mixed"
    return "indirect"
