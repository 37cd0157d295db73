"""Merging several annotators' versions of one article region by region.

INCEpTION's curation merges what annotators agree on and sends only the rest to a
curator; this module is that rule for curate's regions. A *region* is an entity
(``start``, ``end``, ``label``) or a quote with all its attributes (content span, kind,
speaker, cue, speaker entity). Each region is counted by the number of annotators who
marked it; with ``quote_overlap`` set, quotes whose content spans overlap by at least that
share (characters in both / characters in either, Jaccard) and whose other attributes are
equal count as one region, shown as the variant most annotators chose.

Every policy is an acceptance threshold ``k`` out of the ``n`` annotators of a task:

- ``unanimous``: ``k = n``;
- ``majority``: ``k = n // 2 + 1`` (more than half);
- ``k-of-n``: ``k`` as given (``min(k, n)``).

A region marked by at least ``k`` annotators is **accepted**; one left out by at least
``k`` annotators (``n - marks >= k``) is **rejected**; any other region has too little
agreement either way and goes to **review**. A task with fewer than ``min_annotators``
annotations goes to review whole. A task whose every region is settled becomes gold with
the accepted regions; otherwise its accepted regions are the draft a reviewer starts from.

Thresholds per label, as INCEpTION's curation sets them per layer: a :class:`LabelRule`
gives the regions of one label (an entity label, or ``QUOTE`` for every quote) their own
rule and, optionally, their own minimum of annotations (below it, those regions go to
review while the rest of the task may still merge). Written ``LABEL=RULE[,min=N]`` with
RULE ``unanimous``, ``majority`` or ``K-of-n``: ``QUOTE=unanimous``, ``ORG=2-of-n,min=3``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from curate.errors import CurateError
from curate.model import Document, Entity, Quote
from curate.score.match import jaccard

PolicyName = Literal["unanimous", "majority", "k-of-n"]
POLICIES: tuple[str, ...] = ("unanimous", "majority", "k-of-n")
QUOTE_LABEL = "QUOTE"
"""The label of every quote region in per-label rules (entity regions use their label)."""
_K_OF_N = re.compile(r"^([1-9]\d*)-of-n$")

ACCEPTED = "accepted"
REJECTED = "rejected"
REVIEW = "review"


@dataclass(frozen=True)
class LabelRule:
    """The rule for the regions of one label: ``name`` and ``k`` as in :class:`MergePolicy`,
    and ``min_annotators`` (None: the policy's) below which they go to review."""

    label: str
    name: str
    k: int | None = None
    min_annotators: int | None = None

    def to_text(self) -> str:
        """The ``LABEL=RULE[,min=N]`` form :func:`parse_label_rule` reads."""
        rule = f"{self.k}-of-n" if self.name == "k-of-n" else self.name
        return f"{self.label}={rule}" + (
            f",min={self.min_annotators}" if self.min_annotators is not None else ""
        )


def parse_label_rule(text: str) -> LabelRule:
    """``"QUOTE=unanimous"``, ``"ORG=2-of-n"``, ``"PERSON=majority,min=3"`` -> a LabelRule.

    Raises CurateError naming the part that does not read.
    """
    label, sep, rest = text.partition("=")
    rule, *options = [p.strip() for p in rest.split(",")]
    form = "write LABEL=RULE[,min=N] with RULE unanimous, majority or K-of-n"
    if not sep or not label.strip() or not rule:
        raise CurateError(f"bad label policy {text!r}; {form}")
    k = None
    if m := _K_OF_N.match(rule):
        rule, k = "k-of-n", int(m.group(1))
    elif rule not in ("unanimous", "majority"):
        raise CurateError(f"bad rule {rule!r} in label policy {text!r}; {form}")
    minimum = None
    for option in options:
        key, _, value = option.partition("=")
        if key.strip() != "min" or not value.strip().isdigit():
            raise CurateError(f"bad option {option!r} in label policy {text!r}; {form}")
        minimum = int(value)
        if minimum < 1:
            raise CurateError(f"min must be at least 1 in label policy {text!r}; {form}")
    if k is not None and k < 1:
        raise CurateError(f"K must be at least 1 in label policy {text!r}; {form}")
    return LabelRule(label.strip(), rule, k, minimum)


@dataclass(frozen=True)
class MergePolicy:
    """How many annotators must agree on a region for it to merge without review.

    ``k`` is used by ``k-of-n`` only; ``quote_overlap`` (0 < x <= 1, or None for exact
    spans) lets overlapping quote contents count as the same quote. Raises CurateError
    on an unknown name or an out-of-range number.
    """

    name: str = "unanimous"
    min_annotators: int = 2
    k: int | None = None
    quote_overlap: float | None = None
    labels: tuple[LabelRule, ...] = ()
    """Rules for single labels; every other label follows the policy itself."""

    def __post_init__(self) -> None:
        seen: set[str] = set()
        for rule in self.labels:
            if rule.label in seen:
                raise CurateError(f"label {rule.label} has two label policies; give one")
            seen.add(rule.label)
            self.for_label(rule.label)  # checks the rule's numbers
        if self.name not in POLICIES:
            raise CurateError(
                f"unknown merge policy {self.name!r}; use one of {', '.join(POLICIES)}"
            )
        if self.name == "k-of-n" and (self.k is None or self.k < 1):
            raise CurateError("merge policy k-of-n needs --k, a whole number of at least 1")
        if self.min_annotators < 1:
            raise CurateError("--min-annotators must be at least 1")
        if self.quote_overlap is not None and not 0 < self.quote_overlap <= 1:
            raise CurateError("--quote-overlap must be in (0, 1]")

    def for_label(self, label: str) -> MergePolicy:
        """The policy the regions of ``label`` follow (this one, unless a rule names it)."""
        for rule in self.labels:
            if rule.label == label:
                minimum = rule.min_annotators
                return replace(
                    self,
                    name=rule.name,
                    k=rule.k,
                    min_annotators=self.min_annotators if minimum is None else minimum,
                    labels=(),
                )
        return self

    def check_labels(self, known: Iterable[str]) -> None:
        """Raise CurateError when a rule names a label that is not ``QUOTE`` nor in ``known``
        (a typo would otherwise leave the label under the general policy unnoticed)."""
        allowed = {QUOTE_LABEL, *known}
        unknown = [r.label for r in self.labels if r.label not in allowed]
        if unknown:
            raise CurateError(
                f"label policy for unknown label(s) {', '.join(unknown)}; "
                f"use {QUOTE_LABEL} or an entity label of the config ({', '.join(sorted(known))})"
            )

    def threshold(self, n: int) -> int:
        """Annotators (of ``n``) who must mark a region for it to be accepted."""
        if self.name == "unanimous":
            return n
        if self.name == "majority":
            return n // 2 + 1
        return min(int(self.k or 1), n)

    def describe(self) -> str:
        """One sentence for reports and the dataset card."""
        rule = self._rule()
        overlap = (
            f"; quotes whose contents overlap by at least {self.quote_overlap:.0%} with equal "
            "speaker, cue and kind count as one"
            if self.quote_overlap
            else "; regions must have the same span and label"
        )
        per_label = ""
        if self.labels:
            rules = "; ".join(
                f"{r.label} regions when {self.for_label(r.label)._rule()}"
                + (f" of at least {r.min_annotators} annotations" if r.min_annotators else "")
                for r in self.labels
            )
            per_label = f"; per label, a region merges instead: {rules}"
        return (
            f"{self.name}: a region merges when {rule}, and is dropped when as many leave it "
            f"out{overlap}; the rest goes to review; tasks with fewer than "
            f"{self.min_annotators} annotations go to review{per_label}"
        )

    def _rule(self) -> str:
        return {
            "unanimous": "every annotator marks it",
            "majority": "more than half of the annotators mark it",
            "k-of-n": f"at least {self.k} annotators mark it",
        }[self.name]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "min_annotators": self.min_annotators,
            "k": self.k,
            "quote_overlap": self.quote_overlap,
            "labels": {
                r.label: {"name": r.name, "k": r.k, "min_annotators": r.min_annotators}
                for r in self.labels
            },
            "description": self.describe(),
        }


Region = Entity | Quote


@dataclass(frozen=True)
class RegionVote:
    """One region and the annotators (their labels in the pool) who marked it."""

    region: Region
    annotators: tuple[str, ...]
    outcome: str


@dataclass
class MergeOutcome:
    """The result for one task: accepted regions (as a Document) and each region's vote."""

    agreed: Document
    votes: list[RegionVote] = field(default_factory=list)
    too_few_annotators: bool = False

    @property
    def settled(self) -> bool:
        """True when no region needs a reviewer."""
        return not self.too_few_annotators and all(v.outcome != REVIEW for v in self.votes)

    def counts(self) -> dict[str, int]:
        out = {ACCEPTED: 0, REJECTED: 0, REVIEW: 0}
        for v in self.votes:
            out[v.outcome] += 1
        return out

    def review(self) -> list[RegionVote]:
        return [v for v in self.votes if v.outcome == REVIEW]


def merge(versions: Mapping[str, Document], policy: MergePolicy) -> MergeOutcome:
    """Merge the annotators' versions of one article under ``policy``.

    ``versions`` maps an annotator label (an alias) to that annotator's Document of the
    same article (same text). Returns the accepted regions as a Document (id, text and
    meta of the first version, no provenance) and every region's vote.
    """
    if not versions:
        raise CurateError("nothing to merge: no annotations")
    first = next(iter(versions.values()))
    n = len(versions)
    votes: list[RegionVote] = []
    ent_marks: dict[Entity, list[str]] = {}
    for who, doc in versions.items():
        if doc.text != first.text:
            raise CurateError(f"annotations of {first.id!r} are of different texts")
        for e in set(doc.entities):
            ent_marks.setdefault(e, []).append(who)
    for e, marked in sorted(
        ent_marks.items(), key=lambda kv: (kv[0].start, kv[0].end, kv[0].label)
    ):
        votes.append(_vote(e, marked, n, policy))
    for q, marked in _quote_clusters(versions, policy.quote_overlap):
        votes.append(_vote(q, marked, n, policy))
    agreed = Document(
        id=first.id,
        text=first.text,
        meta=first.meta,
        entities=tuple(
            v.region for v in votes if v.outcome == ACCEPTED and isinstance(v.region, Entity)
        ),
        quotes=tuple(
            v.region for v in votes if v.outcome == ACCEPTED and isinstance(v.region, Quote)
        ),
    )
    return MergeOutcome(agreed, votes, too_few_annotators=n < policy.min_annotators)


def _vote(region: Region, marked: list[str], n: int, policy: MergePolicy) -> RegionVote:
    rule = policy.for_label(region_label(region))
    if policy.min_annotators <= n < rule.min_annotators:
        # The label's own minimum: its regions wait for review while the rest may merge.
        return RegionVote(region, tuple(marked), REVIEW)
    return RegionVote(region, tuple(marked), _outcome(len(marked), n, rule.threshold(n)))


def _outcome(marks: int, n: int, k: int) -> str:
    if marks >= k:
        return ACCEPTED
    if n - marks >= k:
        return REJECTED
    return REVIEW


def quote_overlap(a: Quote, b: Quote) -> float:
    """Jaccard overlap of two quotes' content characters, fragments as their union (0..1)."""
    return jaccard(a.offsets, b.offsets)


def _attributes(q: Quote) -> tuple[Any, ...]:
    return (q.kind, q.speaker, q.cue, q.speaker_entity)


def _quote_clusters(
    versions: Mapping[str, Document], overlap: float | None
) -> list[tuple[Quote, list[str]]]:
    """Quote regions with their annotators; the representative is the most marked variant."""
    marks: dict[Quote, list[str]] = {}
    for who, doc in versions.items():
        for q in set(doc.quotes):
            marks.setdefault(q, []).append(who)
    variants = sorted(marks.items(), key=lambda kv: (-len(kv[1]), kv[0].start, kv[0].end))
    clusters: list[tuple[Quote, list[str]]] = []
    for q, marked in variants:
        home = None
        if overlap is not None:
            for rep, members in clusters:
                if _attributes(rep) == _attributes(q) and quote_overlap(rep, q) >= overlap:
                    home = members
                    break
        if home is None:
            clusters.append((q, list(marked)))
        else:
            home.extend(w for w in marked if w not in home)
    return sorted(clusters, key=lambda c: (c[0].start, c[0].end))


def merge_counts(outcomes: Sequence[MergeOutcome], labels: Iterable[str] = ()) -> dict[str, int]:
    """Regions and tasks settled and sent to review over many tasks (for the pull report).

    For each of ``labels`` (those with their own rule) its regions are also counted apart,
    as ``"LABEL regions_accepted"`` and so on.
    """
    out = {"regions_accepted": 0, "regions_rejected": 0, "regions_review": 0}
    out.update(tasks_settled=0, tasks_review=0)
    apart = set(labels)
    for label in apart:
        out.update({f"{label} regions_{key}": 0 for key in (ACCEPTED, REJECTED, REVIEW)})
    for o in outcomes:
        for key, v in o.counts().items():
            out[f"regions_{key}"] += v
        out["tasks_settled" if o.settled else "tasks_review"] += 1
        for vote in o.votes:
            if (label := region_label(vote.region)) in apart:
                out[f"{label} regions_{vote.outcome}"] += 1
    return out


def region_label(region: Region) -> str:
    """The label a per-label rule names: an entity's label, or ``QUOTE``."""
    return region.label if isinstance(region, Entity) else QUOTE_LABEL
