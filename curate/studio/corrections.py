"""The correction report: how much people changed the pre-annotations.

For every submitted annotation we diff its regions against the prediction it started
from (``annotation.prediction`` in the export, else the task's latest prediction) and
count, per model version and per label:

* ``kept``: the region is in the annotation unchanged (same span, label and, for a
  quote, kind);
* ``changed``: a predicted region whose span, label or kind the annotator edited (matched
  by region id, which Label Studio keeps when a prediction is edited, else by overlap
  on the same control); counted under the label the model predicted;
* ``deleted``: a predicted region with no counterpart in the annotation;
* ``added``: an annotation region with no counterpart in the prediction.

Relations (``relation:speaker``, ``relation:cue``, ``relation:refers_to``) are counted
the same way by the spans they join. Separately, ``origins`` counts what Label Studio
itself recorded in each result's ``origin`` field (``prediction``,
``prediction-changed``, ``manual``; ``none`` when absent, as for API-made results).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from curate.schema import LabelSchema

OUTCOMES = ("kept", "changed", "deleted", "added")
NO_MODEL = "(no prediction)"


@dataclass(frozen=True)
class _Item:
    id: str
    control: str
    label: str
    start: int
    end: int
    kind: str | None
    origin: str


@dataclass
class CorrectionReport:
    """Counts per model version and label, plus the ``origin`` fields seen per label."""

    by_model: dict[str, dict[str, Counter[str]]] = field(default_factory=dict)
    origins: dict[str, Counter[str]] = field(default_factory=dict)
    annotations: int = 0
    _predictions: dict[Any, tuple[list[_Item], set[Any]]] = field(
        default_factory=dict, repr=False, compare=False
    )

    def add(
        self,
        annotation_result: Sequence[Mapping[str, Any]],
        prediction_result: Sequence[Mapping[str, Any]] | None,
        model_version: str | None,
        schema: LabelSchema,
        prediction_key: Any = None,
    ) -> None:
        """Diff one annotation against the prediction it started from.

        ``prediction_key`` (e.g. the prediction id) lets annotations of one prediction
        share its parsed regions.
        """
        self.annotations += 1
        model = model_version or NO_MODEL
        table = self.by_model.setdefault(model, {})

        def count(label: str, outcome: str) -> None:
            table.setdefault(label, Counter())[outcome] += 1

        ann = _items(annotation_result, schema)
        cached = self._predictions.get(prediction_key) if prediction_key is not None else None
        if cached is None:
            pred_items = _items(prediction_result or (), schema)
            cached = (pred_items, _relations(prediction_result or (), pred_items))
            if prediction_key is not None:
                self._predictions[prediction_key] = cached
        pred, pred_rel = cached
        for it in ann:
            self.origins.setdefault(it.label, Counter())[it.origin] += 1
        for outcome, label in _diff(ann, pred):
            count(label, outcome)
        ann_rel = _relations(annotation_result, ann)
        for rel in ann_rel | pred_rel:
            label = f"relation:{rel[0]}"
            if rel in ann_rel and rel in pred_rel:
                count(label, "kept")
            elif rel in ann_rel:
                count(label, "added")
            else:
                count(label, "deleted")

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
            "origins": {label: dict(c) for label, c in sorted(self.origins.items())},
        }


def _items(results: Sequence[Mapping[str, Any]], schema: LabelSchema) -> list[_Item]:
    kinds = {
        str(r.get("id")): str((r.get("value") or {}).get("choices", [None])[0])
        for r in results
        if r.get("type") == "choices" and r.get("from_name") == schema.kind_control
    }
    items = []
    for r in results:
        control = r.get("from_name")
        if r.get("type") != "labels" or control not in (
            schema.entity_control,
            schema.quote_control,
        ):
            continue
        v = r.get("value") or {}
        start, end = v.get("start"), v.get("end")
        if not isinstance(start, int) or not isinstance(end, int):
            continue
        rid = str(r.get("id"))
        for label in v.get("labels") or ():
            kind = kinds.get(rid) if label == schema.quote_label else None
            items.append(
                _Item(rid, str(control), str(label), start, end, kind, str(r.get("origin", "none")))
            )
    return items


def _same(a: _Item, b: _Item) -> bool:
    return (a.control, a.label, a.start, a.end, a.kind) == (
        b.control,
        b.label,
        b.start,
        b.end,
        b.kind,
    )


def _diff(ann: list[_Item], pred: list[_Item]) -> list[tuple[str, str]]:
    """(outcome, label) per region; changed/deleted/kept use the predicted label."""
    out: list[tuple[str, str]] = []
    free = list(pred)

    def take(p: _Item, a: _Item) -> None:
        free.remove(p)
        out.append(("kept" if _same(a, p) else "changed", p.label))

    rest = []
    for a in ann:  # 1. Label Studio keeps a prediction's region id when it is edited.
        same_id = [p for p in free if p.id == a.id and p.control == a.control]
        if same_id:
            take(next((p for p in same_id if p.label == a.label), same_id[0]), a)
        else:
            rest.append(a)
    unmatched = []
    for a in rest:  # 2. The same region under another id (made through the API).
        exact = [
            p
            for p in free
            if (p.control, p.label, p.start, p.end) == (a.control, a.label, a.start, a.end)
        ]
        if exact:
            take(exact[0], a)
        else:
            unmatched.append(a)
    for a in unmatched:  # 3. A moved boundary or a new label on the same stretch of text.
        near = [
            p for p in free if p.control == a.control and min(p.end, a.end) > max(p.start, a.start)
        ]
        if near:
            take(max(near, key=lambda p: min(p.end, a.end) - max(p.start, a.start)), a)
        else:
            out.append(("added", a.label))
    out.extend(("deleted", p.label) for p in free)
    return out


def _relations(
    results: Sequence[Mapping[str, Any]], items: list[_Item]
) -> set[tuple[str, tuple[Any, ...], tuple[Any, ...]]]:
    spans: dict[str, tuple[Any, ...]] = {}
    for it in items:
        spans.setdefault(it.id, (it.control, it.label, it.start, it.end))
    rels = set()
    for r in results:
        if r.get("type") != "relation":
            continue
        a, b = spans.get(str(r.get("from_id"))), spans.get(str(r.get("to_id")))
        if a is None or b is None:
            continue
        for label in r.get("labels") or ("",):
            rels.add((str(label), a, b))
    return rels
