"""Realistic outputs for the AWS resources the stages use (pulumi-aws 7.x type tokens).

IDs, ARNs and DNS names follow the real formats, so program logic that parses or routes
on them runs as it would against AWS. One module per service family holds its fakes and
the tokens they answer (`FAKES`); shared pieces are `ids` (IDs, ARNs, names), `state` (the
region, and what fakes register for each other), `addresses` (private and public IPs) and
`regions` (per-region facts, from package data). Requests the AWS API rejects raise
`ValueError`, so the offline plan fails where `pulumi up` would.
"""

from __future__ import annotations

from looper_infra.engine.fakes.aws import (
    acm,
    autoscaling,
    cloudfront,
    cloudwatch,
    ec2,
    elb,
    events,
    iam,
    kms,
    rds,
    route53,
    s3,
    secretsmanager,
    security_groups,
    sqs,
    transit_gateway,
    vpc,
    vpn,
)
from looper_infra.engine.fakes.inputs import echo_inputs
from looper_infra.engine.mocks import Fake

FAKES: dict[str, Fake] = {
    **vpc.FAKES, **security_groups.FAKES, **ec2.FAKES, **vpn.FAKES, **transit_gateway.FAKES,
    **iam.FAKES, **autoscaling.FAKES, **elb.FAKES, **acm.FAKES, **route53.FAKES, **cloudwatch.FAKES,
    **kms.FAKES, **secretsmanager.FAKES, **rds.FAKES, **s3.FAKES, **cloudfront.FAKES, **sqs.FAKES,
    **events.FAKES,
    "pulumi:providers:aws": echo_inputs,
}
