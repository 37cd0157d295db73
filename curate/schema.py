"""The label schema: label names come from the Label Studio config, the one source of truth.

``curate/label_config/mapping.toml`` declares which controls and labels of the config carry
entities, quote content, speaker and cue, and how extractor labels map onto config labels.

Before anything goes to Label Studio, :func:`validate_config` checks the config offline
(the SDK's ``LabelInterface`` plus curate's own needs: controls, relations, quote kinds,
hotkeys) and :func:`check_labels` / :func:`check_documents` check that every label the
extractors emitted exists in it.
"""

from __future__ import annotations

import tomllib
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from curate.errors import ConfigError
from curate.model import QUOTE_KINDS

if TYPE_CHECKING:
    from curate.model import Document

DEFAULT_CONFIG_DIR = Path(__file__).resolve().parent / "label_config"


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
    fragment_relation: str = "continues"
    entity_map: dict[str, str] = field(default_factory=dict)

    def map_entity(self, label: str) -> str | None:
        """The config label for an extractor label, or None when the config has no such label."""
        mapped = self.entity_map.get(label, label)
        return mapped if mapped in self.entity_labels else None

    @property
    def quote_labels(self) -> tuple[str, str, str]:
        return (self.quote_label, self.speaker_label, self.cue_label)

    @property
    def relation_labels(self) -> tuple[str, str, str, str]:
        return (
            self.speaker_relation,
            self.cue_relation,
            self.entity_relation,
            self.fragment_relation,
        )

    @property
    def text_field(self) -> str:
        """The task data key the text control reads (``text`` for ``value="$text"``)."""
        el = _find_named(ET.fromstring(self.xml), self.text_control)
        value = el.get("value", "") if el is not None else ""
        return value[1:] if value.startswith("$") else self.text_control

    @property
    def data_fields(self) -> tuple[str, ...]:
        """Task data keys the config reads; Label Studio refuses tasks that lack one."""
        return _data_fields(ET.fromstring(self.xml))


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

    unknown = set(mapping) - _MAPPING_KEYS
    if unknown:
        raise ConfigError(
            f"{path}: unknown key(s) {', '.join(sorted(unknown))}; "
            f"a mapping has only {', '.join(sorted(_MAPPING_KEYS))}"
        )
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
        fragment_relation=rels.get("fragment", "continues"),
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


_MAPPING_KEYS = frozenset({"config", "controls", "quote_labels", "relations", "entity_labels"})

# Label Studio 1.23's own shortcuts while labelling text (its keymap); a label hotkey equal
# to one of them would do two things at once.
RESERVED_HOTKEYS = frozenset(
    {
        "u",
        "enter",
        "escape",
        "backspace",
        "delete",
        "ctrl+enter",
        "ctrl+space",
        "ctrl+z",
        "ctrl+shift+z",
        "ctrl+backspace",
        "ctrl+d",
        "ctrl+h",
        "alt+r",
        "alt+h",
        "alt+l",
        "alt+m",
        "alt+.",
        "shift+up",
        "shift+down",
        "shift+left",
        "shift+right",
        "shift+.",
    }
)


def validate_config(schema: LabelSchema) -> None:
    """Check the label config offline; raise one :class:`ConfigError` listing every problem.

    Runs the SDK's ``LabelInterface`` validation (the checks Label Studio makes when a
    project is created), then curate's own: the declared controls exist with the right
    tags and point at the text, the quote kinds and relations are there, the mapping only
    names labels the config has, and no two labels share a hotkey. Call it before pushing.
    """
    from label_studio_sdk.label_interface import LabelInterface

    problems: list[str] = []
    try:
        LabelInterface(schema.xml).validate()
    except Exception as e:  # the SDK raises several unrelated types for a bad config
        problems.append(f"Label Studio rejects it: {_one_line(e)}")
    root = ET.fromstring(schema.xml)

    text = _find_named(root, schema.text_control)
    if text is None or text.tag != "Text":
        problems.append(f"[controls] text = {schema.text_control!r} must name a <Text> tag")
    elif not text.get("value", "").startswith("$"):
        problems.append(f"<Text name={schema.text_control!r}> must read a task field ($text)")

    for role, name, tag in (
        ("entity", schema.entity_control, "Labels"),
        ("quote", schema.quote_control, "Labels"),
        ("kind", schema.kind_control, "Choices"),
    ):
        el = _find_named(root, name)
        if el is None or el.tag != tag:
            problems.append(f"[controls] {role} = {name!r} must name a <{tag}> tag")
        elif schema.text_control not in el.get("toName", "").split(","):
            problems.append(f"<{tag} name={name!r}> must have toName={schema.text_control!r}")
    if schema.entity_control == schema.quote_control:
        problems.append("entities and quote parts need two different <Labels> controls")
    if not schema.entity_labels:
        problems.append(f"<Labels name={schema.entity_control!r}> has no labels")

    kind = _find_named(root, schema.kind_control)
    if kind is not None and kind.tag == "Choices":
        if kind.get("perRegion", "").lower() != "true":
            problems.append(f'<Choices name={schema.kind_control!r}> needs perRegion="true"')
        choices = {c.get("value") for c in kind.iter("Choice")}
        missing_kinds = [k for k in QUOTE_KINDS if k not in choices]
        if missing_kinds:
            problems.append(
                f"<Choices name={schema.kind_control!r}> lacks the quote kinds "
                f"{', '.join(missing_kinds)}"
            )

    relations = {r.get("value") for r in root.iter("Relation")}
    missing_rel = [r for r in schema.relation_labels if r not in relations]
    if missing_rel:
        problems.append(
            f"<Relations> lacks <Relation value=...> for {', '.join(missing_rel)}; "
            "add them or fix [relations] in the mapping"
        )

    bad_map = sorted(
        f"{src} -> {dst}"
        for src, dst in schema.entity_map.items()
        if dst not in schema.entity_labels
    )
    if bad_map:
        problems.append(
            f"[entity_labels] maps {', '.join(bad_map)} but <Labels name="
            f"{schema.entity_control!r}> has no such label"
        )

    problems.extend(_hotkey_problems(root))
    if problems:
        raise ConfigError(f"{schema.config_path}: " + "; ".join(problems))


def check_labels(schema: LabelSchema, emitted: Iterable[str] | Mapping[str, int]) -> None:
    """Raise :class:`ConfigError` naming every emitted entity label the config lacks.

    ``emitted`` holds the labels of the entity spans about to be pushed (an iterable, or
    a label -> count mapping such as :func:`emitted_labels` returns). They must be config
    labels already: extractors map spaCy labels through ``[entity_labels]``.
    """
    counts = Counter(emitted)  # counts a list, copies a mapping
    missing = sorted(label for label in counts if label not in schema.entity_labels)
    if not missing:
        return
    named = ", ".join(
        f"{label} ({counts[label]} span{'s' * (counts[label] != 1)})" for label in missing
    )
    hint = "add them to the config or map them in [entity_labels] of the mapping"
    mapped = [label for label in missing if schema.map_entity(label)]
    if mapped:
        hint += (
            f"; {', '.join(mapped)} would be mapped by this mapping, so re-run preannotate "
            "with the same --config"
        )
    raise ConfigError(
        f"{schema.config_path}: <Labels name={schema.entity_control!r}> has no label "
        f"{named}; {hint}"
    )


def emitted_labels(docs: Iterable[Document]) -> Counter[str]:
    """Entity label -> number of spans over ``docs``."""
    return Counter(e.label for doc in docs for e in doc.entities)


def check_documents(schema: LabelSchema, docs: Iterable[Document]) -> Counter[str]:
    """:func:`check_labels` on the documents' entity labels; returns their counts."""
    counts = emitted_labels(docs)
    check_labels(schema, counts)
    return counts


def check_results(
    schema: LabelSchema, results: Sequence[Mapping[str, Any]], where: str = "task"
) -> None:
    """Check one Label Studio result list against the config with the SDK, offline.

    Catches what Label Studio would otherwise store silently and then fail to show:
    unknown labels or controls, malformed values, relations to missing regions.
    """
    from label_studio_sdk.label_interface import LabelInterface

    errors = LabelInterface(schema.xml).validate_prediction(
        {"result": list(results)}, return_errors=True
    )
    flat = [str(m) for e in errors or () for m in (e if isinstance(e, list) else [e])]
    if flat:
        raise ConfigError(
            f"{where}: results do not fit {schema.config_path.name}: " + "; ".join(flat)
        )


def _find_named(root: ET.Element, name: str) -> ET.Element | None:
    return next((el for el in root.iter() if el.get("name") == name), None)


def _data_fields(root: ET.Element) -> tuple[str, ...]:
    # What Label Studio's extract_data_types requires: named tags reading "$field".
    fields: list[str] = []
    for el in root.iter():
        value = el.get("value", "")
        if el.get("name") and value.startswith("$") and value[1:] not in fields:
            fields.append(value[1:])
    return tuple(fields)


def _hotkey_problems(root: ET.Element) -> list[str]:
    owners: dict[str, list[str]] = {}
    for parent in root.iter():
        for child in parent:
            key = child.get("hotkey")
            if key:
                owner = f"{parent.get('name', parent.tag)}/{child.get('value', child.tag)}"
                owners.setdefault(key.strip().lower(), []).append(owner)
    problems = [
        f"hotkey {key!r} is used by {' and '.join(who)}"
        for key, who in sorted(owners.items())
        if len(who) > 1
    ]
    problems += [
        f"hotkey {key!r} of {who[0]} is a Label Studio shortcut"
        for key, who in sorted(owners.items())
        if key in RESERVED_HOTKEYS
    ]
    return problems


def _one_line(e: BaseException) -> str:
    return " ".join(str(e).split()) or type(e).__name__
