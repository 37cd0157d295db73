"""The correction report: how much people changed the pre-annotations.

Every submitted annotation is diffed against the prediction it started from
(``annotation.prediction`` in the export, else the task's latest prediction). Both are
read by the one Label Studio reader (:func:`curate.studio.convert.parse_results`, so the
report counts exactly what the gold holds) and compared by the one annotation diff
(:func:`curate.changes.diff_article` with ``moved=True``). Counts per model version and
per label:

* ``kept``: the part is in the annotation unchanged (same span and label; for a quote the
  same content fragments and kind);
* ``changed``: a predicted part whose span, label or kind the annotator edited (an entity
  relabelled or whose boundary moved, a quote whose fragments or kind changed, a quote's
  speaker or cue moved to another mention); counted under the label the model predicted;
* ``deleted``: a predicted part with no counterpart in the annotation. A quote is one
  unit: when its content is deleted, its speaker, cue and other fragments go with it (pull
  drops whatever the labeler left of them) and count as deleted, never as kept;
* ``added``: a part the annotator added.

Rows: entity labels, the quote label (content and kind), the speaker and cue labels, and
``relation:<refers_to>`` for a quote's named speaker entity. ``quotes`` counts whole quotes
per model version (``deleted_with_parts``: deleted quotes that had a speaker or cue).
Separately, ``origins`` counts what Label Studio itself recorded in each region's
``origin`` field (``prediction``, ``prediction-changed``, ``manual``; ``none`` when
absent, as for API-made results).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from curate.changes import diff_article
from curate.model import Span
from curate.schema import LabelSchema
from curate.studio.convert import Parsed

OUTCOMES = ("kept", "changed", "deleted", "added")
NO_MODEL = "(no prediction)"


@dataclass
class CorrectionReport:
    """Counts per model version and label, whole quotes per model, origins per label."""

    by_model: dict[str, dict[str, Counter[str]]] = field(default_factory=dict)
    quotes: dict[str, Counter[str]] = field(default_factory=dict)
    origins: dict[str, Counter[str]] = field(default_factory=dict)
    annotations: int = 0

    def add(
        self,
        annotation: Parsed,
        prediction: Parsed | None,
        model_version: str | None,
        schema: LabelSchema,
    ) -> None:
        """Diff one parsed annotation against the parsed prediction it started from."""
        self.annotations += 1
        model = model_version or NO_MODEL
        table = self.by_model.setdefault(model, {})
        units = self.quotes.setdefault(model, Counter())

        def count(label: str, outcome: str) -> None:
            table.setdefault(label, Counter())[outcome] += 1

        for reg in annotation.regions:
            self.origins.setdefault(reg.label, Counter())[reg.origin] += 1
        pred = (
            prediction.document
            if prediction is not None
            else annotation.document.with_(entities=(), quotes=())
        )
        ann = annotation.document
        ch = diff_article(pred, ann, moved=True)

        changed_entities = {id(a) for a, _ in (*ch.entities_relabelled, *ch.entities_moved)}
        gone = {id(e) for e in ch.entities_removed}
        for e in pred.entities:
            if id(e) in changed_entities:
                count(e.label, "changed")
            elif id(e) in gone:
                count(e.label, "deleted")
            else:
                count(e.label, "kept")
        for e in ch.entities_added:
            count(e.label, "added")

        parts = (
            ("speaker", schema.speaker_label),
            ("cue", schema.cue_label),
            ("speaker_entity", f"relation:{schema.entity_relation}"),
        )
        changed_quotes = {id(a): (b, fields) for a, b, fields in ch.quotes_changed}
        removed = {id(q) for q in ch.quotes_removed}
        for q in pred.quotes:
            if id(q) in removed:
                units["deleted"] += 1
                count(schema.quote_label, "deleted")
                present = [label for name, label in parts if getattr(q, name) is not None]
                units["deleted_with_parts"] += bool(present)
                for label in present:
                    count(label, "deleted")
                continue
            b, fields = changed_quotes.get(id(q), (q, ()))
            whole = {"content", "fragments", "kind"} & set(fields)
            units["changed" if fields else "kept"] += 1
            count(schema.quote_label, "changed" if whole else "kept")
            for name, label in parts:
                outcome = _part_outcome(getattr(q, name), getattr(b, name))
                if outcome is not None:
                    count(label, outcome)
        for q in ch.quotes_added:
            units["added"] += 1
            count(schema.quote_label, "added")
            for name, label in parts:
                if getattr(q, name) is not None:
                    count(label, "added")

    def rows(self) -> list[dict[str, Any]]:
        """One row per model version and label, sorted, with all four outcomes."""
        out = []
        for model in sorted(self.by_model):
            for label in sorted(self.by_model[model]):
                c = self.by_model[model][label]
                out.append({"model_version": model, "label": label, **{k: c[k] for k in OUTCOMES}})
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "annotations": self.annotations,
            "rows": self.rows(),
            "quotes": {model: dict(c) for model, c in sorted(self.quotes.items())},
            "origins": {label: dict(c) for label, c in sorted(self.origins.items())},
        }


def _part_outcome(pred: Span | None, ann: Span | None) -> str | None:
    if pred is None:
        return None if ann is None else "added"
    if ann is None:
        return "deleted"
    return "kept" if pred == ann else "changed"
