"""The dataset card (``README.md``): the Hub's YAML header plus what a user must know."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

import datasets
from datasets.info import DatasetInfosDict
from huggingface_hub import DatasetCardData

from curate.model import Document


def data_files(splits: list[str]) -> list[dict[str, str]]:
    return [{"split": s, "path": f"data/{s}-*.parquet"} for s in splits]


def yaml_header(
    name: str,
    version: str,
    features: datasets.Features,
    counts: Mapping[str, int],
    meta: Mapping[str, Any],
) -> str:
    """The YAML front matter read by the Hub and ``load_dataset``: configs, features, splits."""
    card_data = DatasetCardData(
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
    DatasetInfosDict({"default": info}).to_dataset_card_data(card_data)
    return card_data.to_yaml()


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
    """The whole README.md of a version, from its manifest and documents."""
    name, version = manifest["name"], manifest["version"]
    splits = list(docs_by_split)
    meta = manifest.get("meta") or {}
    schema = manifest["label_schema"]
    lines = [
        "---",
        yaml_header(name, version, features, manifest["splits"]["counts"], meta).rstrip(),
        "---",
        "",
    ]
    lines += [
        f"# {name} {version}",
        "",
        meta.get("description")
        or "Gold annotations of news articles: named entities, and quotes with their "
        "speaker and cue, made by people in Label Studio and released with curate.",
        "",
        "## Load it",
        "",
        "```python",
        "import datasets",
        f'ds = datasets.load_dataset("path/to/{name}/{version}")  # this folder',
        'names = ds["' + splits[0] + '"].features["entities"].feature["label"].names',
        "",
        "import curate.gold",
        f'ds = curate.gold.load("{name}", version="{version}")          # same features',
        f'docs = curate.gold.load_documents("{name}", version="{version}")  # curate Documents',
        "```",
        "",
        "## Version",
        "",
        f"- version: `{version}`"
        + (
            f" ({manifest['bump']} bump from `{manifest['previous']}`)"
            if manifest.get("previous")
            else " (first version)"
        ),
        f"- created: {manifest['created']}",
        f"- curate version: {manifest['curate_version']}",
        f"- source project: {meta.get('project') or 'not recorded'}",
        f"- source snapshot: {meta.get('snapshot') or 'not recorded'}",
        f"- split rule: {manifest['splits']['rule']}",
        "- integrity: `manifest.json` lists a sha256 per file; check with `curate verify`",
        "",
        "## Label schema",
        "",
        f"From the Label Studio config `{schema['config']}`. `entities.label` is a ClassLabel:",
        "",
        "| id | entity label |",
        "|---:|---|",
        *[f"| {i} | {lab} |" for i, lab in enumerate(schema["entity_labels"])],
        "",
        "`quotes.kind` is a ClassLabel: "
        + ", ".join(f"{i} = {k}" for i, k in enumerate(schema["quote_kinds"]))
        + ". Each quote carries its `speaker` (the mention), `cue` and `speaker_entity` "
        "(the named mention the speaker refers to) as character spans, or null. A quote's "
        "`start`/`end`/`text` are its covering span; its content is `fragments`, one span "
        "or more (a quote interrupted by its attribution has two; the text between them "
        "is not content).",
        "Offsets are Python code points into `text`, end exclusive.",
        "",
        "## Counts",
        "",
        "| | " + " | ".join(splits) + " | total |",
        "|---|" + "---:|" * (len(splits) + 1),
    ]
    for row, per in label_counts(docs_by_split).items():
        lines.append(
            f"| {row} | "
            + " | ".join(str(per.get(s, 0)) for s in splits)
            + f" | {sum(per.values())} |"
        )
    if manifest["splits"].get("empty"):
        lines += ["", "Empty splits (not written): " + ", ".join(manifest["splits"]["empty"])]
    lines += ["", "## Agreement", ""]
    agreement = manifest.get("agreement")
    if agreement:
        lines += ["| measure | value |", "|---|---|"]
        lines += [f"| {k} | {v} |" for k, v in _flatten(agreement).items()]
    else:
        lines.append("No agreement figures were given for this version.")
    prov = manifest.get("provenance") or {}
    lines += [
        "",
        "## Provenance",
        "",
        "Every row has `provenance`: Label Studio task and annotation ids, annotators, "
        "timestamps and the pre-annotation model version shown to the annotators; "
        "`source` holds the same as JSON.",
        "",
        f"- annotators: {prov.get('annotators', 0)}",
        "- pre-annotation model versions: "
        + (", ".join(prov.get("model_versions") or []) or "none recorded"),
        "",
        "## Training exports",
        "",
    ]
    exports = manifest.get("exports") or {}
    if "spacy" in exports:
        lines.append(
            "- `exports/spacy/<split>.spacy`: spaCy DocBin; entities as `doc.ents`, span groups "
            "`entities`, `quotes` (label = kind), `speakers`, `cues`, `speaker_entities`; "
            "a quote and its parts share `span.id_`."
        )
    if "conll" in exports:
        lines.append(
            "- `exports/conll/<split>.conll`: CoNLL-2003 style BIO for entities "
            "(`TOKEN _ _ TAG`, `-DOCSTART-` per article in the order of `exports/jsonl`)."
        )
    if "jsonl" in exports:
        lines.append(
            "- `exports/jsonl/<split>.jsonl`: one curate Document per line, "
            "the pre-annotation output format."
        )
    if "tokenizer" in exports:
        al = exports["alignment"]
        left = ", ".join(f"{k}: {v}" for k, v in al["left_out"].items()) or "none"
        lines += [
            f"- tokenizer: {exports['tokenizer']}",
            f"- entities as tokens: {al['entities_in_doc_ents']} of {al['entities']}; "
            f"left out (never widened): {left}; listed in `manifest.json`",
        ]
    if not exports:
        lines.append("None written for this version.")
    lines += ["", "## Changes", "", changelog.strip(), ""]
    return "\n".join(lines)


def _flatten(d: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, Mapping):
            out.update(_flatten(v, key + "."))
        else:
            out[key] = round(v, 4) if isinstance(v, float) else v
    return out
