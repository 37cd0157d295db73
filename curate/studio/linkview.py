"""Which relation arrows Label Studio draws: those of the selected region, or all on a toggle.

Label Studio 1.23 draws every relation of a task over the text and gives no setting to
draw fewer: the overlay (``RelationsOverlay.jsx``) marks only the relation pointed at in
the Relations tab, and a selected region changes nothing on it. What it does give: each
relation is an ``svg.relations-overlay > g`` in the order of the result list, a region's
highlight carries the class ``htx-highlight-<region id>-<n>`` and, while selected,
``__active``. So every task carries, in :data:`FIELD`, a small stylesheet (rendered by a
``<HyperText inline="true">`` of the config) that says, for each region of the
prediction, "while this region is selected, draw the arrows at these positions and
outline the regions at their other ends", plus a "Show all links" checkbox.

Positions are only right while the links are the suggested ones: the rules apply only
while exactly as many arrows as the prediction has are drawn and every region a suggested
link joins is on the page with its id and suggested start (so deleting a quote or a link,
drawing a new link, or an annotation made from another prediction turns them off: no
arrow on selection rather than a wrong one). A labeler who deletes k suggested links in
the Relations tab *and* draws k new ones makes the count whole again: then the arrows
after a deleted one can be the wrong ones. Regions and links a labeler makes have ids CSS
cannot know; their arrows show on the toggle or by pointing at them in the Relations tab.
Relation names are never drawn (the config's ``<Style>``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

import jinja2

#: Task data key (and the config's ``<HyperText value="$link_view">``) holding the CSS.
FIELD = "link_view"

# Region ids curate writes (e0, q3, q3s, q3f1...) are CSS identifiers; others are skipped.
_CSS_ID = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


@cache
def _template() -> jinja2.Template:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("curate.studio", "templates"),
        autoescape=False,  # CSS and fixed markup; region ids are checked identifiers
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    return env.get_template("link_view.html.j2")


def link_view(results: Sequence[Mapping[str, Any]]) -> str:
    """The ``<style>`` plus toggle for a task whose prediction is ``results`` (Label Studio
    result dicts, in the order they are imported): for each region id, the 1-based
    positions of its relations among all relations, and the regions they join; and the
    check that the links are still the suggested ones (count, region ids and starts).

    Relations whose ends are not CSS identifiers are counted for positions but get no rule.
    """
    relations = [(r["from_id"], r["to_id"]) for r in results if r.get("type") == "relation"]
    starts = {r["id"]: r["value"].get("start") for r in results if r.get("type") == "labels"}
    positions: dict[str, list[int]] = {}
    joined: dict[str, list[str]] = {}
    for k, (a, b) in enumerate(relations, start=1):
        if not (_CSS_ID.fullmatch(a) and _CSS_ID.fullmatch(b)):
            continue
        for one, other in ((a, b), (b, a)):
            positions.setdefault(one, []).append(k)
            ends = joined.setdefault(one, [one])
            if other not in ends:
                ends.append(other)
    return _template().render(
        total=len(relations),
        ends=[(rid, starts.get(rid)) for rid in positions],
        regions=[(rid, positions[rid], joined[rid]) for rid in positions],
    )
