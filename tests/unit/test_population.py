"""Do customers land in the cell of their hidden traits? Simulated population, scored by `vox
replay` (each customer's latest row in `customer_scores`).

`python -m bench.population` gives the full report (two horizons, and the share a classifier
trained on the truth reaches from the same states: the bound the evidence sets)."""

from __future__ import annotations

import pytest

from bench.population import (ESTABLISHED_EVENTS, by_evidence, by_evidence_level, confusion, per_axis, render,
                              simulate_and_score)  # fmt: skip
from vox.simulator.generate import SimConfig


@pytest.fixture(scope="module")
def population(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, dict]:
    truth, _, cells = simulate_and_score(SimConfig(customers=2000, days=120, seed=3), tmp_path_factory.mktemp("population"))
    return truth, cells


def test_placements_established_on_both_axes_are_the_reliable_ones(population) -> None:
    truth, cells = population
    levels = by_evidence_level(truth, cells)
    print("\nby evidence level:", levels)
    assert levels["established"]["customers"] > 600
    assert levels["established"]["right"] >= 0.81  # measured 82.8 %
    assert levels["established"]["right"] > levels["provisional"]["right"] + 0.2


def test_established_customers_land_in_the_cell_of_their_traits(population) -> None:
    truth, cells = population
    matrix, right, total = confusion(truth, cells, ESTABLISHED_EVENTS)
    print(f"\ncustomers with at least {ESTABLISHED_EVENTS} events: {right}/{total} = {right / total:.1%}\n{render(matrix)}")
    assert total > 400
    # 88.7 % (93.1 % when placements were per process at batch ends, scored as of each
    # customer's last signal): the misses are the heaviest users placed a level high on one axis,
    # half on each, their volume raising breadth, recognition and frequency (docs/scoring.md)
    assert right / total >= 0.87


def test_every_active_customer_is_placed_well_above_chance(population) -> None:
    truth, cells = population
    matrix, right, total = confusion(truth, cells)
    print(f"\nall active customers: {right}/{total} = {right / total:.1%}\n{render(matrix)}")
    print("by evidence:", by_evidence(truth, cells))
    # chance with these shares is about 12 %; customers with a handful of events can only be
    # placed from priors, which is what keeps this below the established figure
    assert right / total >= 0.72  # measured 73.1 %
    assert min(per_axis(matrix)) >= 0.79
    bands = by_evidence(truth, cells)
    assert bands[-1]["right"] > bands[0]["right"]  # more evidence, better placed
