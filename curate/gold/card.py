"""The dataset card (``README.md``): the Hub's YAML header plus what a user must know."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import datasets
import jinja2
from datasets.info import DatasetInfosDict
from huggingface_hub import DatasetCard, DatasetCardData

from curate.model import Document


def data_files(splits: list[str]) -> list[dict[str, str]]:
    return [{"split": s, "path": f"data/{s}-*.parquet"} for s in splits]


def card_data(
    name: str,
    version: str,
    features: datasets.Features,
    counts: Mapping[str, int],
    meta: Mapping[str, Any],
) -> DatasetCardData:
    """The YAML front matter read by the Hub and ``load_dataset``: configs, features, splits."""
    data = DatasetCardData(
        pretty_name=f"{name} {version}",
        language=["en"],
        license=meta.get("license"),
        task_categories=["token-classification"],
        tags=["curate", "named-entity-recognition", "quotation-attribution", "news"],
        configs=[{"config_name": "default", "data_files": data_files(list(counts))}],
    )
    info = datasets.DatasetInfo(features=features, version=version)
    info.splits = datasets.SplitDict()
    for split, n in counts.items():
        info.splits.add(datasets.SplitInfo(split, num_examples=n))
    DatasetInfosDict({"default": info}).to_dataset_card_data(data)
    return data


class LabelCounts:
    """Articles, entity labels, quote kinds and quote parts per split, counted as
    documents come (:meth:`add`); :meth:`table` gives ``{row: {split: n}}``."""

    def __init__(self) -> None:
        self._splits: dict[str, dict[str, int]] = {}

    def add(self, split: str, doc: Document) -> None:
        rows = self._splits.setdefault(split, {"articles": 0})
        rows["articles"] += 1

        def add(row: str, n: int = 1) -> None:
            rows[row] = rows.get(row, 0) + n

        for e in doc.entities:
            add(f"entity {e.label}")
        for q in doc.quotes:
            add(f"quote {q.kind}")
            add("quote parts: speaker", q.speaker is not None)
            add("quote parts: cue", q.cue is not None)
            add("quote parts: named speaker", q.speaker_entity is not None)
            add("quote parts: discontinuous content", q.discontinuous)

    def table(self, splits: Iterable[str]) -> dict[str, dict[str, int]]:
        """Rows in the order they first occur going through ``splits`` in that order."""
        out: dict[str, dict[str, int]] = {}
        for split in splits:
            for row, n in self._splits.get(split, {}).items():
                out.setdefault(row, {})[split] = n
        return out


def render_card(
    manifest: Mapping[str, Any],
    counts: Mapping[str, Mapping[str, int]],
    features: datasets.Features,
    changelog: str,
) -> str:
    """The whole README.md of a version, from its manifest and label counts.

    ``counts`` is :meth:`LabelCounts.table` (``{row: {split: n}}``); the splits are the
    manifest's, in its order.

    A :class:`huggingface_hub.DatasetCard`: the YAML header from :func:`card_data`, the
    text from the package template ``templates/card.md.j2``.
    """
    name, version = manifest["name"], manifest["version"]
    meta = manifest.get("meta") or {}
    exports = manifest.get("exports") or {}
    left_out = ", ".join(
        f"{k}: {v}" for k, v in (exports.get("alignment") or {}).get("left_out", {}).items()
    )
    alignment = exports.get("alignment") or {}
    listed_note = (
        f" (the first {len(alignment['problems'])}; every one is counted)"
        if alignment.get("problems_not_listed")
        else ""
    )
    text = _TEMPLATES.get_template("card.md.j2").render(
        name=name,
        version=version,
        manifest=manifest,
        meta=meta,
        schema=manifest["label_schema"],
        splits=list(manifest["splits"]["counts"]),
        counts=counts,
        agreement=_flatten(manifest["agreement"]) if manifest.get("agreement") else None,
        provenance=manifest.get("provenance") or {},
        identities=manifest.get("identities") or {},
        exports=exports,
        left_out=left_out,
        listed_note=listed_note,
        changelog=changelog.strip(),
    )
    data = card_data(name, version, features, manifest["splits"]["counts"], meta)
    card = DatasetCard(f"---\n{data.to_yaml()}\n---\n\n{text}")
    return str(card)


_TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("curate.gold", "templates"),
    autoescape=False,  # Markdown, not HTML
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
    undefined=jinja2.StrictUndefined,
)


def _flatten(d: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, Mapping):
            out.update(_flatten(v, key + "."))
        else:
            out[key] = round(v, 4) if isinstance(v, float) else v
    return out
