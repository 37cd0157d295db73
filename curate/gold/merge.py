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
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from curate.errors import CurateError
from curate.model import Document, Entity, Quote
from curate.score.match import jaccard

PolicyName = Literal["unanimous", "majority", "k-of-n"]
POLICIES: tuple[str, ...] = ("unanimous", "majority", "k-of-n")

ACCEPTED = "accepted"
REJECTED = "rejected"
REVIEW = "review"


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

    def __post_init__(self) -> None:
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

    def threshold(self, n: int) -> int:
        """Annotators (of ``n``) who must mark a region for it to be accepted."""
        if self.name == "unanimous":
            return n
        if self.name == "majority":
            return n // 2 + 1
        return min(int(self.k or 1), n)

    def describe(self) -> str:
        """One sentence for reports and the dataset card."""
        rule = {
            "unanimous": "every annotator marks it",
            "majority": "more than half of the annotators mark it",
            "k-of-n": f"at least {self.k} annotators mark it",
        }[self.name]
        overlap = (
            f"; quotes whose contents overlap by at least {self.quote_overlap:.0%} with equal "
            "speaker, cue and kind count as one"
            if self.quote_overlap
            else "; regions must have the same span and label"
        )
        return (
            f"{self.name}: a region merges when {rule}, and is dropped when as many leave it "
            f"out{overlap}; the rest goes to review; tasks with fewer than "
            f"{self.min_annotators} annotations go to review"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "min_annotators": self.min_annotators,
            "k": self.k,
            "quote_overlap": self.quote_overlap,
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
    k = policy.threshold(n)
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
        votes.append(RegionVote(e, tuple(marked), _outcome(len(marked), n, k)))
    for q, marked in _quote_clusters(versions, policy.quote_overlap):
        votes.append(RegionVote(q, tuple(marked), _outcome(len(marked), n, k)))
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


def merge_counts(outcomes: Sequence[MergeOutcome]) -> dict[str, int]:
    """Regions and tasks settled and sent to review over many tasks (for the pull report)."""
    out = {"regions_accepted": 0, "regions_rejected": 0, "regions_review": 0}
    out.update(tasks_settled=0, tasks_review=0)
    for o in outcomes:
        for key, v in o.counts().items():
            out[f"regions_{key}"] += v
        out["tasks_settled" if o.settled else "tasks_review"] += 1
    return out
