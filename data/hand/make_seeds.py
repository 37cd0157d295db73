"""The hand annotation of the two seed articles, written as phrases; offsets found by code.

Run ``python data/hand/make_seeds.py`` to rebuild ``data/hand/seeds.jsonl`` and print a
listing of every span for review. Each phrase must be found exactly where it is
expected (a unique match, or a unique match inside a unique context string), so an
edit to a seed text or a typo here fails loudly instead of shifting a span.
Guidelines: ``data/hand/README.md``.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from curate.io.jsonl import write_jsonl  # noqa: E402
from curate.model import Document, Entity, Quote, Span  # noqa: E402

A = "000_4467d989d7ade940"
B = "003_cc9b1eed084009b0"

# Entities: every word-bounded occurrence of each phrase gets the label, longest phrases
# first, skipping occurrences inside an already labelled span ("Sullivan" inside "Jake
# Sullivan"). The count is how many mentions a careful reading found; the build checks it.
ENTITIES: dict[str, list[tuple[str, str, int]]] = {
    A: [
        ("U.S. National Security Council", "ORG", 1),
        ("United Nations Security Council", "ORG", 1),
        ("New York Times", "ORG", 1),
        ("Vladimir Putin", "PERSON", 1),
        ("Dmitry Peskov", "PERSON", 1),
        ("Adriene Watson", "PERSON", 1),
        ("Sergei Shoigu", "PERSON", 1),
        ("Jake Sullivan", "PERSON", 1),
        ("Kim Jong Un", "PERSON", 1),
        ("Wagner Group", "ORG", 1),
        ("United States", "GPE", 1),
        ("North Korean", "NORP", 2),
        ("North Korea", "GPE", 7),
        ("Vladivostok", "GPE", 1),
        ("Ukrainians", "NORP", 1),
        ("Hwasong-18", "PRODUCT", 1),
        ("Washington", "GPE", 1),
        ("Pyongyang", "GPE", 4),
        ("Sullivan", "PERSON", 3),
        ("Izvestia", "ORG", 1),
        ("Kremlin", "ORG", 1),
        ("Russian", "NORP", 3),
        ("Ukraine", "GPE", 2),
        ("Pacific", "LOC", 1),
        ("Moscow", "GPE", 3),
        ("Russia", "GPE", 9),
        ("SEOUL", "GPE", 1),
        ("Times", "ORG", 1),
        ("Putin", "PERSON", 2),
        ("China", "GPE", 1),
        ("North", "GPE", 1),  # "the North" = North Korea
        ("West", "LOC", 1),
        ("U.S.", "GPE", 3),
        ("UPI", "ORG", 1),
        ("Kim", "PERSON", 3),
    ],
    B: [
        ("Democratic People’s Republic of Korea", "GPE", 1),
        ("National Security Council", "ORG", 1),
        ("Yonhap News Agency", "ORG", 1),
        ("Sergei Shoigu", "PERSON", 2),
        ("North Korean", "NORP", 1),
        ("North Korea", "GPE", 6),
        ("John Kirby", "PERSON", 1),
        ("Pyongyang", "GPE", 3),
        ("Russian", "NORP", 7),
        ("Ukraine", "GPE", 4),
        ("Russia", "GPE", 11),
        ("Shoigu", "PERSON", 1),
        ("Kirby", "PERSON", 2),
        ("DPRK", "GPE", 7),
        ("NSC", "ORG", 4),
    ],
}

# Quotes: (content, speaker, cue, speaker_entity, kind). Each part is a phrase, or a
# (phrase, context) pair where the context is unique in the article and holds the phrase
# once. None = no such part in the text.
P = str | tuple[str, str] | None
QUOTES: dict[str, list[tuple[P, P, P, P, str]]] = {
    A: [
        (
            "Negotiations for a weapons sale by North Korea to Russia are “actively advancing,”",
            "a top U.S. security official",
            ("according to", "according to a top"),
            ("Jake Sullivan", "adviser Jake Sullivan said"),
            "mixed",
        ),
        (
            "that Pyongyang would “pay a price” if a deal goes through",
            ("who", "official who warned"),
            "warned",
            ("Jake Sullivan", "adviser Jake Sullivan said"),
            "mixed",
        ),
        (
            "Lending military support to Moscow for its war against Ukraine “is not going to "
            "reflect well on North Korea, and they will pay a price for this in the "
            "international community,”",
            "national security adviser Jake Sullivan",
            ("said", "Jake Sullivan said"),
            ("Jake Sullivan", "adviser Jake Sullivan said"),
            "mixed",
        ),
        (
            "that the isolated regime is already under targeted sanctions aimed at disrupting "
            "any efforts to supply weapons to Russia",
            ("Sullivan", "Sullivan did not"),
            "noted",
            ("Sullivan", "Sullivan did not"),
            "indirect",
        ),
        (
            "that the economic sanctions imposed by the West on Russia have proven successful "
            "in shrinking Moscow’s capacity to produce munitions",
            ("He", "He added"),
            ("added", "He added"),
            ("Sullivan", "Sullivan did not"),
            "indirect",
        ),
        (
            "“We have continued to squeeze Russia’s defense industrial base, and they are now "
            "going about looking to whatever source they can find for things like artillery "
            "ammunition,”",
            ("Sullivan", "ammunition,” Sullivan said"),
            ("said", "ammunition,” Sullivan said"),
            ("Sullivan", "ammunition,” Sullivan said"),
            "direct",
        ),
        (
            "“I think it says a lot that Russia is having to turn to a country like North Korea "
            "to seek to bolster its defense capacity in a war that [it] had expected would be "
            "over in a week.”",
            ("Sullivan", "ammunition,” Sullivan said"),
            ("said", "ammunition,” Sullivan said"),
            ("Sullivan", "ammunition,” Sullivan said"),
            "direct",
        ),
        (
            "North Korea of supplying weapons to the Russian military and the private "
            "mercenary Wagner Group",
            "The United States",
            "accused",
            "United States",
            "indirect",
        ),
        (
            ("allegations", "allegations the North"),
            ("the North", "the North publicly"),
            "denied",
            ("North", "the North publicly"),
            "indirect",
        ),
        (
            "“We will continue to call on North Korea to abide by its public commitments not "
            "to supply weapons to Russia that will end up killing Ukrainians,”",
            ("Sullivan", "Ukrainians,” Sullivan said"),
            ("said", "Ukrainians,” Sullivan said"),
            ("Sullivan", "Ukrainians,” Sullivan said"),
            "direct",
        ),
        (
            "that North Korean leader Kim Jong Un may soon travel to Russia, where he "
            "anticipates “leader-level diplomatic engagement” with President Vladimir Putin "
            "to discuss an arms deal",
            "U.S. National Security Council spokeswoman Adriene Watson",
            ("said", "Watson said"),
            "Adriene Watson",
            "mixed",
        ),
        (
            "the possible trip",
            "The New York Times",
            ("reported", "first reported"),
            "New York Times",
            "indirect",
        ),
        (
            "Kim would likely travel by armored train from Pyongyang to the Pacific port city "
            "of Vladivostok for a meeting that could take place next week",
            "The New York Times",
            "saying",
            "New York Times",
            "indirect",
        ),
        (
            "Putin is seeking artillery shells and anti-tank missiles, while Kim wants advanced "
            "technology for satellites and nuclear submarines, as well as food aid",
            "The Times",
            ("reported", "Times reported"),
            ("Times", "The Times reported"),
            "indirect",
        ),
        (
            "that he could not confirm any details of a visit by the North Korean leader",
            "Kremlin spokesman Dmitry Peskov",
            "told",
            "Dmitry Peskov",
            "indirect",
        ),
        (
            "“We have nothing to tell you on this topic,”",
            ("he", "he said, according"),
            ("said", "he said, according"),
            "Dmitry Peskov",
            "direct",
        ),
        (
            "to deepen bilateral cooperation",
            "Putin and Kim",
            "vowing",
            None,  # two speakers: the model holds one entity span
            "indirect",
        ),
    ],
    B: [
        (
            "A group of Russian officials recently trip to North Korea, indicating a potential "
            "arms deal between the two countries",
            "a National Security Council (NSC) official",
            ("said", "official said Wednesday"),
            "John Kirby",
            "indirect",
        ),
        (
            "the trip may be followed by high-level discussions that could lead to the "
            "provision of North Korean weapons to Russia for use in its war against Ukraine",
            "John Kirby, NSC coordinator for strategic communications",
            ("said", "communications, said"),
            "John Kirby",
            "indirect",
        ),
        (
            "“We have new information, which we are able to share today, that arms "
            "negotiations between Russia and the DPRK are actively advancing,”",
            "the NSC spokesperson",
            ("told", "spokesperson told"),
            "John Kirby",
            "direct",
        ),
        (
            "“Following these negotiations, high level discussions may continue in coming "
            "months. Now, among these potential deals, Russia would receive significant "
            "quantities and multiple types of munitions from the DPRK, which the Russian "
            "military plans to use in Ukraine,”",
            ("he", "use in Ukraine,” he added"),
            ("added", "use in Ukraine,” he added"),
            "John Kirby",
            "direct",
        ),
        (
            "North Korea is said to have provided millions of infantry artillery shells and "
            "rockets to Russia late last year",
            None,
            "is said",
            None,
            "indirect",
        ),
        (
            "the accusation",
            ("North Korea", "North Korea has strongly"),
            "dismissed",
            ("North Korea", "North Korea has strongly"),
            "indirect",
        ),
        (
            "“The DPRK has said publicly that they will not sell (weapons) to Russia. But we "
            "remain concerned that the DPRK continues to consider providing military support "
            "to Russia’s military forces in Ukraine,”",
            ("Kirby", "Kirby told the press"),
            ("told", "Kirby told the press"),
            ("Kirby", "Kirby told the press"),
            "direct",
        ),
        (
            "“Russian Minister of Defense Sergei Shoigu recently traveled to the DPRK to try to "
            "convince Pyongyang to sell artillery ammunition to Russia,”",
            ("he", "Russia,” he added. “Our"),
            ("added", "Russia,” he added. “Our"),
            ("Kirby", "Kirby told the press"),
            "direct",
        ),
        (
            "“Our information further indicates that following Shoigu’s visit another group "
            "of Russian officials traveled to Pyongyang to follow up discussions about "
            "potential arms deals between the DPRK and Russia.”",
            ("he", "Russia,” he added. “Our"),
            ("added", "Russia,” he added. “Our"),
            ("Kirby", "Kirby told the press"),
            "direct",
        ),
        (
            "that North Korea may also seek to provide raw materials for Russia’s defense "
            "industrial base",
            "The NSC official",
            "noted",
            ("Kirby", "Kirby told the press"),
            "indirect",
        ),
        (
            # The article never closes this quote; the span ends where the quoted words do.
            "“These potential deals could also include the provision of raw materials that "
            "would assist Russia’s defense industrial base",
            ("Kirby", "said Kirby"),
            ("said", "said Kirby"),
            ("Kirby", "said Kirby"),
            "direct",
        ),
        (
            "that “export controls and sanctions are very much targeted at trying to eliminate "
            "Russia’s ability to have those kinds of raw materials and basic ingredients.”",
            ("Kirby", "said Kirby"),
            "noting",
            ("Kirby", "said Kirby"),
            "mixed",
        ),
        (
            "“We will continue to identify, expose and counter Russian attempts to acquire "
            "military equipment from the DPRK or frankly any other state that is prepared to "
            "support its war in Ukraine,”",
            ("he", "Ukraine,” he added.\nSource"),
            ("added", "Ukraine,” he added.\nSource"),
            ("Kirby", "said Kirby"),
            "direct",
        ),
    ],
}


def _unique(haystack: str, needle: str, offset: int, what: str) -> int:
    first = haystack.find(needle)
    if first < 0:
        raise SystemExit(f"{what}: {needle!r} not found")
    if haystack.find(needle, first + 1) >= 0:
        raise SystemExit(f"{what}: {needle!r} occurs more than once; give a context")
    return offset + first


def locate(text: str, part: P, what: str) -> Span | None:
    if part is None:
        return None
    if isinstance(part, tuple):
        needle, ctx = part
        c = _unique(text, ctx, 0, f"{what} context")
        start = _unique(ctx, needle, c, what)
    else:
        needle = part
        start = _unique(text, needle, 0, what)
    return Span.of(text, start, start + len(needle))


def entities_of(doc_id: str, text: str) -> list[Entity]:
    taken: list[tuple[int, int]] = []
    out: list[Entity] = []
    for phrase, label, expected in sorted(ENTITIES[doc_id], key=lambda x: -len(x[0])):
        pattern = r"(?<![\w.])" + re.escape(phrase) + r"(?!\w)"
        found = 0
        for m in re.finditer(pattern, text):
            if any(m.start() < e and s < m.end() for s, e in taken):
                continue
            taken.append((m.start(), m.end()))
            out.append(Entity.of(text, m.start(), m.end(), label))
            found += 1
        if found != expected:
            raise SystemExit(f"{doc_id}: {phrase!r} found {found} times, expected {expected}")
    return out


def build() -> list[Document]:
    docs = []
    for doc_id in (A, B):
        path = ROOT / "seeds" / f"{doc_id}.txt"
        text = path.read_text(encoding="utf-8")
        quotes = []
        for content, speaker, cue, entity, kind in QUOTES[doc_id]:
            c = locate(text, content, f"{doc_id} content")
            assert c is not None
            quotes.append(
                Quote(
                    c.start,
                    c.end,
                    c.text,
                    kind,
                    speaker=locate(text, speaker, f"{doc_id} speaker of {c.text[:30]!r}"),
                    cue=locate(text, cue, f"{doc_id} cue of {c.text[:30]!r}"),
                    speaker_entity=locate(text, entity, f"{doc_id} entity of {c.text[:30]!r}"),
                )
            )
        docs.append(
            Document(
                doc_id,
                text,
                tuple(entities_of(doc_id, text)),
                tuple(quotes),
                {"file": path.name},
                {"annotator": "hand", "guidelines": "data/hand/README.md"},
            )
        )
    return docs


def listing(doc: Document) -> str:
    lines = [f"== {doc.id}: {len(doc.entities)} entities, {len(doc.quotes)} quotes"]
    for e in doc.entities:
        lines.append(f"  {e.start:5}-{e.end:<5} {e.label:8} {e.text}")
    for q in doc.quotes:
        lines.append(f"  QUOTE {q.start}-{q.end} [{q.kind}] {q.text}")
        for name in ("speaker", "cue", "speaker_entity"):
            part = getattr(q, name)
            shown = f"{part.start}-{part.end} {part.text!r}" if part else "-"
            lines.append(f"      {name:14} {shown}")
    return "\n".join(lines)


if __name__ == "__main__":
    documents = build()
    write_jsonl(ROOT / "data" / "hand" / "seeds.jsonl", (d.to_dict() for d in documents))
    for d in documents:
        print(listing(Document.from_dict(d.to_dict())))
