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

from curate.model import Document, Entity, Quote

POLICY = (
    "ground truth wins; a single annotation is taken; identical annotations are merged; "
    "any disagreement is a conflict to adjudicate in Label Studio (not in gold)"
)

#: How a task's gold was chosen (``Annotation.selection``) or why it has none.
GROUND_TRUTH = "ground_truth"
SINGLE = "single"
MERGED = "merged"
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

    def to_dict(self) -> dict[str, Any]:
        return {
            "task_id": self.task_id,
            "curate_id": self.curate_id,
            "url": self.url,
            "reason": self.reason,
            "annotations": [dict(a) for a in self.annotations],
            "differences": list(self.differences),
        }


@dataclass
class Selection:
    """The outcome for one task: a gold Document, or a Conflict, or neither."""

    rule: str
    gold: Document | None = None
    conflict: Conflict | None = None
    used: tuple[Candidate, ...] = field(default_factory=tuple)


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
) -> Selection:
    """Apply the policy above to one task's annotations."""
    if not candidates:
        return Selection(UNANNOTATED)
    truth = [c for c in candidates if c.ground_truth]
    pool, rule = (truth, GROUND_TRUTH) if truth else (list(candidates), None)
    if len(pool) == 1:
        return Selection(rule or SINGLE, gold=pool[0].document, used=(pool[0],))
    if len({content_key(c.document) for c in pool}) == 1:
        return Selection(rule or MERGED, gold=pool[0].document, used=tuple(pool))
    reason = "ground-truth annotations disagree" if truth else "annotations disagree"
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
        differences=tuple(differences(pool)),
        reason=reason,
    )
    return Selection(CONFLICT, conflict=conflict, used=tuple(pool))


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
    for name in ("speaker", "cue", "speaker_entity"):
        span = getattr(q, name)
        parts.append(f"{name}={span.start}:{span.end}" if span else f"{name}=-")
    return " ".join(parts)


def _short(text: str, n: int = 30) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"
