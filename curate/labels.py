"""The label schema: label names come from the Label Studio config, the one source of truth.

``label_config/mapping.toml`` declares which controls and labels of the config carry
entities, quote content, speaker and cue, and how extractor labels map onto config labels.
"""

from __future__ import annotations

import tomllib
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from curate.errors import ConfigError

DEFAULT_CONFIG_DIR = Path(__file__).resolve().parent.parent / "label_config"


@dataclass(frozen=True)
class LabelSchema:
    """Names read from a label config plus the declared mapping."""

    config_path: Path
    xml: str
    text_control: str = "text"
    entity_control: str = "entity"
    quote_control: str = "quote"
    kind_control: str = "kind"
    entity_labels: tuple[str, ...] = ()
    quote_label: str = "QUOTE"
    speaker_label: str = "SPEAKER"
    cue_label: str = "CUE"
    speaker_relation: str = "speaker"
    cue_relation: str = "cue"
    entity_relation: str = "refers_to"
    entity_map: dict[str, str] = field(default_factory=dict)

    def map_entity(self, label: str) -> str | None:
        """The config label for an extractor label, or None when the config has no such label."""
        mapped = self.entity_map.get(label, label)
        return mapped if mapped in self.entity_labels else None

    @property
    def quote_labels(self) -> tuple[str, str, str]:
        return (self.quote_label, self.speaker_label, self.cue_label)


def load_schema(path: str | Path | None = None) -> LabelSchema:
    """Load a mapping file (``mapping.toml``) or a config ``.xml`` with the default mapping."""
    path = Path(path) if path else DEFAULT_CONFIG_DIR / "mapping.toml"
    if path.is_dir():
        path = path / "mapping.toml"
    if not path.exists():
        raise ConfigError(f"{path}: label config not found; pass a mapping.toml or a config .xml")
    if path.suffix == ".xml":
        mapping: dict = {}
        config_path = path
    else:
        try:
            mapping = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"{path}: invalid TOML ({e})") from e
        config_path = path.parent / mapping.get("config", "news_quotes.xml")
    try:
        xml = config_path.read_text(encoding="utf-8")
        root = ET.fromstring(xml)
    except OSError as e:
        raise ConfigError(f"{config_path}: cannot read label config ({e.strerror})") from e
    except ET.ParseError as e:
        raise ConfigError(f"{config_path}: label config is not valid XML ({e})") from e

    controls = mapping.get("controls", {})
    qlabels = mapping.get("quote_labels", {})
    rels = mapping.get("relations", {})
    entity_control = controls.get("entity", "entity")
    schema = LabelSchema(
        config_path=config_path,
        xml=xml,
        text_control=controls.get("text", "text"),
        entity_control=entity_control,
        quote_control=controls.get("quote", "quote"),
        kind_control=controls.get("kind", "kind"),
        entity_labels=_labels_of(root, entity_control, config_path),
        quote_label=qlabels.get("content", "QUOTE"),
        speaker_label=qlabels.get("speaker", "SPEAKER"),
        cue_label=qlabels.get("cue", "CUE"),
        speaker_relation=rels.get("speaker", "speaker"),
        cue_relation=rels.get("cue", "cue"),
        entity_relation=rels.get("entity", "refers_to"),
        entity_map=dict(mapping.get("entity_labels", {})),
    )
    missing = set(schema.quote_labels) - set(_labels_of(root, schema.quote_control, config_path))
    if missing:
        raise ConfigError(
            f"{config_path}: control {schema.quote_control!r} lacks the labels "
            f"{', '.join(sorted(missing))}; add them or fix [quote_labels] in the mapping"
        )
    return schema


def _labels_of(root: ET.Element, control: str, where: Path) -> tuple[str, ...]:
    for el in root.iter():
        if el.get("name") == control:
            return tuple(lab.get("value", "") for lab in el if lab.tag == "Label")
    raise ConfigError(f"{where}: no control named {control!r}; fix [controls] in the mapping")
