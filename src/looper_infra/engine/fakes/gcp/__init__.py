"""Realistic outputs for the GCP resources the stages use.

Self links, IDs and e-mails follow the real formats; internal addresses are allocated from
the subnetwork the resource is attached to, external addresses from a Google-owned block,
so program logic that parses or routes on them runs as it would against the real API. One
module per service holds its fakes and the tokens they answer (`FAKES`); `ids` and
`addresses` are what they share.
"""

from __future__ import annotations

from looper_infra.engine.fakes.gcp import (
    compute,
    dns,
    iam,
    load_balancing,
    network,
    secretmanager,
    storage,
    vpn,
)
from looper_infra.engine.fakes.inputs import echo_inputs
from looper_infra.engine.mocks import Fake

FAKES: dict[str, Fake] = {
    **network.FAKES, **compute.FAKES, **load_balancing.FAKES, **vpn.FAKES, **iam.FAKES, **storage.FAKES,
    **secretmanager.FAKES, **dns.FAKES,
    "pulumi:providers:gcp": echo_inputs,
}
