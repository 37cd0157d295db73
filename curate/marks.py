"""Quote marks: the one table of them, quoted stretches of text, and a quote's kind.

Every module that looks at quote marks (the quote extractor, the brat import) takes
them from here. Pure string work, so it is cheap, testable on its own and total: every input gives a
result, never an exception. Handles curly and straight double quotes, guillemets, low-9
quotes, single quotes (only outside double quotes, where they cannot be nested quotes),
quotes running over paragraph breaks (a paragraph ends with no closing mark and the next
opens again) and unbalanced marks, which are closed at the next opening mark or at the
paragraph end, cut before a trailing ``, said Kirby`` when there is one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DOUBLE_OPEN = "“„«‹"
DOUBLE_CLOSE = "”»›"
STRAIGHT_DOUBLE = '"'
SINGLE_OPEN = "‘‚"
SINGLE_CLOSE = "’"
STRAIGHT_SINGLE = "'"
#: Every mark that can close a quote (apostrophes included: ``’`` and ``'`` are both).
CLOSING = DOUBLE_CLOSE + SINGLE_CLOSE + STRAIGHT_DOUBLE + STRAIGHT_SINGLE
#: Marks that are quote marks wherever they stand (a single ``’``/``'`` may be an apostrophe).
UNAMBIGUOUS = DOUBLE_OPEN + DOUBLE_CLOSE + STRAIGHT_DOUBLE + SINGLE_OPEN
#: LaTeX-style marks of older wire copy (PolNeAR): ````like this''``.
LATEX_OPEN, LATEX_CLOSE = "``", "''"
DASHES = "―—–‒−-"
"""Every dash that can sign a quote: horizontal bar, em, en, figure dash, minus, hyphen."""

# `“...” — Jane Smith`, `“...” -Jane Smith`, `“...” -- Jane Smith`: one to three dash
# characters (typewriter `--` stands for an em dash) between optional spaces.
_SIGNATURE_DASH = re.compile(rf"[ \t\xa0]*([{DASHES}]{{1,3}})[ \t\xa0]*")

# Characters after which a straight quote opens rather than closes.
_OPEN_BEFORE = set(" \t\n\r([{—–-/") | set(DOUBLE_OPEN) | set(SINGLE_OPEN)
# Characters before which a straight or right quote closes rather than opens.
_CLOSE_AFTER = set(" \t\n\r.,;:!?)]}—–-/…") | set(DOUBLE_CLOSE) | set(SINGLE_CLOSE) | {'"', "'"}

_CUE = (
    r"(?:said|says|say|added|adds|told|tells|noted|notes|explained|explains|continued|"
    r"wrote|writes|asked|asks|stated|states|argued|argues|insisted|warned|declared|"
    r"replied|responded|recalled|concluded|acknowledged|according\s+to)"
)
_WHO = (
    r"(?:he|she|they|we|I|it|(?:the|a|an|one|another)(?:\s+[\w.’'\-]+){1,5}?"
    r"|[A-Z][\w.’'\-]*(?:\s+[A-Z][\w.’'\-]*){0,3})"
)
# The attribution that usually follows an unclosed quote: ", said Kirby" / ", he added".
_TRAILING_CUE = re.compile(rf",\s+(?:{_CUE}\s+\S|{_WHO}\s+{_CUE}\b)")


@dataclass(frozen=True, slots=True)
class Quoted:
    """A quoted stretch ``text[start:end]``, marks included.

    ``closed`` is false when no closing mark was found and the end was recovered;
    ``paragraphs`` counts the paragraphs it runs over.
    """

    start: int
    end: int
    closed: bool = True
    style: str = "double"
    paragraphs: int = 1


def signature_dash(text: str, end: int) -> tuple[int, int] | None:
    """The dash right after a quote ending at ``end`` (spaces allowed), as ``(start, end)``.

    ``“...” — Commissioner Daniel Okoro``, `` - Commissioner``, ``-Commissioner`` and
    ``-- Commissioner`` all give the dash; anything else gives None.
    """
    m = _SIGNATURE_DASH.match(text, end)
    return m.span(1) if m else None


def paragraphs(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` of each non-blank line: news paragraphs are lines."""
    out = []
    for m in re.finditer(r"[^\r\n]+", text):
        if m.group().strip():
            out.append((m.start(), m.end()))
    return out


# Two apostrophes stand for a straight double quote in some wire copy (''Like this.'');
# the scanner sees them as ``"`` followed by this filler, so offsets do not move.
_FILLER = "\x00"


def _normalise(text: str) -> str:
    return text.replace("\x00", " ").replace("''", '"' + _FILLER)


def _double_role(text: str, i: int) -> str:
    """``open``, ``close`` or ``either`` for the double quote mark at ``i``."""
    ch = text[i]
    before = text[i - 1] if i > 0 else "\n"
    j = i + 2 if text[i + 1 : i + 2] == _FILLER else i + 1
    after = text[j] if j < len(text) else "\n"
    # Curly marks are trusted unless the context plainly says the opposite: a typo'd
    # `here,“ said` closes, `”Hello` after a space opens.
    if ch in DOUBLE_OPEN:
        if before in ".,!?…" and (after.isspace() or after in _CLOSE_AFTER):
            return "close"
        return "open"
    if ch in DOUBLE_CLOSE:
        if before.isspace() and after.isalnum():
            return "open"
        return "close"
    if (before.isspace() or before in _OPEN_BEFORE) and not after.isspace():
        return "open"
    if (after.isspace() or after in _CLOSE_AFTER) and not before.isspace():
        return "close"
    return "either"


def _recover_end(text: str, start: int, limit: int) -> int:
    """End of an unclosed quote: before a trailing attribution, else at ``limit``."""
    m = _TRAILING_CUE.search(text, start + 1, limit)
    end = m.start() + 1 if m else limit
    while end > start + 1 and text[end - 1].isspace():
        end -= 1
    return end


_DOUBLE_MARK = re.compile(f"[{re.escape(DOUBLE_OPEN + DOUBLE_CLOSE + STRAIGHT_DOUBLE)}]")
_SINGLE_MARK = re.compile(f"[{re.escape(SINGLE_OPEN + STRAIGHT_SINGLE)}]")
_SINGLE_CLOSER = re.compile(f"[{re.escape(SINGLE_CLOSE + STRAIGHT_SINGLE)}]")


def find_double(text: str) -> list[Quoted]:
    """Double-quoted stretches (curly, straight, guillemets), recovering unbalanced marks."""
    text = _normalise(text)
    out: list[Quoted] = []
    paras = paragraphs(text)
    open_at: int | None = None
    n_paras = 1
    reopen = -1  # the mark re-opening a quote that runs on from the previous paragraph
    stray = _block_markers(text, paras)
    for p_i, (p_start, p_end) in enumerate(paras):
        # Only the marks matter: jump from one to the next rather than test every character.
        for m in _DOUBLE_MARK.finditer(text, p_start, p_end):
            i = m.start()
            ch = text[i]
            if i == reopen or i in stray:
                continue
            role = _double_role(text, i)
            if open_at is not None and text[open_at] == "„" and ch == "“":
                role = "close"  # German style: „so“
            if open_at is None:
                if role != "close":
                    open_at, n_paras = i, 1
                # A stray closing mark outside any quote is ignored.
                continue
            if role == "open":
                # A second opening mark: the previous quote was never closed.
                end = _recover_end(text, open_at, i)
                out.append(Quoted(open_at, end, False, "double", n_paras))
                open_at, n_paras = i, 1
            else:
                end = i + 2 if text[i + 1 : i + 2] == _FILLER else i + 1
                out.append(Quoted(open_at, end, True, "double", n_paras))
                open_at = None
        if open_at is not None:
            nxt = paras[p_i + 1] if p_i + 1 < len(paras) else None
            if nxt is not None and _opens_paragraph(text, nxt[0]):
                # Multi-paragraph quote: the next paragraph re-opens without closing this one.
                n_paras += 1
                reopen = _first_char(text, nxt[0])
                continue
            end = _recover_end(text, open_at, p_end)
            out.append(Quoted(open_at, end, False, "double", n_paras))
            open_at = None
    return [q for q in out if q.end - q.start > 2]


def _block_markers(text: str, paras: list[tuple[int, int]]) -> set[int]:
    """Straight marks that only flag a paragraph as an excerpt, in curly-quoted text.

    Some sites prefix every paragraph of a block quote with a lone ``"``: the article's
    own quotes use curly marks, and no straight mark closes it in the paragraph. Read as
    quote marks they would make whole paragraphs (and the quotes inside) one quote.
    """
    curly = sum(text.count(m) for m in DOUBLE_OPEN + DOUBLE_CLOSE)
    if curly < 4 or text.count(STRAIGHT_DOUBLE) * 4 > curly:
        return set()
    out = set()
    for p_start, p_end in paras:
        i = _first_char(text, p_start)
        if i < p_end and text[i] == STRAIGHT_DOUBLE and STRAIGHT_DOUBLE not in text[i + 1 : p_end]:
            out.add(i)
    return out


def _first_char(text: str, start: int) -> int:
    i = start
    while i < len(text) and text[i].isspace():
        i += 1
    return i


def _opens_paragraph(text: str, start: int) -> bool:
    i = _first_char(text, start)
    return i < len(text) and (
        text[i] in DOUBLE_OPEN or (text[i] == STRAIGHT_DOUBLE and _double_role(text, i) != "close")
    )


def find_single(text: str, taken: list[Quoted]) -> list[Quoted]:
    """Single-quoted stretches outside the double quotes in ``taken``.

    Apostrophes share the marks, so a single quote only opens at the start of a word and
    only closes at the end of one, within the same paragraph; an opener with no closer
    is taken for an apostrophe (``'90s``) and dropped.
    """
    blocked = [(q.start, q.end) for q in taken]
    out: list[Quoted] = []
    for p_start, p_end in paragraphs(text):
        i = p_start
        while i < p_end:
            # Only the marks matter: jump to the next one rather than test every character.
            m = _SINGLE_MARK.search(text, i, p_end)
            if m is None:
                break
            i = m.start()
            ch = text[i]
            if ch in SINGLE_OPEN or (ch == STRAIGHT_SINGLE and text[i + 1 : i + 2] != "'"):
                before = text[i - 1] if i > 0 else "\n"
                after = text[i + 1] if i + 1 < len(text) else "\n"
                opens = before.isspace() or before in _OPEN_BEFORE
                if opens and after.isalnum() and not _inside(i, blocked):
                    end = _single_close(text, i + 1, p_end, blocked)
                    if end is not None:
                        out.append(Quoted(i, end, True, "single", 1))
                        i = end
                        continue
            i += 1
    return out


def _single_close(text: str, start: int, limit: int, blocked: list[tuple[int, int]]) -> int | None:
    # A quote never runs into a double quote: stop at the first blocked character.
    limit = min([limit, *(max(s, start) for s, e in blocked if e > start)])
    for m in _SINGLE_CLOSER.finditer(text, start, limit):
        j = m.start()
        before = text[j - 1]
        after = text[j + 1] if j + 1 < len(text) else "\n"
        if before.isspace() or not (after.isspace() or after in _CLOSE_AFTER):
            continue  # an apostrophe inside a word: don't, Russia's
        if before in "sS" and after.isspace() and text[j + 2 : j + 3].islower():
            continue  # most likely a plural possessive: the players' union
        return j + 1
    return None


def _inside(i: int, spans: list[tuple[int, int]]) -> bool:
    return any(s <= i < e for s, e in spans)


def find_quoted(text: str) -> list[Quoted]:
    """Every quoted stretch of ``text``, sorted by position."""
    double = find_double(text)
    return sorted(double + find_single(text, double), key=lambda q: q.start)


def quote_kind(text: str) -> str:
    """``direct`` when quote marks enclose the whole content, ``mixed`` when part, else
    ``indirect``.

    Direct: the content (surrounding spaces and ``.,;:`` ignored) starts with an opening
    mark and ends with a closing one, single quotes included: ``‘We won’t close the
    library,’``. Mixed: :func:`find_quoted` finds a quoted stretch inside (so ``the budget
    was ‘tight but workable’`` is mixed while the apostrophe of ``the party’s plan`` is
    not a quote), or a double mark stands alone (a content cut inside a quote).
    LaTeX-style marks count as double quotes.
    """
    text = text.replace(LATEX_OPEN, DOUBLE_OPEN[0]).replace(LATEX_CLOSE, DOUBLE_CLOSE[0])
    text = text.strip().strip(".,;: ")
    if text[:1] and text[:1] in _STARTS_QUOTE and text[-1:] in _ENDS_QUOTE and len(text) > 1:
        return "direct"
    if any(m in text for m in UNAMBIGUOUS) or find_quoted(text):
        return "mixed"
    return "indirect"


# A content that starts and ends with these is a direct quote (the old wire copy's
# closing-as-opening marks included, as PolNeAR's annotators cut them).
_STARTS_QUOTE = DOUBLE_OPEN + DOUBLE_CLOSE + STRAIGHT_DOUBLE + SINGLE_OPEN + STRAIGHT_SINGLE
_ENDS_QUOTE = CLOSING + DOUBLE_OPEN
