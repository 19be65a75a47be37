"""VPC flow logs into a CloudWatch log group, delivered by a role only this account's flow logs
may assume. Used by the K8s VPC (`vpc.py`) and the OpenVPN access VPC (`openvpn.py`)."""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws

from looper_infra.components.aws.provider import partition


def vpc_flow_logs(name: str, *, vpc_id: pulumi.Input[str], name_prefix: str, region: str, account_id: str,
                  retention_days: int, traffic: str = "ALL",
                  opts: pulumi.ResourceOptions) -> pulumi.Output[str]:
    """Log group `/looper/vpc-flow-logs/<name_prefix>`, its delivery role and the flow log.

    Children are named `<name>-flow-logs` (group, role, policy) and `<name>-flow-log`; returns
    the group's name.
    """
    part, p = partition(region), name_prefix
    group = aws.cloudwatch.LogGroup(
        f"{name}-flow-logs", name=f"/looper/vpc-flow-logs/{p}", retention_in_days=retention_days,
        tags={"Name": f"{p}-vpc-flow-logs"}, opts=opts)
    # The ARN from the group's name (known at plan time, so the policy is visible in a plan);
    # deriving it from the output keeps the dependency on the group.
    group_arn = group.name.apply(lambda n: f"arn:{part}:logs:{region}:{account_id}:log-group:{n}")
    role = aws.iam.Role(
        f"{name}-flow-logs", name=f"{p}-vpc-flow-logs",
        description=f"VPC flow-log delivery for {p} into its CloudWatch log group",
        assume_role_policy=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Principal": {"Service": "vpc-flow-logs.amazonaws.com"},
                "Action": "sts:AssumeRole",
                # confused deputy: only flow logs of this account and region
                "Condition": {
                    "StringEquals": {"aws:SourceAccount": account_id},
                    "ArnLike": {"aws:SourceArn": f"arn:{part}:ec2:{region}:{account_id}:vpc-flow-log/*"},
                },
            }],
        }),
        tags={"Name": f"{p}-vpc-flow-logs"}, opts=opts)
    aws.iam.RolePolicy(
        f"{name}-flow-logs", role=role.id,
        policy=group_arn.apply(lambda arn: json.dumps({
            "Version": "2012-10-17",
            "Statement": [
                {"Sid": "WriteThisGroupOnly", "Effect": "Allow",
                 "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                 "Resource": [arn, f"{arn}:*"]},
                # listed by AWS's documented minimum; read-only, and it cannot name one group
                {"Sid": "FindTheGroup", "Effect": "Allow", "Action": "logs:DescribeLogGroups",
                 "Resource": f"arn:{part}:logs:{region}:{account_id}:log-group:*"},
            ],
        })),
        opts=opts)
    aws.ec2.FlowLog(
        f"{name}-flow-log", vpc_id=vpc_id, traffic_type=traffic,
        log_destination_type="cloud-watch-logs", log_destination=group_arn,
        # from the role's name like the group's ARN: known at plan time, dependency kept
        iam_role_arn=role.name.apply(lambda n: f"arn:{part}:iam::{account_id}:role/{n}"),
        max_aggregation_interval=60, tags={"Name": f"{p}-vpc"}, opts=opts)
    return group.name
