"""Gold selection: which human annotation of a task becomes gold, and which tasks need a person.

The policy (``POLICY``), applied per task to its submitted, non-cancelled annotations:

1. **Ground truth wins.** An annotation marked ground truth in Label Studio is the gold.
   Several ground-truth annotations must agree (rule 3) or the task is a conflict.
2. **A single annotation is taken** as it is.
3. **Agreeing annotations are merged**: when all annotations have identical span sets
   (entities with labels; quotes with kind, speaker, cue and speaker entity), the gold is
   that shared content and its provenance lists every annotation and annotator.
4. **Anything else is a conflict**: listed in ``conflicts.jsonl`` with a link to the task
   in Label Studio and what differs, and left out of the gold until someone adjudicates
   (marks one annotation as ground truth, or fixes them to agree) and pulls again.

Predictions never become gold; a task without a human annotation has no gold.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from curate.gold.merge import MergeOutcome, MergePolicy, RegionVote, merge
from curate.model import Document, Entity, Quote

POLICY = (
    "ground truth wins; a single annotation is taken; identical annotations are merged; "
    "any disagreement is a conflict to adjudicate in Label Studio (not in gold)"
)

#: How a task's gold was chosen (``Annotation.selection``) or why it has none.
GROUND_TRUTH = "ground_truth"
SINGLE = "single"
MERGED = "merged"
POLICY_MERGED = "policy_merged"
ADJUDICATED = "adjudicated"
CONFLICT = "conflict"
UNANNOTATED = "unannotated"


@dataclass(frozen=True)
class Candidate:
    """One human annotation of a task, converted to a Document."""

    annotation_id: int
    annotator: str
    document: Document
    ground_truth: bool = False
    created_at: str | None = None
    updated_at: str | None = None


@dataclass(frozen=True)
class Conflict:
    """A task whose annotations disagree: what differs and where to adjudicate it."""

    task_id: int
    curate_id: str
    url: str
    annotations: tuple[Mapping[str, Any], ...]
    differences: tuple[str, ...]
    reason: str = "annotations disagree"
    agreed: Document | None = None
    """The regions the merge policy accepted: the draft a reviewer starts from."""

    def to_dict(self) -> dict[str, Any]:
        out = {
            "task_id": self.task_id,
            "curate_id": self.curate_id,
            "url": self.url,
            "reason": self.reason,
            "annotations": [dict(a) for a in self.annotations],
            "differences": list(self.differences),
        }
        if self.agreed is not None:
            out["agreed"] = {
                "entities": [e.to_dict() for e in self.agreed.entities],
                "quotes": [q.to_dict() for q in self.agreed.quotes],
            }
        return out


@dataclass
class Selection:
    """The outcome for one task: a gold Document, or a Conflict, or neither."""

    rule: str
    gold: Document | None = None
    conflict: Conflict | None = None
    used: tuple[Candidate, ...] = field(default_factory=tuple)
    merge: MergeOutcome | None = None


def task_url(base_url: str, project_id: int, task_id: int) -> str:
    """The Label Studio page where a person opens the task."""
    return f"{base_url.rstrip('/')}/projects/{project_id}/data?task={task_id}"


def content_key(doc: Document) -> tuple[frozenset[Entity], frozenset[Quote]]:
    """What two annotations must share to agree: their span sets, nothing else."""
    return frozenset(doc.entities), frozenset(doc.quotes)


def select_gold(
    candidates: Sequence[Candidate],
    *,
    task_id: int,
    curate_id: str,
    url: str,
    merge_policy: MergePolicy | None = None,
) -> Selection:
    """Apply the policy above to one task's annotations.

    With ``merge_policy`` (:mod:`curate.gold.merge`), annotations that disagree are
    merged region by region: a task whose every region is settled becomes gold
    (``policy_merged``); otherwise it is a conflict whose ``agreed`` regions are the
    reviewer's draft. A task with fewer annotations than the policy's minimum is a
    conflict too.
    """
    if not candidates:
        return Selection(UNANNOTATED)
    truth = [c for c in candidates if c.ground_truth]
    pool, rule = (truth, GROUND_TRUTH) if truth else (list(candidates), None)
    too_few = merge_policy is not None and not truth and len(pool) < merge_policy.min_annotators
    if len(pool) == 1 and not too_few:
        return Selection(rule or SINGLE, gold=pool[0].document, used=(pool[0],))
    if len(pool) > 1 and len({content_key(c.document) for c in pool}) == 1:
        return Selection(rule or MERGED, gold=pool[0].document, used=tuple(pool))
    outcome = None
    if merge_policy is not None and not truth:
        outcome = merge({_voter(c): c.document for c in pool}, merge_policy)
        if outcome.settled:
            return Selection(POLICY_MERGED, gold=outcome.agreed, used=tuple(pool), merge=outcome)
    reason = "ground-truth annotations disagree" if truth else "annotations disagree"
    if too_few:
        reason = f"fewer than {merge_policy.min_annotators} annotations"  # type: ignore[union-attr]
    conflict = Conflict(
        task_id=task_id,
        curate_id=curate_id,
        url=url,
        annotations=tuple(
            {
                "id": c.annotation_id,
                "annotator": c.annotator,
                "ground_truth": c.ground_truth,
                "updated_at": c.updated_at,
            }
            for c in pool
        ),
        differences=tuple(_review_lines(outcome.review()) if outcome else differences(pool)),
        reason=reason,
        agreed=outcome.agreed if outcome else None,
    )
    return Selection(CONFLICT, conflict=conflict, used=tuple(pool), merge=outcome)


def _voter(c: Candidate) -> str:
    return f"#{c.annotation_id} {c.annotator}"


def _review_lines(votes: Sequence[RegionVote], limit: int = 20) -> list[str]:
    out = []
    for v in votes:
        what = (
            _describe_quote(v.region)
            if isinstance(v.region, Quote)
            else f"entity {v.region.start}:{v.region.end} {v.region.label} {v.region.text!r}"
        )
        out.append(f"{what}: only {', '.join(v.annotators)}")
    if len(out) > limit:
        out = out[:limit] + [f"... and {len(out) - limit} more"]
    return out


def differences(pool: Sequence[Candidate], limit: int = 20) -> list[str]:
    """Human-readable lines: each span some annotations have and others lack."""
    owners: dict[str, list[str]] = {}
    for c in pool:
        who = f"#{c.annotation_id} {c.annotator}"
        ents, quotes = content_key(c.document)
        for e in sorted(ents, key=lambda e: (e.start, e.end, e.label)):
            owners.setdefault(f"entity {e.start}:{e.end} {e.label} {e.text!r}", []).append(who)
        for q in sorted(quotes, key=lambda q: (q.start, q.end)):
            owners.setdefault(_describe_quote(q), []).append(who)
    out = [f"{what}: only {', '.join(who)}" for what, who in owners.items() if len(who) < len(pool)]
    if len(out) > limit:
        out = out[:limit] + [f"... and {len(out) - limit} more"]
    return out


def _describe_quote(q: Quote) -> str:
    parts = [f"quote {q.start}:{q.end} {q.kind} {_short(q.text)!r}"]
    if q.discontinuous:
        parts.append("fragments=" + "+".join(f"{f.start}:{f.end}" for f in q.fragments))
    for name in ("speaker", "cue", "speaker_entity"):
        span = getattr(q, name)
        parts.append(f"{name}={span.start}:{span.end}" if span else f"{name}=-")
    return " ".join(parts)


def _short(text: str, n: int = 30) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"
