"""Load balancers, target groups and listeners: DNS names, ARNs and hosted zones per region."""

from __future__ import annotations

import re

import pytest

from looper_infra.engine.fakes.aws import elb
from looper_infra.engine.mocks import MockContext


@pytest.mark.parametrize(("region", "zone"), [("ap-northeast-2", "ZIBE1TIR4HY56"),
                                              ("us-east-1", "Z26RNL4JYFTOTI"),
                                              ("eu-west-1", "Z2IFOLAFXWLO4F")])
def test_nlb_dns_name_arn_and_hosted_zone_per_region(region: str, zone: str) -> None:
    c = MockContext(aws_region=region)
    for internal in (False, True):  # NLBs never get the "internal-" prefix
        lb = elb.load_balancer(f"api-{internal}", {"name": "looper-api", "loadBalancerType": "network",
                                                    "internal": internal}, c)
        assert re.fullmatch(rf"looper-api-[0-9a-f]{{16}}\.elb\.{region}\.amazonaws\.com", lb["dnsName"])
        assert lb["zoneId"] == zone
        assert re.fullmatch(rf"arn:aws:elasticloadbalancing:{region}:123456789012:"
                            r"loadbalancer/net/looper-api/[0-9a-f]{16}", lb["arn"])
        assert lb["arn"].endswith(":loadbalancer/" + lb["arnSuffix"]) and lb["id"] == lb["arn"]
    tg = elb.target_group("api-tg", {"port": 6443, "protocol": "TCP", "targetType": "ip"}, c)
    assert re.fullmatch(r"targetgroup/api-tg-[0-9a-f]{7}/[0-9a-f]{16}", tg["arnSuffix"])
    assert tg["arn"] == f"arn:aws:elasticloadbalancing:{region}:123456789012:{tg['arnSuffix']}"
    ln = elb.listener("api-tls", {"loadBalancerArn": lb["arn"], "port": 443}, c)
    assert re.fullmatch(rf"arn:aws:elasticloadbalancing:{region}:123456789012:"
                        r"listener/net/looper-api/[0-9a-f]{16}/[0-9a-f]{16}", ln["arn"])
    assert ln["arn"].split("/")[3] == lb["arn"].split("/")[3]


def test_internal_alb_has_the_internal_prefix_and_alb_zone() -> None:
    lb = elb.load_balancer("web", {"name": "web", "internal": True}, MockContext())
    assert re.fullmatch(r"internal-web-\d{10}\.ap-northeast-2\.elb\.amazonaws\.com", lb["dnsName"])
    assert lb["zoneId"] == "ZWKZPGTI48KDX" and "/app/web/" in lb["arn"]
    with pytest.raises(ValueError, match="no Network Load Balancer hosted zone"):
        elb.load_balancer("x", {"loadBalancerType": "network"}, MockContext(aws_region="xx-nowhere-9"))
    with pytest.raises(ValueError, match="not a load balancer ARN"):
        elb.listener("bad", {"loadBalancerArn": "arn:aws:s3:::bucket"}, MockContext())
