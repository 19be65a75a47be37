"""Route 53 hosted zones (ID, four name servers) and records (the provider's ID and FQDN)."""

from __future__ import annotations

import string
from typing import Any

from looper_infra.engine.fakes.aws.ids import arn
from looper_infra.engine.fakes.aws.state import registry
from looper_infra.engine.fakes.seeded import UPPER_ALNUM, chars
from looper_infra.engine.mocks import Fake, MockContext


def _name_servers(name: str) -> list[str]:
    n = int(chars(string.digits, 4, "ns", name))
    return [f"ns-{n % 2048}.awsdns-{n % 64:02d}.org",
            f"ns-{(n + 512) % 2048}.awsdns-{(n + 1) % 64:02d}.co.uk",
            f"ns-{(n + 1024) % 2048}.awsdns-{(n + 2) % 64:02d}.com",
            f"ns-{(n + 1536) % 2048}.awsdns-{(n + 3) % 64:02d}.net"]


def route53_zone(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    zone_id = "Z0" + chars(UPPER_ALNUM, 19, "zone", name)
    zone_name = str(inputs["name"]).rstrip(".").lower()
    registry(ctx, "zones")[zone_id] = zone_name
    servers = _name_servers(name)
    return {**inputs, "id": zone_id, "zoneId": zone_id,
            "arn": arn("route53", "", "", f"hostedzone/{zone_id}"),
            "nameServers": servers, "primaryNameServer": servers[0],
            "comment": inputs.get("comment") or "Managed by Pulumi"}


def route53_record(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    fqdn = str(inputs["name"]).rstrip(".").lower()
    zone = registry(ctx, "zones").get(str(inputs.get("zoneId")))
    if zone and fqdn != zone and not fqdn.endswith(f".{zone}"):
        fqdn = f"{fqdn}.{zone}"  # the provider expands a name relative to its zone
    parts = [str(inputs["zoneId"]), fqdn, str(inputs["type"])]
    if inputs.get("setIdentifier"):
        parts.append(str(inputs["setIdentifier"]))
    return {**inputs, "id": "_".join(parts), "fqdn": fqdn}


FAKES: dict[str, Fake] = {
    "aws:route53/zone:Zone": route53_zone,
    "aws:route53/record:Record": route53_record,
}
