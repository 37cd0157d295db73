"""Push's label check: every label the predictions use must exist in the project's config.

The project may have been created with another config than the one curate loads (an
older mapping, a config edited in Label Studio), so the check reads the config the
tasks will live under, before any write.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable
from typing import Any

from curate.errors import ConfigError


def check_labels(config_xml: str, tasks: Iterable[dict[str, Any]], title: str) -> None:
    """ConfigError naming every label the predictions use that the project's config lacks."""
    allowed = config_labels(config_xml)
    missing: dict[tuple[str, str], list[str]] = {}
    for task in tasks:
        for pred in task.get("predictions", ()):
            for r in pred["result"]:
                if r.get("type") == "relation":
                    pairs = [("relations", lab) for lab in r.get("labels") or ()]
                else:
                    control = str(r.get("from_name"))
                    v = r.get("value") or {}
                    values = v.get("labels") or v.get("choices") or ()
                    pairs = [(control, lab) for lab in values]
                for control, lab in pairs:
                    if lab not in allowed.get(control, ()):
                        missing.setdefault((control, lab), []).append(task["data"]["curate_id"])
    if missing:
        parts = []
        for (control, lab), ids in sorted(missing.items()):
            shown = ", ".join(sorted(set(ids))[:3]) + (" ..." if len(set(ids)) > 3 else "")
            parts.append(f"{control}:{lab} (in {len(set(ids))} articles: {shown})")
        raise ConfigError(
            f"the label config of project {title!r} lacks labels the predictions use: "
            + "; ".join(parts)
            + ". Add them to the config or map them in curate/label_config/mapping.toml; "
            "nothing was pushed"
        )


def config_labels(config_xml: str) -> dict[str, set[str]]:
    """``{control name: {label values}}`` of a config, plus ``"relations"``."""
    try:
        root = ET.fromstring(config_xml)
    except ET.ParseError as e:
        raise ConfigError(f"the project's label config is not valid XML ({e})") from None
    out: dict[str, set[str]] = {"relations": set()}
    for el in root.iter():
        name = el.get("name")
        if name and el.tag in ("Labels", "Choices", "HyperTextLabels", "ParagraphLabels"):
            out[name] = {c.get("value", "") for c in el if c.tag in ("Label", "Choice")}
        if el.tag == "Relation":
            out["relations"].add(el.get("value", ""))
    return out
