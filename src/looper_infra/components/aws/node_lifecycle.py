"""How nodes leave the cluster on AWS: drained before termination, sized by Cluster Autoscaler.

    NodeLifecycle
      KMS key             customer managed: the account administers it, EventBridge may encrypt
                          with it (an SSE-KMS queue needs the sender to GenerateDataKey)
      SQS queue           SSE-KMS with that key, messages kept 300 s (the handler's README)
      queue policy        only these rules (aws:SourceArn) may SendMessage; no plain HTTP
      EventBridge rules   -> the queue: the node groups' terminate lifecycle actions
                          (detail.AutoScalingGroupName), Spot interruption warnings, rebalance
                          recommendations, instance state changes, AWS Health scheduled changes
                          for EC2 (the patterns of AWS Node Termination Handler's README)
      IrsaRole x2         the handler (facts.v4_contract.NODE_TERMINATION_HANDLER): this queue,
                          this key, CompleteLifecycleAction on these groups; Cluster Autoscaler
                          (CLUSTER_AUTOSCALER): describes, and scaling only groups tagged as
                          this cluster's (aws:ResourceTag condition)

The termination lifecycle hooks live on the node groups themselves (node_group.py), so a group
cannot exist without one; this component takes the groups' names (plain config values), which
keeps the graph acyclic. Control-plane groups have no hook and are not in the ASG rule: a
replacement control plane must not wait on a drain through the API server it replaces, and the
handler would have to evict static pods that cannot be evicted (docs/runbooks/node-lifecycle.md).

The EC2 and Health rules are account-wide (their events carry no group); the handler acts only
on instances tagged `aws-node-termination-handler/managed` (every node group propagates it), so
control planes and the VPN server are left alone.

The handler's role has no `autoscaling:RecordLifecycleActionHeartbeat`: the handler sends
heartbeats only when its `heartbeatInterval` is set, and the hooks here already wait the drain
timeout plus a margin. Its `Describe*` actions and `ec2:DescribeInstances` take no resource-level
permissions, hence Resource "*".
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from looper_infra.components.aws.irsa import IrsaRole, IrsaRoleArgs
from looper_infra.components.aws.kms import ACCOUNT_ID, REGION, customer_key
from looper_infra.components.base import Component
from looper_infra.components.k8s import names
from looper_infra.facts import v4_contract

#: seconds the hook waits beyond the handler's drain timeout (event delivery, cordon, the call
#: that completes the lifecycle action)
HOOK_MARGIN_SECONDS = 120
#: seconds the queue keeps a message: an event older than that is about a node already gone
QUEUE_RETENTION_SECONDS = 300
#: the queue's target id on every rule
TARGET_ID = "node-termination-queue"
#: read-only actions Cluster Autoscaler needs (its AWS README, "Full Cluster Autoscaler Features
#: Policy", without the EKS node-group call): none has resource-level permissions
AUTOSCALER_DESCRIBE_ACTIONS = (
    "autoscaling:DescribeAutoScalingGroups",
    "autoscaling:DescribeAutoScalingInstances",
    "autoscaling:DescribeLaunchConfigurations",
    "autoscaling:DescribeScalingActivities",
    "autoscaling:DescribeTags",
    "ec2:DescribeImages",
    "ec2:DescribeInstanceTypes",
    "ec2:DescribeLaunchTemplateVersions",
    "ec2:GetInstanceTypesFromInstanceRequirements",
)
AUTOSCALER_SCALING_ACTIONS = (
    "autoscaling:SetDesiredCapacity",
    "autoscaling:TerminateInstanceInAutoScalingGroup",
)
#: what the handler reads about an instance (its README's queue-processor policy)
HANDLER_DESCRIBE_ACTIONS = (
    "autoscaling:DescribeAutoScalingInstances",
    "autoscaling:DescribeTags",
    "ec2:DescribeInstances",
)
HANDLER_QUEUE_ACTIONS = ("sqs:ReceiveMessage", "sqs:DeleteMessage")
_QUEUE_NAME = re.compile(r"^[A-Za-z0-9_-]{1,80}\Z")
#: rule names are `<name>-<rule key>`, at most 64 characters
_NAME_MAX = 64 - len("-scheduled-change")


def hook_heartbeat_seconds(drain_timeout_seconds: int) -> int:
    """How long a terminating node waits for its drain: the drain timeout plus a margin."""
    return drain_timeout_seconds + HOOK_MARGIN_SECONDS


def group_arn(partition: str, region: str, account_id: str, group_name: str) -> str:
    """An Auto Scaling group's ARN by name (its id part varies: `*`)."""
    return (f"arn:{partition}:autoscaling:{region}:{account_id}:autoScalingGroup:*:"
            f"autoScalingGroupName/{group_name}")


def event_patterns(group_names: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The EventBridge patterns feeding the queue, by rule key (NTH README, queue processor)."""
    return {
        "asg-terminate": {
            "source": ["aws.autoscaling"],
            "detail-type": ["EC2 Instance-terminate Lifecycle Action"],
            "detail": {"AutoScalingGroupName": sorted(group_names)},
        },
        "spot-interruption": {
            "source": ["aws.ec2"],
            "detail-type": ["EC2 Spot Instance Interruption Warning"],
        },
        "rebalance": {"source": ["aws.ec2"], "detail-type": ["EC2 Instance Rebalance Recommendation"]},
        "state-change": {"source": ["aws.ec2"], "detail-type": ["EC2 Instance State-change Notification"]},
        "scheduled-change": {
            "source": ["aws.health"],
            "detail-type": ["AWS Health Event"],
            "detail": {"service": ["EC2"], "eventTypeCategory": ["scheduledChange"]},
        },
    }


def key_policy(partition: str, account_id: str) -> str:
    """The account administers the key (IAM policies decide who uses it); EventBridge may encrypt
    messages to the queue with it (AWS EventBridge: targets that are encrypted SQS queues)."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "AccountAdministersKey",
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:{partition}:iam::{account_id}:root"},
                    "Action": "kms:*",
                    "Resource": "*",
                },
                {
                    "Sid": "EventBridgeEncryptsToQueue",
                    "Effect": "Allow",
                    "Principal": {"Service": "events.amazonaws.com"},
                    "Action": ["kms:GenerateDataKey*", "kms:Decrypt"],
                    "Resource": "*",
                },
            ],
        }
    )


def queue_policy(queue_arn: str, rule_arns: Sequence[str]) -> str:
    """Only this component's rules may send (aws:SourceArn); nobody may use plain HTTP."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "NodeEventRulesSend",
                    "Effect": "Allow",
                    "Principal": {"Service": "events.amazonaws.com"},
                    "Action": "sqs:SendMessage",
                    "Resource": queue_arn,
                    "Condition": {"ArnEquals": {"aws:SourceArn": sorted(rule_arns)}},
                },
                {
                    "Sid": "DenyInsecureTransport",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "sqs:*",
                    "Resource": queue_arn,
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                },
            ],
        }
    )


def handler_statements(
    queue_arn: pulumi.Input[str], key_arn: pulumi.Input[str], group_arns: Sequence[str]
) -> list[dict[str, Any]]:
    """The termination handler's permissions: its queue, its key, these groups' lifecycle actions."""
    return [
        {
            "Sid": "ReadTerminationQueue",
            "Effect": "Allow",
            "Action": list(HANDLER_QUEUE_ACTIONS),
            "Resource": queue_arn,
        },
        # receiving from an SSE-KMS queue decrypts its data key
        {"Sid": "DecryptTerminationQueue", "Effect": "Allow", "Action": "kms:Decrypt", "Resource": key_arn},
        {
            "Sid": "CompleteNodeLifecycleActions",
            "Effect": "Allow",
            "Action": "autoscaling:CompleteLifecycleAction",
            "Resource": sorted(group_arns),
        },
        {
            "Sid": "DescribeNodes",
            "Effect": "Allow",
            "Action": list(HANDLER_DESCRIBE_ACTIONS),
            "Resource": "*",
        },
    ]


def autoscaler_statements(cluster_name: str) -> list[dict[str, Any]]:
    """Cluster Autoscaler's permissions: describes; scaling only this cluster's tagged groups."""
    owned = {
        f"aws:ResourceTag/{k}": v for k, v in v4_contract.autoscaler_discovery_tags(cluster_name).items()
    }
    return [
        {
            "Sid": "DescribeNodeGroups",
            "Effect": "Allow",
            "Action": list(AUTOSCALER_DESCRIBE_ACTIONS),
            "Resource": "*",
        },
        {
            "Sid": "ScaleThisClustersNodeGroups",
            "Effect": "Allow",
            "Action": list(AUTOSCALER_SCALING_ACTIONS),
            "Resource": "*",
            "Condition": {"StringEquals": owned},
        },
    ]


def autoscaler_node_template(
    labels: Mapping[str, str], taints: Sequence[str], resources: Mapping[str, int | str]
) -> dict[str, str]:
    """Cluster Autoscaler's scale-from-zero hints as group tags (its AWS README): what a node of
    the group will carry when it joins, for a group that has none running.

    Taints are `key[=value]:Effect` (the kubelet's form); the tag's value is `value:Effect`.
    """
    prefix = v4_contract.AUTOSCALER_NODE_TEMPLATE
    tags = {f"{prefix}label/{k}": v for k, v in labels.items()}
    for taint in taints:
        match = names.TAINT.fullmatch(taint)
        if match is None:
            raise ValueError(f"{taint!r} is not a taint 'key[=value]:Effect'")
        tags[f"{prefix}taint/{match['key']}"] = f"{match['value'] or ''}:{match['effect']}"
    tags |= {f"{prefix}resources/{k}": str(v) for k, v in resources.items()}
    return tags


@dataclass(frozen=True)
class NodeLifecycleArgs:
    #: the queue's name, and the prefix of the rules' and the key alias's, e.g. `looper-dev-node-termination`
    name: str
    #: the cluster's name (Cluster Autoscaler's ownership tag)
    cluster_name: str
    region: str
    account_id: str
    partition: str
    #: every node group's name, by pool key: the ASG rule's filter and the handler's scope
    group_names: Mapping[str, str]
    #: the cluster's IRSA issuer
    provider_arn: pulumi.Input[str]
    issuer_host: pulumi.Input[str]
    handler_role_name: str
    autoscaler_role_name: str
    tags: Mapping[str, str] = field(default_factory=dict)

    def problems(self) -> list[str]:
        errors = []
        if not _QUEUE_NAME.match(self.name) or len(self.name) > _NAME_MAX:
            errors.append(
                f"name: {self.name!r} (1-{_NAME_MAX} of A-Za-z0-9-_: the queue's and the rules' names)"
            )
        if not self.group_names:
            errors.append("group_names: at least one node group")
        if not ACCOUNT_ID.match(self.account_id):
            errors.append(f"account_id: {self.account_id!r} is not an AWS account ID")
        if not REGION.match(self.region):
            errors.append(f"region: {self.region!r} is not an AWS region")
        return errors


class NodeLifecycle(Component):
    queue: aws.sqs.Queue
    #: https://sqs.<region>.amazonaws.com/<account>/<name>: the handler's queueURL
    queue_url: pulumi.Output[str]
    queue_arn: pulumi.Output[str]
    key_arn: pulumi.Output[str]
    handler_role_arn: pulumi.Output[str]
    autoscaler_role_arn: pulumi.Output[str]

    def __init__(
        self, name: str, args: NodeLifecycleArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("looper:aws:NodeLifecycle", name, args, opts)
        tags = {"Name": args.name, **args.tags}
        key = self._queue(name, args, tags)
        ready = self._rules(name, args, tags)
        self._roles(name, args, tags, key.arn)
        # the URL is handed out once the queue accepts the rules' events
        self.queue_url = pulumi.Output.all(self.queue.url, *ready).apply(lambda v: str(v[0]))
        self.queue_arn = self.queue.arn
        self.key_arn = key.arn
        self.handler_role_arn = self.handler_role.arn
        self.autoscaler_role_arn = self.autoscaler_role.arn
        self.register_outputs(
            {
                "queue_url": self.queue_url,
                "queue_arn": self.queue_arn,
                "key_arn": self.key_arn,
                "handler_role_arn": self.handler_role_arn,
                "autoscaler_role_arn": self.autoscaler_role_arn,
            }
        )

    def _queue(self, name: str, args: NodeLifecycleArgs, tags: dict[str, str]) -> aws.kms.Key:
        """The events queue, encrypted with its own key (returned)."""
        key = customer_key(
            f"{name}-queue",
            description=f"{args.name}: node termination events (SQS SSE-KMS)",
            tags=tags,
            opts=self.child_opts,
            policy=key_policy(args.partition, args.account_id),
            alias=args.name,
        )
        self.queue = aws.sqs.Queue(
            f"{name}-queue",
            name=args.name,
            message_retention_seconds=QUEUE_RETENTION_SECONDS,
            kms_master_key_id=key.arn,
            tags=tags,
            opts=self.child_opts,
        )
        return key

    def _rules(
        self, name: str, args: NodeLifecycleArgs, tags: dict[str, str]
    ) -> list[pulumi.Output[str]]:
        """The EventBridge rules feeding the queue, their targets and the queue policy admitting
        them; returns the ids that say the queue accepts their events."""
        child = self.child_opts
        rules = {
            rule_key: aws.cloudwatch.EventRule(
                f"{name}-{rule_key}",
                name=f"{args.name}-{rule_key}",
                description=f"{args.cluster_name}: {pattern['detail-type'][0]} -> {args.name}",
                event_pattern=json.dumps(pattern),
                state="ENABLED",
                tags=tags,
                opts=child,
            )
            for rule_key, pattern in event_patterns(list(args.group_names.values())).items()
        }
        policy = aws.sqs.QueuePolicy(
            f"{name}-queue-policy",
            queue_url=self.queue.url,
            policy=pulumi.Output.all(self.queue.arn, *[r.arn for r in rules.values()]).apply(
                lambda v: queue_policy(str(v[0]), [str(a) for a in v[1:]])
            ),
            opts=child,
        )
        targets = [
            aws.cloudwatch.EventTarget(
                f"{name}-{rule_key}-target",
                rule=rule.name,
                target_id=TARGET_ID,
                arn=self.queue.arn,
                opts=child,
            )
            for rule_key, rule in rules.items()
        ]
        return [policy.id, *[t.id for t in targets]]

    def _roles(
        self, name: str, args: NodeLifecycleArgs, tags: dict[str, str], key_arn: pulumi.Output[str]
    ) -> None:
        """The IRSA roles of the termination handler and of Cluster Autoscaler."""
        groups = [
            group_arn(args.partition, args.region, args.account_id, g) for g in args.group_names.values()
        ]
        handler, autoscaler = v4_contract.NODE_TERMINATION_HANDLER, v4_contract.CLUSTER_AUTOSCALER
        self.handler_role = IrsaRole(
            f"{name}-handler-role",
            IrsaRoleArgs(
                name=args.handler_role_name,
                provider_arn=args.provider_arn,
                issuer_host=args.issuer_host,
                namespace=handler.namespace,
                service_account=handler.name,
                statements=handler_statements(self.queue.arn, key_arn, groups),
                tags=tags,
            ),
            self.child_opts,
        )
        self.autoscaler_role = IrsaRole(
            f"{name}-autoscaler-role",
            IrsaRoleArgs(
                name=args.autoscaler_role_name,
                provider_arn=args.provider_arn,
                issuer_host=args.issuer_host,
                namespace=autoscaler.namespace,
                service_account=autoscaler.name,
                statements=autoscaler_statements(args.cluster_name),
                tags=tags,
            ),
            self.child_opts,
        )
