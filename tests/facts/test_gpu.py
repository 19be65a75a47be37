"""The L4 tables agree with the region table and with what G2 machine types are."""

from __future__ import annotations

import re

from looper_infra.facts.gcp_zones import REGION_ZONES, zones_of
from looper_infra.facts.gpu import G2_GPU_COUNTS, L4_ZONES, L4_ZONES_AS_OF


def test_l4_zones_belong_to_their_regions() -> None:
    for region, zones in L4_ZONES.items():
        assert region in REGION_ZONES, region
        assert zones and set(zones) <= set(zones_of(region)), region
        assert len(set(zones)) == len(zones), region


def test_g2_machine_types_and_counts() -> None:
    assert all(re.fullmatch(r"g2-standard-\d+", m) for m in G2_GPU_COUNTS)
    assert set(G2_GPU_COUNTS.values()) == {1, 2, 4, 8}
    assert G2_GPU_COUNTS["g2-standard-4"] == 1 and G2_GPU_COUNTS["g2-standard-96"] == 8


def test_the_table_says_when_it_was_transcribed() -> None:
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", L4_ZONES_AS_OF)
