"""The spaCy training configs of a curate model (what ``spacy init config`` would write).

One component, ``quotes``: spaCy's transition-based ``ner`` with a CNN ``tok2vec`` of its
own, reading the base model's tags and dependency labels as features (clause boundaries
are what reported-speech content hangs on). Its encoder's four layers each look two tokens
either side (``window_size = 2``: eight tokens of context each way, against four with
spaCy's usual 1), because a reported-speech content ends where its clause ends, often
further than four tokens from the word deciding it; it costs about 1.5x the CPU per step.
The training docs are parsed by the base model once, before training
(:mod:`curate.train.corpus`); at inference the component runs over docs the base model
parsed (see :mod:`curate.extract.learned`). The tokenizer and vocabulary are copied from
the base model. Redo a run with ``python -m spacy train training.cfg --code
curate/train/corpus.py --code curate/train/progress.py --paths.train TRAIN.spacy
--paths.dev DEV.spacy``.

A second component, ``entities`` (the gold's named entities), has a config of its own
(:func:`build_entity_config`, ``training-entities.cfg``): both components are spaCy
``ner`` and write ``doc.ents``, so one training run cannot supervise both on the same
docs. It starts from the base model's own ``ner`` (weights and labels, ``source``):
a few gold articles then fine-tune a recognizer that already knows English names
instead of teaching one from nothing, which two or ten articles cannot. Fine-tuning on a
tiny gold forgets what the gold does not show, so the run keeps the checkpoint that
scores best on the held-out articles and records the base recognizer's score on them
beside it (see :mod:`curate.train.run`). A base model without ``ner`` gives a fresh
recognizer (the quote component's architecture on the word features alone).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

COMPONENT = "quotes"
ENTITY_COMPONENT = "entities"
_LISTENERS = ("spacy.Tok2VecListener.v1", "spacy-transformers.TransformerListener.v1")
LOGGER = "curate.TrainProgress.v1"

_TEMPLATE = """
[paths]
train = null
dev = null

[system]
gpu_allocator = null
seed = 0

[nlp]
lang = "en"
pipeline = ["quotes"]
batch_size = 32

[components]

[components.quotes]
factory = "ner"
incorrect_spans_key = null
moves = null
update_with_oracle_cut_size = 100

[components.quotes.scorer]
@scorers = "spacy.ner_scorer.v1"

[components.quotes.model]
@architectures = "spacy.TransitionBasedParser.v2"
state_type = "ner"
extra_state_tokens = false
hidden_width = 64
maxout_pieces = 2
use_upper = true
nO = null

[components.quotes.model.tok2vec]
@architectures = "spacy.Tok2Vec.v2"

[components.quotes.model.tok2vec.embed]
@architectures = "spacy.MultiHashEmbed.v2"
width = 96
attrs = ["NORM","PREFIX","SUFFIX","SHAPE","TAG","DEP"]
rows = [5000,1000,2500,2500,200,200]
include_static_vectors = false

[components.quotes.model.tok2vec.encode]
@architectures = "spacy.MaxoutWindowEncoder.v2"
width = 96
depth = 4
window_size = 2
maxout_pieces = 3

[corpora]

[corpora.train]
@readers = "curate.ParsedCorpus.v1"
path = ${paths.train}

[corpora.dev]
@readers = "curate.ParsedCorpus.v1"
path = ${paths.dev}

[training]
dev_corpus = "corpora.dev"
train_corpus = "corpora.train"
seed = ${system.seed}
gpu_allocator = ${system.gpu_allocator}
dropout = 0.1
accumulate_gradient = 1
patience = 0
max_epochs = 0
max_steps = 1000
eval_frequency = 200
frozen_components = []
annotating_components = []
before_to_disk = null
before_update = null

[training.batcher]
@batchers = "spacy.batch_by_words.v1"
discard_oversize = false
tolerance = 0.2
get_length = null

[training.batcher.size]
@schedules = "compounding.v1"
start = 500
stop = 2000
compound = 1.001
t = 0.0

[training.logger]
@loggers = "curate.TrainProgress.v1"

[training.optimizer]
@optimizers = "Adam.v1"
beta1 = 0.9
beta2 = 0.999
L2_is_weight_decay = true
L2 = 0.01
grad_clip = 1.0
use_averages = true
eps = 0.00000001
learn_rate = 0.001

[training.score_weights]
ents_f = 1.0
ents_p = 0.0
ents_r = 0.0
ents_per_type = null

[pretraining]

[initialize]
vectors = null
init_tok2vec = null
vocab_data = null
lookups = null

[initialize.before_init]
@callbacks = "spacy.copy_from_base_model.v1"
tokenizer = "BASE"
vocab = "BASE"

[initialize.components]

[initialize.tokenizer]
"""


@dataclass(frozen=True)
class Settings:
    """Training settings that go into the config and the model's meta.

    ``max_steps`` and ``epochs`` bound the run of each component (0: no bound from that
    one; at least one must be set). ``eval_frequency`` is in steps. ``entities``: also
    train the entity component when the gold has entities.
    """

    base_model: str
    seed: int = 0
    max_steps: int = 2000
    epochs: int = 0
    eval_frequency: int = 200
    dropout: float = 0.1
    learn_rate: float = 0.001
    entities: bool = True

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def build_config(settings: Settings, train_path: str, dev_path: str) -> Any:
    """The filled ``spacy.util.Config`` (not yet interpolated) for these settings."""
    from spacy.util import Config

    text = _TEMPLATE.replace('"BASE"', _quoted(settings.base_model))
    cfg = Config().from_str(text, interpolate=False)
    cfg["paths"]["train"] = train_path
    cfg["paths"]["dev"] = dev_path
    cfg["system"]["seed"] = settings.seed
    t = cfg["training"]
    t["max_steps"] = settings.max_steps
    t["max_epochs"] = settings.epochs
    t["eval_frequency"] = settings.eval_frequency
    t["dropout"] = settings.dropout
    t["optimizer"]["learn_rate"] = settings.learn_rate
    return cfg


def build_entity_config(
    settings: Settings, train_path: str, dev_path: str, base_ner: dict[str, Any] | None
) -> Any:
    """The config of the ``entities`` component (see the module doc).

    ``base_ner`` is the ``[components.ner]`` section of the base model's config (None when
    it has no ``ner``): the component is sourced from it, its shared ``tok2vec`` (a
    listener) copied in so the component stands alone.
    """
    cfg = build_config(settings, train_path, dev_path)
    fresh = cfg["components"].pop(COMPONENT)
    cfg["nlp"]["pipeline"] = [ENTITY_COMPONENT]
    if base_ner is None:
        embed = fresh["model"]["tok2vec"]["embed"]
        embed["attrs"] = ["NORM", "PREFIX", "SUFFIX", "SHAPE"]
        embed["rows"] = [5000, 1000, 2500, 2500]
        cfg["components"][ENTITY_COMPONENT] = fresh
        return cfg
    section: dict[str, Any] = {"source": settings.base_model, "component": "ner"}
    tok2vec = (base_ner.get("model") or {}).get("tok2vec") or {}
    if tok2vec.get("@architectures") in _LISTENERS:
        section["replace_listeners"] = ["model.tok2vec"]
    cfg["components"][ENTITY_COMPONENT] = section
    return cfg


def _quoted(value: str) -> str:
    import json

    return json.dumps(value)
