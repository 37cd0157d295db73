"""The label schema: label names come from the Label Studio config, the one source of truth.

``curate/label_config/mapping.toml`` declares which controls and labels of the config carry
entities, quote content, speaker and cue, and how extractor labels map onto config labels.

:func:`load_schema` reads and parses the config once into a :class:`LabelSchema`; its
``interface`` is the SDK's ``LabelInterface`` of the same XML. Before anything goes to
Label Studio, :func:`validate_config` checks the config offline (``LabelInterface`` plus
curate's own needs: controls, relations, quote kinds, hotkeys) and
:meth:`LabelSchema.check_tasks` (the one label check) that every label the predictions
use exists in the config the tasks will live under.
"""

from __future__ import annotations

import tomllib
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from curate.errors import ConfigError
from curate.model import QUOTE_KINDS

if TYPE_CHECKING:
    from label_studio_sdk.label_interface import LabelInterface

    from curate.model import Entity

DEFAULT_CONFIG_DIR = Path(__file__).resolve().parent / "label_config"


@dataclass(frozen=True)
class LabelSchema:
    """Names read from a label config plus the declared mapping; the XML parsed once.

    ``root`` is the parsed config (for what the SDK does not expose: relations, hotkeys);
    ``interface`` the SDK's ``LabelInterface``, built on first use.
    """

    config_path: Path
    xml: str
    root: ET.Element = field(compare=False, repr=False)
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
        el = _find_named(self.root, self.text_control)
        value = el.get("value", "") if el is not None else ""
        return value[1:] if value.startswith("$") else self.text_control

    @property
    def data_fields(self) -> tuple[str, ...]:
        """Task data keys the config reads; Label Studio refuses tasks that lack one."""
        return _data_fields(self.root)

    @cached_property
    def interface(self) -> LabelInterface:
        """The SDK's ``LabelInterface`` of this config (parsed on first use, then kept)."""
        from label_studio_sdk.label_interface import LabelInterface

        return LabelInterface(self.xml)

    @cached_property
    def labels(self) -> dict[str, frozenset[str]]:
        """``{control name: label values}`` of this config, plus ``"relations"``."""
        return config_labels(self.xml, self.interface, self.root)

    def unknown_entity_labels(self, entities: Iterable[Entity]) -> list[str]:
        """The labels of ``entities`` this config lacks, sorted; empty when all are known."""
        return sorted({e.label for e in entities} - set(self.entity_labels))

    def check_tasks(
        self, tasks: Iterable[Mapping[str, Any]], where: str, config: str | None = None
    ) -> None:
        """The label check: ConfigError naming every label the tasks' predictions use that
        the config lacks, with the articles using it.

        ``config`` is the XML the tasks will live under (an existing project's), by default
        this schema's. Entity labels are config labels already: extractors map spaCy's
        through ``[entity_labels]``; a missing one this mapping would map means the
        predictions were made with another mapping.
        """
        allowed = self.labels if config is None else config_labels(config)
        missing: dict[tuple[str, str], set[str]] = {}
        for task in tasks:
            for pred in task.get("predictions", ()):
                for r in pred["result"]:
                    if r.get("type") == "relation":
                        pairs = [("relations", lab) for lab in r.get("labels") or ()]
                    else:
                        v = r.get("value") or {}
                        values = v.get("labels") or v.get("choices") or ()
                        pairs = [(str(r.get("from_name")), lab) for lab in values]
                    for control, lab in pairs:
                        if lab not in allowed.get(control, ()):
                            missing.setdefault((control, lab), set()).add(
                                str(task["data"]["curate_id"])
                            )
        if not missing:
            return
        parts = []
        for (control, lab), ids in sorted(missing.items()):
            shown = ", ".join(sorted(ids)[:3]) + (" ..." if len(ids) > 3 else "")
            parts.append(f"{control}:{lab} (in {len(ids)} articles: {shown})")
        hint = "Add them to the config or map them in [entity_labels] of the mapping"
        mapped = sorted(
            {lab for (_, lab) in missing if lab not in self.entity_labels and self.map_entity(lab)}
        )
        if mapped:
            hint += (
                f"; {', '.join(mapped)} would be mapped by this mapping, so re-run "
                "preannotate with the same --config"
            )
        raise ConfigError(
            f"the label config of {where} lacks labels the predictions use: "
            + "; ".join(parts)
            + f". {hint}; nothing was pushed"
        )


def config_labels(
    xml: str, interface: LabelInterface | None = None, root: ET.Element | None = None
) -> dict[str, frozenset[str]]:
    """``{control name: label values}`` of a config (SDK ``LabelInterface``), plus
    ``"relations"`` (the ``<Relation>`` values, which the SDK does not list)."""
    from label_studio_sdk.label_interface import LabelInterface

    try:
        root = ET.fromstring(xml) if root is None else root
        interface = LabelInterface(xml) if interface is None else interface
    except ET.ParseError as e:
        raise ConfigError(f"the label config is not valid XML ({e})") from None
    except Exception as e:  # the SDK raises several unrelated types for a bad config
        raise ConfigError(f"the label config cannot be read: {_one_line(e)}") from None
    out = {c.name: frozenset(getattr(c, "labels", None) or ()) for c in interface.controls}
    out["relations"] = frozenset(r.get("value", "") for r in root.iter("Relation"))
    return out


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
        root=root,
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
    problems: list[str] = []
    try:
        schema.interface.validate()
    except Exception as e:  # the SDK raises several unrelated types for a bad config
        problems.append(f"Label Studio rejects it: {_one_line(e)}")
    root = schema.root

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
