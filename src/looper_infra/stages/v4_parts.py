"""Stage v4's parts beyond the K8s VPC and the cluster: each maps a config section onto components.

`connectivity.mode: peering` never creates a route to GCP from the access VPC: peering is
non-transitive, so AWS would not carry it (docs/architecture.md); operators reach GCP only through
a transit gateway.
"""

from __future__ import annotations

import dataclasses
from functools import partial
from ipaddress import IPv4Network
from typing import Any

import pulumi

from looper_infra.components.aws import node_lifecycle
from looper_infra.components.aws.kubeadm_cluster import UBUNTU_AMI, KubeadmCluster, NodeKind
from looper_infra.components.aws.nlb import AppLoadBalancer
from looper_infra.components.aws.node_group import InstanceRefreshSpec, TerminationHook
from looper_infra.components.aws.node_lifecycle import NodeLifecycle, NodeLifecycleArgs
from looper_infra.components.aws.node_pool import NodePool, NodePoolArgs, PoolSize
from looper_infra.components.aws.operator_access import (
    AccessNetwork,
    ClusterVpcRef,
    OperatorAccess,
    OperatorAccessArgs,
    VpnServerSpec,
)
from looper_infra.components.aws.provider import partition
from looper_infra.components.aws.rds import PostgresDatabase, PostgresDatabaseArgs
from looper_infra.components.aws.transit import TransitHub, TransitHubArgs, TransitVpc
from looper_infra.components.aws.vpc import Vpc
from looper_infra.config.v4 import V4Config
from looper_infra.core import naming
from looper_infra.facts import v4_contract
from looper_infra.rules import ha_vpn

#: Each Kafka node is one broker in one AZ by design (its volume lives there); declared, so the
#: policy pack reports it as advisory instead of failing the >= 2 AZ rule.
KAFKA_SINGLE_AZ_TAG = "looper/single-az"
KAFKA_SINGLE_AZ_REASON = "one dedicated Kafka broker node; replaced in its AZ by the ASG"
KAFKA_NODES = NodeKind(labels={"dedicated": "kafka"}, taints=("dedicated=kafka:NoSchedule",))
#: the extended resource the NVIDIA device plugin advertises
GPU_RESOURCE = "nvidia.com/gpu"


def node_pools(cfg: V4Config, cluster: KubeadmCluster, vpc: Vpc, *, worker_sg: pulumi.Input[str],
               app_lb: AppLoadBalancer, opts: pulumi.ResourceOptions) -> dict[str, NodePool]:
    """The worker pool (behind the app NLB), the Kafka pools (one per Kafka AZ), the AWS GPU pool.

    Every pool's group has the termination hook (drain timeout from config) and rolls by instance
    refresh (config). Workers and GPU workers are Cluster Autoscaler's (discovery tags; the GPU
    pool also scale-from-zero hints); the Kafka groups are not: each holds one broker whose volume
    lives in its AZ, fixed at one node. The workers use ELB health: the app NLB checks kube-proxy
    on each node (nlb.py), not the ingress NodePort.
    """
    from looper_infra.bootstrap.k8s_node import K8sGpuWorker

    nm = partial(naming.name, cfg.name_prefix, cfg.env)
    template = partial(cluster.node_template, security_group_ids=(worker_sg,))
    w, k, lc = cfg.workers, cfg.kafka_node, cfg.node_lifecycle
    refresh = InstanceRefreshSpec(
        min_healthy_percentage=lc.instance_refresh.min_healthy_percentage,
        checkpoint_percentages=tuple(lc.instance_refresh.checkpoint_percentages),
        checkpoint_delay_sec=lc.instance_refresh.checkpoint_delay_seconds)
    lifecycle = partial(NodePoolArgs, termination_hook=TerminationHook(
        node_lifecycle.hook_heartbeat_seconds(lc.drain_timeout_seconds)), refresh=refresh)
    discovery = v4_contract.autoscaler_discovery_tags(cluster.cluster_name)
    pools = {
        "workers": NodePool("workers", lifecycle(
            template=template(name_prefix=nm("worker"), node_role="worker", instance_type=w.instance_type,
                              volume_gb=w.volume_gb),
            group_name=nm("workers"), subnet_ids=vpc.private_subnet_ids,
            size=PoolSize(w.min_size, w.desired, w.max_size),
            target_group_arns=list(app_lb.target_group_arns.values()), template_resource_name="worker-lt",
            health_check_type="ELB", autoscaled=True, group_tags=discovery),
            opts),
    }
    for key, az in kafka_pool_zones(cfg).items():
        pools[key] = NodePool(key, lifecycle(
            template=template(name_prefix=nm(key), node_role="kafka", instance_type=k.instance_type,
                              volume_gb=k.volume_gb, kind=KAFKA_NODES),
            group_name=nm(key), size=PoolSize(1, 1, 1),
            subnet_ids=vpc.private_subnet_ids.apply(partial(_subnet_of, index=cfg.aws.azs.index(az))),
            group_tags={KAFKA_SINGLE_AZ_TAG: KAFKA_SINGLE_AZ_REASON},
            # a group of one (max 1): its node is replaced terminate-first, on purpose; the
            # broker's volume can follow only once the old pod is gone anyway
            refresh=dataclasses.replace(refresh, min_healthy_percentage=0)), opts)
    if cfg.gpu_workers is not None:
        g = cfg.gpu_workers
        gpu = NodeKind(gpu=K8sGpuWorker(accelerator=g.accelerator, count=g.gpus_per_node, model=g.gpu_model))
        pools["gpu"] = NodePool("gpu-workers", lifecycle(
            template=template(name_prefix=nm("gpu"), node_role="gpu", instance_type=g.instance_type,
                              volume_gb=g.volume_gb, kind=gpu),
            group_name=nm("gpu"), subnet_ids=vpc.private_subnet_ids,
            size=PoolSize(g.min_size, g.desired, g.max_size), template_resource_name="gpu-lt",
            autoscaled=True, group_tags={**discovery, **scale_from_zero_tags(gpu)}), opts)
    return pools


def kafka_pool_zones(cfg: V4Config) -> dict[str, str]:
    """Kafka pool key -> its AZ. The first is `kafka` (the single group of before, same resources);
    the others are keyed by their zone, so a change of order replaces nothing."""
    zones = cfg.kafka_node.zones(cfg.aws.azs)
    return {"kafka": zones[0], **{f"kafka-{az}": az for az in zones[1:]}}


def _subnet_of(ids: list[str], *, index: int) -> list[str]:
    return [ids[index]]


def scale_from_zero_tags(kind: NodeKind) -> dict[str, str]:
    """Cluster Autoscaler's node-template tags of a pool: the labels and taints its nodes register
    with (the bootstrap's: the kind's own, then the GPU's) and its GPUs."""
    from looper_infra.bootstrap.k8s_node.spec import GPU_TAINT

    labels, taints = dict(kind.labels), list(kind.taints)
    resources: dict[str, int | str] = {}
    if kind.gpu is not None:
        labels |= kind.gpu.labels
        taints.append(GPU_TAINT)
        resources[GPU_RESOURCE] = kind.gpu.count
    return node_lifecycle.autoscaler_node_template(labels, taints, resources)


def node_lifecycle_parts(cfg: V4Config, cluster: KubeadmCluster, pools: dict[str, NodePool],
                         opts: pulumi.ResourceOptions) -> NodeLifecycle:
    """The termination handler's queue and rules, and the handler's and the autoscaler's roles."""
    nm = partial(naming.name, cfg.name_prefix, cfg.env)
    a = cfg.aws
    return NodeLifecycle("node-lifecycle", NodeLifecycleArgs(
        name=nm("node-termination"), cluster_name=cluster.cluster_name, region=a.region,
        account_id=a.account_id, partition=partition(a.region),
        group_names={key: pool.group_name for key, pool in pools.items()},
        provider_arn=cluster.issuer.provider_arn, issuer_host=cluster.issuer.issuer_host,
        handler_role_name=nm("node-termination-handler"), autoscaler_role_name=nm("cluster-autoscaler")),
        opts)


def node_lifecycle_outputs(cfg: V4Config, lifecycle: NodeLifecycle) -> dict[str, Any]:
    """What the platform's node-lifecycle controllers read (facts.v4_contract.NODE_LIFECYCLE_OUTPUTS)."""
    return {
        "node_termination_queue_url": lifecycle.queue_url,
        "node_termination_role_arn": lifecycle.handler_role_arn,
        "cluster_autoscaler_role_arn": lifecycle.autoscaler_role_arn,
        "node_drain_timeout_seconds": cfg.node_lifecycle.drain_timeout_seconds,
    }


def database(cfg: V4Config, vpc: Vpc, *, rds_sg: pulumi.Input[str],
             opts: pulumi.ResourceOptions) -> PostgresDatabase:
    """RDS PostgreSQL in the data subnets (Multi-AZ, KMS, force SSL, RDS-managed password)."""
    d = cfg.database
    return PostgresDatabase("db", PostgresDatabaseArgs(
        identifier=naming.name(cfg.name_prefix, cfg.env, "db"), subnet_ids=vpc.data_subnet_ids,
        security_group_ids=(rds_sg,),
        engine_version=d.engine_version, instance_class=d.instance_class,
        allocated_storage_gb=d.allocated_storage_gb, max_allocated_storage_gb=d.max_allocated_storage_gb,
        multi_az=d.multi_az, backup_retention_days=d.backup_retention_days,
        backup_window=d.backup_window, maintenance_window=d.maintenance_window,
        deletion_protection=d.deletion_protection, final_snapshot=d.final_snapshot,
        performance_insights=d.performance_insights, monitoring_interval=d.monitoring_interval_sec,
        db_name=d.db_name, username=d.username), opts)


def operator_access(cfg: V4Config, vpc: Vpc, cluster: KubeadmCluster,
                    opts: pulumi.ResourceOptions) -> OperatorAccess:
    o, a = cfg.openvpn, cfg.aws
    assert o is not None
    return OperatorAccess("operator-access", OperatorAccessArgs(
        name_prefix=cfg.name_prefix, env=cfg.env, region=a.region, account_id=a.account_id,
        azs=tuple(a.azs), image_id=UBUNTU_AMI,
        network=AccessNetwork(cidr=str(o.vpc_cidr),
                              public_cidrs=tuple(str(c) for c in o.effective_public_cidrs(len(a.azs))),
                              flow_log_retention_days=cfg.network.flow_log_retention_days),
        server=VpnServerSpec(
            users=tuple(o.users), revoked=tuple(o.revoked),
            client_cidrs=tuple(str(c) for c in o.client_cidrs),
            admin_ssh_cidrs={k: str(v) for k, v in o.admin_ssh_cidrs.items()}, pool_cidr=str(o.pool_cidr),
            instance_type=o.instance_type, log_retention_days=o.log_retention_days,
            termination_protection=cfg.cluster.termination_protection),
        cluster_vpc=ClusterVpcRef(cidr=str(cfg.network.vpc_cidr), vpc_id=vpc.vpc_id,
                                  route_table_ids=dict(vpc.private_route_tables)),
        secrets_key_arn=cluster.secrets_key_arn,
        transit_gateway=cfg.connectivity.mode == "transit-gateway", gcp_cidrs=cfg.gcp_cidrs), opts)


def transit_hub(cfg: V4Config, vpc: Vpc, access: OperatorAccess | None,
                opts: pulumi.ResourceOptions) -> TransitHub | None:
    """Transit mode only: a TGW with the K8s VPC, the access VPC (if any) and, later, the VPN."""
    if cfg.connectivity.mode != "transit-gateway":
        return None
    k8s = TransitVpc(vpc_id=vpc.vpc_id, cidr=str(cfg.network.vpc_cidr), subnet_ids=vpc.private_subnet_ids,
                     route_table_ids=dict(vpc.private_route_tables))
    vpcs = {"k8s": k8s}
    if access is not None:
        vpcs["access"] = TransitVpc(vpc_id=access.vpc.vpc_id, cidr=access.vpc.cidr,
                                    subnet_ids=access.vpc.public_subnet_ids,
                                    route_table_ids={"public": access.vpc.public_route_table_id})
    return TransitHub("transit", TransitHubArgs(
        name_prefix=naming.name(cfg.name_prefix, cfg.env, "hub"), vpcs=vpcs, remote_cidrs=cfg.gcp_cidrs,
        amazon_side_asn=cfg.gcp.vpn.aws_asn if cfg.gcp else ha_vpn.DEFAULT_AWS_ASN), opts)


def gcp_side(cfg: V4Config, cluster: KubeadmCluster, vpc: Vpc, transit: TransitHub | None, *,
             aws: pulumi.ProviderResource) -> dict[str, Any]:
    """The GCP foundation (provider, VPC, Cloud NAT: the one v1-v3 build on) and the spoke on it;
    returns the spoke's outputs."""
    # pulumi_gcp costs seconds of imports: only a stack with a GCP side pays for it
    from looper_infra.components.gcp.k8s_gpu_node import K8sJoin
    from looper_infra.components.gcp.spoke import GcpSpoke, GcpSpokeArgs, GpuNodeSpec, VpnSpec
    from looper_infra.components.hybrid_vpn import VgwSide
    from looper_infra.stages.foundation import FoundationNames, gcp_foundation

    g, cl = cfg.gcp, cfg.cluster
    assert g is not None
    base = gcp_foundation(
        name_prefix=cfg.name_prefix, env=cfg.env, stack=pulumi.get_stack(), labels=cfg.labels,
        project=g.project, region=g.region, zone=g.zone, subnets={"nodes": str(g.subnet_cidr)}, nat=True,
        names=FoundationNames(network="gcp-vpc", nat="gcp-nat", vpc_role="gcp"))
    network = base.network
    gpu = None
    if g.gpu_node is not None:
        gpu = GpuNodeSpec(
            cluster=K8sJoin(
                cluster_name=cluster.cluster_name, control_plane_endpoint=cluster.api_lb.dns_name,
                api_server_addresses=cfg.api_server_addresses(), ca_cert_hash=cluster.pki.ca_cert_hash,
                join_token=cluster.pki.bootstrap_token, pod_cidr=str(cl.pod_cidr),
                service_cidr=str(cl.service_cidr), calico_mtu=cl.calico_mtu,
                control_plane_count=cl.control_plane_count,
                kubernetes_version=cl.effective_node_kubernetes_version),
            machine_type=g.gpu_node.machine_type, boot_disk_gb=g.gpu_node.boot_disk_gb,
            provisioning_model=g.gpu_node.scheduling.provisioning_model,
            termination_action=g.gpu_node.scheduling.termination_action)
    side = (transit.vpn_side() if transit is not None else
            VgwSide(vpc_id=vpc.vpc_id, route_table_ids=dict(vpc.private_route_tables),
                    amazon_side_asn=g.vpn.aws_asn))
    spoke = GcpSpoke("gcp-spoke", GcpSpokeArgs(
        name_prefix=cfg.name_prefix, env=cfg.env, project=g.project, region=g.region, zone=g.zone,
        network=network.self_link, vpc_cidr=str(g.vpc_cidr),
        nodes_subnetwork=network.subnet_self_links["nodes"],
        aws_cidrs={"k8s-vpc": cfg.network.vpc_cidr, "pods": cfg.cluster.pod_cidr},
        scraper_cidrs={f"nodes-{i}": c for i, c in enumerate(cfg.network.private_cidrs)},
        vpn=VpnSpec(aws=side, cloud_router_asn=g.vpn.cloud_router_asn, inside_cidrs=dict(g.vpn.inside_cidrs),
                    cipher_suite=g.vpn.cipher_suite, aws_provider=aws, gcp_provider=base.provider),
        operator_cidr=IPv4Network(cfg.openvpn.vpc_cidr) if transit is not None and cfg.openvpn else None,
        gpu_node=gpu), base.opts)
    return spoke.outputs


def cluster_outputs(cfg: V4Config, cluster: KubeadmCluster) -> dict[str, Any]:
    """What operators and stage v4-platform read of the cluster (facts.v4_contract.CLUSTER_OUTPUTS)."""
    return {
        "kubeconfig": cluster.kubeconfig,
        "api_endpoint": cluster.api_endpoint,
        "api_server_addresses": list(cfg.api_server_addresses()),
        "ca_cert_hash": cluster.pki.ca_cert_hash,
        "control_plane_groups": cluster.control_planes.group_names,
        "oidc_issuer": cluster.issuer.issuer,
        "oidc_issuer_host": cluster.issuer.issuer_host,
        "oidc_provider_arn": cluster.issuer.provider_arn,
        "eso_role_arn": cluster.external_secrets_role.arn,
        "ebs_csi_role_arn": cluster.ebs_csi_role.arn,
        "ingress_node_ports": {"http": cfg.ingress.http_node_port,
                               "redirect": cfg.ingress.redirect_node_port},
        "region": cfg.aws.region,
        "env": cfg.env,
        "cluster_name": cluster.cluster_name,
        # the control planes' release (config); the kubelets' (facts.v4_contract)
        "kubernetes_version": cfg.cluster.kubernetes_version,
        "node_kubernetes_version": cfg.cluster.effective_node_kubernetes_version,
        "node_networks": node_networks(cfg),
    }


def node_networks(cfg: V4Config) -> dict[str, dict[str, Any]]:
    """Where the cluster's nodes live and how they are named (facts.v4_contract.KUBELET_SERVING_OUTPUTS):
    the kubelet-serving CSR approver (v4-platform) approves only these names and addresses."""
    out: dict[str, dict[str, Any]] = {"aws": {
        "cidr": str(cfg.network.vpc_cidr), "name_regex": v4_contract.ec2_node_name_regex(cfg.aws.region),
        # the VPC resolver answers the instances' private DNS names (enable_dns_hostnames)
        "resolvable": True}}
    g = cfg.gcp
    if g is not None and g.gpu_node is not None:
        out["gcp"] = {
            "cidr": str(g.subnet_cidr),
            "name_regex": v4_contract.gce_node_name_regex(naming.name(cfg.name_prefix, cfg.env, "gpu"),
                                                          g.zone, g.project),
            # GCP's internal DNS answers only inside GCP: nothing forwards *.internal from AWS
            "resolvable": False}
    return out
