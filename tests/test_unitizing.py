"""Krippendorff's unitizing alpha against the published worked examples.

References (the expected numbers below come from these):

* Krippendorff, K. (2004) *Content Analysis: An Introduction to Its Methodology*, 2nd ed.,
  Sage, p. 254 (also "Measuring the reliability of qualitative text analysis data",
  Quality & Quantity 38, 2004): two observers, continuum [150, 450), categories c and k;
  D_o(c) = .0144, D_e(c) = .0532, alpha_c = .7286, alpha_k = 1, alpha = .8591.
* Krippendorff, K. (1995) "On the reliability of unitizing continuous data", Sociological
  Methodology 25, p. 57: four pairs of observers (A-D) on a 24-position continuum;
  alpha_A = .553, alpha_B = -.926, alpha_C = .679, alpha_D = .066 (continuous limit,
  reached by stretching the example), and the observed disagreements.

Both transcribed with their expected values from DKPro Statistics' tests
(github.com/dkpro/dkpro-statistics, dkpro-statistics-agreement/src/test/java/org/dkpro/
statistics/agreement/unitizing/Krippendorff2004Test.java, Krippendorff1995Test.java and
UnitizingAgreementTest.java), whose ``KrippendorffAlphaUnitizingAgreement`` reproduces
them; the tolerances are the ones DKPro's tests use.
"""

from __future__ import annotations

import pytest
from test_span_agreement import ANNA, ANNA_SHORT, BOB, PARIS, TEXT, doc

from curate.score.unitizing import (
    Unit,
    disagreement,
    unitizing_alpha_by_annotator,
    unitizing_alpha_by_label,
)

# Krippendorff (2004: 254): (observer, start, length)
K2004 = {
    "c": [(0, 225, 70), (0, 370, 30), (1, 220, 80), (1, 355, 20), (1, 400, 20)],
    "k": [(0, 180, 60), (0, 300, 50), (1, 180, 60), (1, 300, 50)],
}

# Krippendorff (1995: 57): (observer, start, length) on [0, 24)
K1995 = {
    "A": [(0, 2, 8), (0, 14, 6), (1, 4, 4), (1, 15, 2)],
    "B": [(0, 0, 18), (1, 0, 2), (1, 2, 1), (1, 3, 1), (1, 4, 1), (1, 5, 1), (1, 6, 3)]
    + [(1, 9, 1)],
    "C": [(0, 2, 6), (0, 10, 2), (0, 14, 4), (0, 20, 2)]
    + [(1, 0, 2), (1, 4, 4), (1, 10, 4), (1, 16, 2), (1, 20, 2)],
    "D": [(0, 0, 2), (0, 2, 8), (0, 10, 4), (0, 14, 6), (0, 20, 4)]
    + [(1, 0, 4), (1, 4, 4), (1, 8, 7), (1, 15, 2), (1, 17, 7)],
}


def units(rows: list[tuple[int, int, int]], stretch: int = 1) -> list[Unit]:
    return [(who, s * stretch, (s + n) * stretch) for who, s, n in rows]


def test_krippendorff_2004_worked_example() -> None:
    c = disagreement(units(K2004["c"]), 2, 150, 450)
    k = disagreement(units(K2004["k"]), 2, 150, 450)
    assert float(c.observed) == pytest.approx(0.0144, abs=1e-4)
    assert float(c.expected) == pytest.approx(0.0532, abs=1e-4)
    assert c.alpha == pytest.approx(0.7286, abs=1e-4)
    assert float(k.observed) == 0.0
    assert float(k.expected) == pytest.approx(0.0490, abs=1e-4)
    assert k.alpha == pytest.approx(1.0)
    overall = 1 - (c.observed + k.observed) / (c.expected + k.expected)
    assert float(overall) == pytest.approx(0.8591, abs=5e-4)


def test_krippendorff_2004_distances() -> None:
    # Krippendorff (2004: 254), the pairs of segments the example's D_o sums
    one = [(0, 225, 295), (0, 370, 400)]
    other = [(1, 220, 300), (1, 355, 375), (1, 400, 420)]
    # 50 + 850 for the overlapping units, 400 for [400, 420) against observer 0's gap
    d = disagreement(one + other, 2, 150, 450)
    assert d.observed * 2 * 300**2 == 2 * (50 + 850 + 400)


@pytest.mark.parametrize(
    ("label", "observed"),
    [("A", 0.03125), ("B", 2.26736), ("C", 0.02777), ("D", 0.38715)],
)
def test_krippendorff_1995_observed_disagreement(label: str, observed: float) -> None:
    assert float(disagreement(units(K1995[label]), 2, 0, 24).observed) == pytest.approx(
        observed, abs=1e-5
    )


@pytest.mark.parametrize(
    ("label", "expected", "alpha"),
    [("A", 0.06990, 0.553), ("B", 1.17731, -0.926), ("C", 0.08642, 0.679), ("D", 0.41445, 0.066)],
)
def test_krippendorff_1995_alpha_in_the_continuous_limit(
    label: str, expected: float, alpha: float
) -> None:
    stretch = 1_200_000 // 24  # DKPro's stretch: the paper's figures are continuous
    d = disagreement(units(K1995[label], stretch), 2, 0, 24 * stretch)
    assert float(d.expected) == pytest.approx(expected, abs=0.005)
    assert d.alpha == pytest.approx(alpha, abs=0.02)
    assert float(d.observed) == pytest.approx(
        float(disagreement(units(K1995[label]), 2, 0, 24).observed)
    )  # D_o does not depend on the resolution


@pytest.mark.parametrize(
    ("stretch", "expected", "abs_"), [(5, 0.08234, 0.005), (50, 0.08600, 0.005)]
)
def test_krippendorff_1995_expected_disagreement_grows_with_resolution(
    stretch: int, expected: float, abs_: float
) -> None:
    d = disagreement(units(K1995["C"], stretch), 2, 0, 24 * stretch)
    assert float(d.expected) == pytest.approx(expected, abs=abs_)


def test_dkpro_example_and_degenerate_cases() -> None:
    # DKPro's UnitizingAgreementTest: r0 -11111111-, r1 --1-1-1---
    d = disagreement([(0, 1, 9), (1, 2, 3), (1, 4, 5), (1, 6, 7)], 2, 0, 10)
    assert float(d.observed) == pytest.approx(0.9100, abs=1e-4)
    assert float(d.expected) == pytest.approx(0.5351, abs=1e-4)
    assert d.alpha == pytest.approx(-0.7003, abs=1e-4)
    assert disagreement([], 3, 0, 20).alpha is None  # nobody marked anything
    assert disagreement([(0, 0, 0), (1, 0, 0)], 2, 0, 15).alpha is None  # no mass
    same = disagreement([(0, 0, 0), (0, 2, 7), (1, 2, 7)], 2, 0, 15)
    assert same.alpha == pytest.approx(1.0)
    with pytest.raises(ValueError):
        disagreement([(2, 0, 1)], 2, 0, 15)


def test_overlapping_units_of_one_annotator_are_merged() -> None:
    merged = disagreement([(0, 2, 5), (0, 4, 8), (1, 2, 8)], 2, 0, 20)
    assert merged.alpha == pytest.approx(1.0) and merged.units == 2


def test_by_label_over_articles_laid_end_to_end() -> None:
    anna, bob, paris = ANNA, BOB, PARIS
    docs = [
        doc("x", anna, bob, paris),
        doc("y", anna, bob, paris),
        doc("z", anna, paris),
        doc("x", anna, art="a2"),
        doc("y", anna, art="a2"),
        doc("z", anna, art="a2"),
        doc("x", anna, art="alone"),  # one annotator: not counted
    ]
    out = unitizing_alpha_by_label(docs)
    assert set(out) == {"PERSON", "GPE", "all"}
    assert out["GPE"].alpha == pytest.approx(1.0)
    assert out["PERSON"].continua == 1 and out["PERSON"].units == 8
    # the same as the continuum built by hand: a2 starts at len(TEXT)
    n = len(TEXT)
    spans = [(0, 0, 10), (0, 15, 24), (1, 0, 10), (1, 15, 24), (2, 0, 10)]
    spans += [(w, n, n + 10) for w in range(3)]
    assert out["PERSON"].alpha == pytest.approx(disagreement(spans, 3, 0, 2 * n).alpha)
    assert 0 < out["all"].alpha < 1
    assert unitizing_alpha_by_label([doc("x", anna)]) == {}


def test_by_annotator_the_one_who_differs_stands_out() -> None:
    docs = [doc("x", ANNA, BOB), doc("y", ANNA, BOB), doc("z", ANNA_SHORT)]
    by = unitizing_alpha_by_annotator(docs)
    assert by["z"] < by["x"] == by["y"] < 1.0
    # x's pairs: with y (identical, 1.0) and with z, the same as z's pair with x
    pair_xz = disagreement([(0, 0, 10), (0, 15, 24), (1, 0, 4)], 2, 0, len(TEXT)).alpha
    assert by["x"] == pytest.approx((1.0 + pair_xz) / 2)
    assert by["z"] == pytest.approx(pair_xz)
