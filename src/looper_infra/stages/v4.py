"""Stage v4: a kubeadm Kubernetes cluster on AWS EC2 that bootstraps itself, reached privately.

    internet -> app NLB (TLS 443 / TCP 80, public subnets) -> ingress NodePorts on the workers
    VPN / GCP / nodes -> internal API NLB (TCP 6443, instance targets) -> control planes (ASGs of one)
    private subnets per AZ: control planes (1 or 3), worker pool, Kafka pool (one AZ), GPU pool
    node lifecycle: termination hooks on the pools -> EventBridge -> SQS (KMS) -> the handler (IRSA);
                    Cluster Autoscaler's IRSA role and discovery tags on the workers and GPU pools
    data subnets per AZ: RDS PostgreSQL Multi-AZ (KMS, force SSL, RDS-managed password)
    operators -- OpenVPN (access VPC) -- peering or transit gateway --> K8s VPC (and GCP)
    GCP: VPC + Cloud NAT (the GCP foundation), HA VPN with BGP, the L4 GPU node

The cluster's trust chain (docs/architecture.md) lives in `KubeadmCluster`; this program maps
the stack config to components and exports what operators and stage v4-platform use.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import pulumi

from looper_infra.components.aws.endpoints import VpcEndpoints, VpcEndpointsArgs
from looper_infra.components.aws.kubeadm_cluster import (
    ClusterPlacement,
    ControlPlaneRecovery,
    ControlPlaneSpec,
    KubeadmCluster,
    KubeadmClusterArgs,
    PodNetwork,
)
from looper_infra.components.aws.nlb import AppLoadBalancer, AppLoadBalancerArgs
from looper_infra.components.aws.provider import aws_provider
from looper_infra.components.aws.rds import master_secret_reader_statements
from looper_infra.components.aws.security_groups import SecurityGroups, SecurityGroupsArgs
from looper_infra.components.aws.vpc import Vpc, VpcArgs
from looper_infra.config.v4 import V4Config
from looper_infra.core import naming
from looper_infra.core.tags import aws_tags
from looper_infra.rules.aws_security_groups import KUBE_PROXY_HEALTH
from looper_infra.stages import v4_parts


def program(cfg: V4Config) -> None:
    a, net, cl = cfg.aws, cfg.network, cfg.cluster
    nm = partial(naming.name, cfg.name_prefix, cfg.env)
    provider = aws_provider("aws", region=a.region, account_id=a.account_id, tags=aws_tags(
        app=cfg.name_prefix, env=cfg.env, stack=pulumi.get_stack(), extra=cfg.labels))
    opts = pulumi.ResourceOptions(providers=[provider])

    vpc = Vpc("vpc", VpcArgs(
        name_prefix=nm("vpc"), region=a.region, account_id=a.account_id, cidr=str(net.vpc_cidr),
        azs=tuple(a.azs), public_cidrs=tuple(map(str, net.public_cidrs)),
        private_cidrs=tuple(map(str, net.private_cidrs)), data_cidrs=tuple(map(str, net.data_cidrs)),
        nat=net.nat, flow_log_retention_days=net.flow_log_retention_days), opts)
    VpcEndpoints("endpoints", VpcEndpointsArgs(
        name_prefix=nm("vpce"), region=a.region, vpc_id=vpc.vpc_id, vpc_cidr=str(net.vpc_cidr),
        subnet_ids=vpc.private_subnet_ids, route_table_ids=pulumi.Output.all(
            vpc.private_route_table_ids, vpc.data_route_table_id).apply(lambda v: [*v[0], v[1]])), opts)
    sgs = SecurityGroups("sg", SecurityGroupsArgs(
        name_prefix=nm("sg"), vpc_id=vpc.vpc_id, vpn_cidrs=cfg.vpn_cidrs, gcp_cidrs=cfg.gcp_cidrs,
        node_ports=(cfg.ingress.http_node_port, cfg.ingress.redirect_node_port)), opts)

    cluster = KubeadmCluster("cluster", KubeadmClusterArgs(
        name_prefix=cfg.name_prefix, env=cfg.env, region=a.region, account_id=a.account_id,
        placement=ClusterPlacement(
            vpc_id=vpc.vpc_id, private_subnet_ids=vpc.private_subnet_ids,
            control_plane_security_group_id=sgs.ids["control-plane"],
            api_lb_security_group_id=sgs.ids["api-nlb"], api_server_addresses=cfg.api_server_addresses()),
        control_planes=ControlPlaneSpec(cl.control_plane_count, cl.control_plane_instance_type,
                                        cl.control_plane_volume_gb, cl.kubernetes_version),
        node_kubernetes_version=cl.effective_node_kubernetes_version,
        network=PodNetwork(str(cl.pod_cidr), str(cl.service_cidr), cl.calico_mtu),
        recovery=ControlPlaneRecovery(
            snapshot_interval_minutes=cl.etcd_backups.interval_minutes,
            keep_recent_days=cl.etcd_backups.keep_recent_days,
            keep_daily_days=cl.etcd_backups.keep_daily_days, object_lock=cl.etcd_backups.object_lock,
            restore_snapshot=cl.etcd_backups.restore_snapshot,
            bootstrap_token_ttl_hours=cl.bootstrap_token_ttl_hours,
            audit_log_retention_days=cl.audit_log_retention_days,
            health_grace_seconds=cl.control_plane_health_grace_seconds),
        termination_protection=cl.termination_protection), opts)
    app_lb = AppLoadBalancer("app-lb", AppLoadBalancerArgs(
        name=nm("app"), vpc_id=vpc.vpc_id, subnet_ids=vpc.public_subnet_ids,
        security_group_id=sgs.ids["app-nlb"], domain=cfg.ingress.domain,
        hosted_zone_id=cfg.ingress.hosted_zone_id, certificate_arn=cfg.ingress.certificate_arn,
        node_ports={"http": cfg.ingress.http_node_port, "redirect": cfg.ingress.redirect_node_port},
        deletion_protection=cl.termination_protection,
        health_check_allowed=(sgs.rule_ids[f"worker-in-tcp-{KUBE_PROXY_HEALTH}-from-app-nlb"],
                              sgs.rule_ids[f"app-nlb-out-tcp-{KUBE_PROXY_HEALTH}-to-worker"])), opts)
    pools = v4_parts.node_pools(cfg, cluster, vpc, worker_sg=sgs.ids["worker"], app_lb=app_lb, opts=opts)
    lifecycle = v4_parts.node_lifecycle_parts(cfg, cluster, pools, opts)

    access = v4_parts.operator_access(cfg, vpc, cluster, opts) if cfg.openvpn is not None else None
    transit = v4_parts.transit_hub(cfg, vpc, access, opts)
    gcp = v4_parts.gcp_side(cfg, cluster, vpc, transit, aws=provider) if cfg.gcp is not None else {}

    db = v4_parts.database(cfg, vpc, rds_sg=sgs.ids["rds"], opts=opts)
    # External Secrets syncs the RDS master secret into the cluster (stage v4-platform)
    cluster.external_secrets_role.grant("rds-secret", master_secret_reader_statements(
        db.master_user_secret_arn, db.kms_key_arn, region=a.region, account_id=a.account_id))

    outputs: dict[str, Any] = {
        **v4_parts.cluster_outputs(cfg, cluster),
        "app_nlb_dns_name": app_lb.dns_name,
        "url": f"https://{cfg.ingress.domain}",
        "rds_endpoint": db.endpoint,
        "rds_secret_arn": db.master_user_secret_arn,
        "node_asg_names": {key: pool.name for key, pool in pools.items()},
        **v4_parts.node_lifecycle_outputs(cfg, lifecycle),
        **(access.outputs if access is not None else {}),
        **gcp,
        "vpc_id": vpc.vpc_id,
        "private_route_table_ids": vpc.private_route_table_ids,
    }
    for key, value in outputs.items():
        pulumi.export(key, value)
