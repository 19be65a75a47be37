"""Route 53 zones and records: IDs, name servers, FQDNs relative to the zone."""

from __future__ import annotations

import re

from looper_infra.engine.fakes.aws import route53
from looper_infra.engine.mocks import MockContext


def test_route53_record_fqdn_and_id() -> None:
    c = MockContext()
    zone = route53.route53_zone("zone", {"name": "looper.example.com"}, c)
    assert re.fullmatch(r"Z0[A-Z0-9]{19}", zone["zoneId"]) and len(zone["nameServers"]) == 4
    assert zone["arn"] == f"arn:aws:route53:::hostedzone/{zone['zoneId']}"
    assert [ns.rsplit(".", 1)[-1] for ns in zone["nameServers"]] == ["org", "uk", "com", "net"]
    rec = route53.route53_record("api", {"zoneId": zone["zoneId"], "name": "api", "type": "A"}, c)
    assert rec["fqdn"] == "api.looper.example.com"
    assert rec["id"] == f"{zone['zoneId']}_api.looper.example.com_A"
    full = route53.route53_record("app", {"zoneId": "ZEXISTING", "name": "App.Example.com.", "type": "A"}, c)
    assert full["fqdn"] == "app.example.com"
    weighted = route53.route53_record("w", {"zoneId": "Z1", "name": "w.example.com", "type": "A",
                                            "setIdentifier": "blue"}, c)
    assert weighted["id"] == "Z1_w.example.com_A_blue"
