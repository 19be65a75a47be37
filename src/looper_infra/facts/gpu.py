"""NVIDIA L4 on Compute Engine: which G2 machine types carry how many, and which zones offer them.

Config models (v2, v3, v4) reject what these tables rule out; components trust their config.
"""

from __future__ import annotations

#: GPUs attached to each G2 machine type (G2 is the only family with L4).
#: Source: Compute Engine "Accelerator-optimized machine family: G2" table.
G2_GPU_COUNTS: dict[str, int] = {
    "g2-standard-4": 1, "g2-standard-8": 1, "g2-standard-12": 1, "g2-standard-16": 1,
    "g2-standard-24": 2, "g2-standard-32": 1, "g2-standard-48": 4, "g2-standard-96": 8,
}

#: Zones offering NVIDIA L4 (accelerator type `nvidia-l4`), per region.
#: Source: Compute Engine "GPU regions and zones availability" page, transcribed
#: 2026-11-27. Availability changes: check with
#: `gcloud compute accelerator-types list --filter="name=nvidia-l4"` and update
#: this table (and its date) when Google adds zones.
L4_ZONES_AS_OF = "2026-11-27"
L4_ZONES: dict[str, tuple[str, ...]] = {
    "asia-east1": ("asia-east1-a", "asia-east1-b", "asia-east1-c"),
    "asia-northeast1": ("asia-northeast1-a", "asia-northeast1-b", "asia-northeast1-c"),
    "asia-northeast3": ("asia-northeast3-a", "asia-northeast3-b"),
    "asia-south1": ("asia-south1-a", "asia-south1-b", "asia-south1-c"),
    "asia-southeast1": ("asia-southeast1-a", "asia-southeast1-b", "asia-southeast1-c"),
    "europe-west1": ("europe-west1-b", "europe-west1-c"),
    "europe-west2": ("europe-west2-a", "europe-west2-b"),
    "europe-west3": ("europe-west3-a", "europe-west3-b"),
    "europe-west4": ("europe-west4-a", "europe-west4-b", "europe-west4-c"),
    "europe-west6": ("europe-west6-b",),
    "me-west1": ("me-west1-b", "me-west1-c"),
    "northamerica-northeast2": ("northamerica-northeast2-a", "northamerica-northeast2-b"),
    "us-central1": ("us-central1-a", "us-central1-b", "us-central1-c"),
    "us-east1": ("us-east1-b", "us-east1-c", "us-east1-d"),
    "us-east4": ("us-east4-a", "us-east4-c"),
    "us-west1": ("us-west1-a", "us-west1-b", "us-west1-c"),
    "us-west4": ("us-west4-a", "us-west4-c"),
}
