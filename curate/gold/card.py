"""The dataset card (``README.md``): the Hub's YAML header plus what a user must know."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
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


def label_counts(docs_by_split: Mapping[str, list[Document]]) -> dict[str, dict[str, int]]:
    """``{row: {split: n}}`` for articles, entity labels, quote kinds and quote parts."""
    table: dict[str, Counter[str]] = {}

    def add(row: str, split: str, n: int = 1) -> None:
        table.setdefault(row, Counter())[split] += n

    for split, docs in docs_by_split.items():
        add("articles", split, len(docs))
        for d in docs:
            for e in d.entities:
                add(f"entity {e.label}", split)
            for q in d.quotes:
                add(f"quote {q.kind}", split)
                add("quote parts: speaker", split, q.speaker is not None)
                add("quote parts: cue", split, q.cue is not None)
                add("quote parts: named speaker", split, q.speaker_entity is not None)
                add("quote parts: discontinuous content", split, q.discontinuous)
    return {row: dict(c) for row, c in table.items()}


def render_card(
    manifest: Mapping[str, Any],
    docs_by_split: Mapping[str, list[Document]],
    features: datasets.Features,
    changelog: str,
) -> str:
    """The whole README.md of a version, from its manifest and documents.

    A :class:`huggingface_hub.DatasetCard`: the YAML header from :func:`card_data`, the
    text from the package template ``templates/card.md.j2``.
    """
    name, version = manifest["name"], manifest["version"]
    meta = manifest.get("meta") or {}
    exports = manifest.get("exports") or {}
    left_out = ", ".join(
        f"{k}: {v}" for k, v in (exports.get("alignment") or {}).get("left_out", {}).items()
    )
    text = _TEMPLATES.get_template("card.md.j2").render(
        name=name,
        version=version,
        manifest=manifest,
        meta=meta,
        schema=manifest["label_schema"],
        splits=list(docs_by_split),
        counts=label_counts(docs_by_split),
        agreement=_flatten(manifest["agreement"]) if manifest.get("agreement") else None,
        provenance=manifest.get("provenance") or {},
        identities=manifest.get("identities") or {},
        exports=exports,
        left_out=left_out,
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
