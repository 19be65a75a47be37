"""Stage v4 (cluster): a kubeadm Kubernetes cluster on AWS EC2 that bootstraps itself.

    internet -> app NLB (TLS 443 / TCP 80, public subnets) -> ingress NodePorts on the workers
    VPN / GCP / nodes -> internal API NLB (TCP 6443, IP targets) -> control planes
    private subnets per AZ: control planes (1 or 3), worker ASG, Kafka node ASG (one AZ)
    data subnets per AZ: RDS PostgreSQL Multi-AZ (KMS, force SSL, RDS-managed password)
    IRSA: OIDC discovery + JWKS in a private S3 bucket behind CloudFront, IAM OIDC provider,
          a role for External Secrets limited to looper/<env>/* secrets

Trust chain (DESIGN.md): Pulumi generates the CA, SA key pair, admin cert, bootstrap token,
certificate key and encryption key; they go to Secrets Manager; user data only names the
secrets; every node pins the CA by the hash computed here; the admin kubeconfig is an output.
"""

from __future__ import annotations

from typing import Any

import pulumi

from looper_infra.bootstrap.k8s_node import K8sGpuWorker, K8sNodeBootstrap, render_k8s_node_cloud_config
from looper_infra.components.aws.control_planes import ControlPlaneNodes, ControlPlaneNodesArgs
from looper_infra.components.aws.endpoints import VpcEndpoints, VpcEndpointsArgs
from looper_infra.components.aws.iam import NodeRole, NodeRoleArgs
from looper_infra.components.aws.irsa import IrsaIssuer, IrsaIssuerArgs, IrsaRole, IrsaRoleArgs
from looper_infra.components.aws.nlb import (
    ApiLoadBalancer,
    ApiLoadBalancerArgs,
    AppLoadBalancer,
    AppLoadBalancerArgs,
)
from looper_infra.components.aws.node_group import NodeGroup, NodeGroupArgs
from looper_infra.components.aws.node_launch_template import NodeLaunchTemplate, NodeLaunchTemplateArgs
from looper_infra.components.aws.provider import aws_provider
from looper_infra.components.aws.rds import PostgresDatabase, PostgresDatabaseArgs
from looper_infra.components.aws.secrets import JsonSecret, JsonSecretArgs
from looper_infra.components.aws.security_groups import SecurityGroups, SecurityGroupsArgs
from looper_infra.components.aws.vpc import Vpc, VpcArgs
from looper_infra.components.k8s.pki import ClusterPki, ClusterPkiArgs
from looper_infra.config.v4 import V4Config
from looper_infra.core import naming
from looper_infra.stages.v4_access import ClusterFacts, gcp_side, operator_access

#: Ubuntu 24.04 LTS (amd64, gp3), resolved by EC2 at launch from Canonical's public SSM parameter:
#: a replaced node always boots the current patched image, with no AMI id to maintain.
UBUNTU_AMI = "resolve:ssm:/aws/service/canonical/ubuntu/server/24.04/stable/current/amd64/hvm/ebs-gp3/ami-id"
ECR_READ = "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly"
SSM_CORE = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"
EBS_CSI = "arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy"
#: The External Secrets Operator's service account (issue 7 installs the chart with this name).
ESO_NAMESPACE, ESO_SERVICE_ACCOUNT = "external-secrets", "external-secrets"
#: The EBS CSI controller's (v4-platform installs aws-ebs-csi-driver with this name). It calls EC2
#: through IRSA: pods cannot reach the node role (IMDS hop limit 1), so nodes need no EBS rights.
EBS_CSI_NAMESPACE, EBS_CSI_SERVICE_ACCOUNT = "kube-system", "ebs-csi-controller-sa"
KAFKA_TAINT = "dedicated=kafka:NoSchedule"
#: The Kafka node is one broker in one AZ by design (its volume lives there); declared, so the
#: policy pack reports it as advisory instead of failing the >= 2 AZ rule.
KAFKA_SINGLE_AZ_TAG = "looper/single-az"
KAFKA_SINGLE_AZ_REASON = "one dedicated Kafka broker node; replaced in its AZ by the ASG"


def aws_tags(cfg: V4Config) -> dict[str, str]:
    return {"app": cfg.name_prefix, "env": cfg.env, "stack": pulumi.get_stack(),
            "managed-by": "pulumi", **cfg.labels}


def program(cfg: V4Config) -> None:
    a, net, cl = cfg.aws, cfg.network, cfg.cluster
    env = cfg.env

    def nm(role: str) -> str:
        return naming.name(cfg.name_prefix, env, role)

    cluster_name = nm("k8s")
    provider = aws_provider("aws", region=a.region, account_id=a.account_id, tags=aws_tags(cfg))
    opts = pulumi.ResourceOptions(providers=[provider])

    # --- network ----------------------------------------------------------------------------
    vpc = Vpc("vpc", VpcArgs(
        name_prefix=nm("vpc"), region=a.region, account_id=a.account_id, cidr=str(net.vpc_cidr),
        azs=tuple(a.azs),
        public_cidrs=tuple(map(str, net.public_cidrs)), private_cidrs=tuple(map(str, net.private_cidrs)),
        data_cidrs=tuple(map(str, net.data_cidrs)), nat=net.nat,
        flow_log_retention_days=net.flow_log_retention_days), opts)
    VpcEndpoints("endpoints", VpcEndpointsArgs(
        name_prefix=nm("vpce"), region=a.region, vpc_id=vpc.vpc_id, vpc_cidr=str(net.vpc_cidr),
        subnet_ids=vpc.private_subnet_ids,
        route_table_ids=pulumi.Output.all(vpc.private_route_table_ids, vpc.data_route_table_id).apply(
            lambda v: [*v[0], v[1]])), opts)
    sgs = SecurityGroups("sg", SecurityGroupsArgs(
        name_prefix=nm("sg"), vpc_id=vpc.vpc_id,
        vpn_cidrs=cfg.vpn_cidrs, gcp_cidrs=cfg.gcp_cidrs,
        node_ports=(cfg.ingress.http_node_port, cfg.ingress.redirect_node_port)), opts)

    # --- trust material ---------------------------------------------------------------------
    pki = ClusterPki("pki", ClusterPkiArgs(cluster_name=cluster_name))
    issuer = IrsaIssuer("irsa", IrsaIssuerArgs(
        name_prefix=nm("oidc"), bucket_name=f"{nm('oidc')}-{a.account_id}",
        sa_public_key_pem=pki.sa_public_key_pem), opts)
    cp_secret_name = f"looper-cluster/{env}/control-plane"
    join_secret_name = f"looper-cluster/{env}/join"
    cp_secret = JsonSecret("cp-secret", JsonSecretArgs(
        name=cp_secret_name, description=f"{cluster_name}: control-plane bootstrap material",
        values={"ca_crt": pki.ca_cert_pem, "ca_key": pki.ca_key_pem, "sa_key": pki.sa_private_key_pem,
                "sa_pub": pki.sa_public_key_pem, "token": pki.bootstrap_token,
                "certificate_key": pki.certificate_key, "encryption_key": pki.encryption_key}), opts)
    join_secret = JsonSecret("join-secret", JsonSecretArgs(
        name=join_secret_name, description=f"{cluster_name}: node join token",
        values={"token": pki.bootstrap_token}), opts)

    # --- identities -------------------------------------------------------------------------
    cp_role = NodeRole("cp-role", NodeRoleArgs(
        name=nm("control-plane"), secret_arns=(cp_secret.arn, join_secret.arn),
        managed_policy_arns=(ECR_READ, SSM_CORE)), opts)
    worker_role = NodeRole("worker-role", NodeRoleArgs(
        name=nm("worker"), secret_arns=(join_secret.arn,),
        managed_policy_arns=(ECR_READ, SSM_CORE)), opts)

    # --- load balancers ---------------------------------------------------------------------
    api_lb = ApiLoadBalancer("api-lb", ApiLoadBalancerArgs(
        name=nm("api"), vpc_id=vpc.vpc_id, subnet_ids=vpc.private_subnet_ids,
        security_group_id=sgs.ids["api-nlb"], private_ips=cfg.api_server_addresses(),
        deletion_protection=cl.termination_protection), opts)
    app_lb = AppLoadBalancer("app-lb", AppLoadBalancerArgs(
        name=nm("app"), vpc_id=vpc.vpc_id, subnet_ids=vpc.public_subnet_ids,
        security_group_id=sgs.ids["app-nlb"], domain=cfg.ingress.domain,
        hosted_zone_id=cfg.ingress.hosted_zone_id, certificate_arn=cfg.ingress.certificate_arn,
        node_ports={"http": cfg.ingress.http_node_port, "redirect": cfg.ingress.redirect_node_port},
        deletion_protection=cl.termination_protection), opts)

    # --- nodes ------------------------------------------------------------------------------
    def user_data(*, role: str, init: bool = False, labels: dict[str, str] | None = None,
                  taints: tuple[str, ...] = (), gpu: K8sGpuWorker | None = None) -> pulumi.Output[str]:
        return pulumi.Output.all(api_lb.dns_name, pki.ca_cert_hash, issuer.issuer).apply(
            lambda v: render_k8s_node_cloud_config(K8sNodeBootstrap(
                role=role,  # type: ignore[arg-type]
                cluster_name=cluster_name, control_plane_endpoint=v[0], ca_cert_hash=v[1],
                pod_cidr=str(cl.pod_cidr), service_cidr=str(cl.service_cidr),
                calico_mtu=cl.calico_mtu, region=a.region,
                secret_backend="aws",  # noqa: S106 (a backend name, not a secret)
                join_secret_id=join_secret_name,
                control_plane_secret_id=cp_secret_name if role == "control-plane" else None,
                service_account_issuer=v[2] if role == "control-plane" else None,
                init_node=init, control_plane_count=cl.control_plane_count,
                node_labels=labels or {}, node_taints=taints, gpu=gpu,
                api_server_addresses=cfg.api_server_addresses())))

    control_planes = ControlPlaneNodes("control-plane", ControlPlaneNodesArgs(
        name_prefix=nm("cp"), count=cl.control_plane_count, image_id=UBUNTU_AMI,
        instance_type=cl.control_plane_instance_type, subnet_ids=vpc.private_subnet_ids,
        security_group_ids=(sgs.ids["control-plane"],),
        instance_profile=cp_role.instance_profile_name, volume_gb=cl.control_plane_volume_gb,
        user_data=[user_data(role="control-plane", init=i == 0) for i in range(cl.control_plane_count)],
        api_target_group_arn=api_lb.target_group_arn, gzip_user_data=True,
        termination_protection=cl.termination_protection), opts)

    w = cfg.workers
    worker_lt = NodeLaunchTemplate("worker-lt", NodeLaunchTemplateArgs(
        name_prefix=nm("worker"), image_id=UBUNTU_AMI, instance_type=w.instance_type,
        instance_profile=worker_role.instance_profile_name, security_group_ids=(sgs.ids["worker"],),
        user_data=user_data(role="worker"), volume_gb=w.volume_gb, node_role="worker",
        gzip_user_data=True), opts)
    workers = NodeGroup("workers", NodeGroupArgs(
        name=nm("workers"), launch_template_id=worker_lt.id, launch_template_version=worker_lt.latest_version,
        subnet_ids=vpc.private_subnet_ids, min_size=w.min_size, max_size=w.max_size, desired=w.desired,
        target_group_arns=list(app_lb.target_group_arns.values()), node_role="worker"), opts)

    k = cfg.kafka_node
    kafka_lt = NodeLaunchTemplate("kafka-lt", NodeLaunchTemplateArgs(
        name_prefix=nm("kafka"), image_id=UBUNTU_AMI, instance_type=k.instance_type,
        instance_profile=worker_role.instance_profile_name, security_group_ids=(sgs.ids["worker"],),
        user_data=user_data(role="worker", labels={"dedicated": "kafka"}, taints=(KAFKA_TAINT,)),
        volume_gb=k.volume_gb, node_role="kafka", gzip_user_data=True), opts)
    kafka_subnet = vpc.private_subnet_ids.apply(lambda ids: [ids[a.azs.index(k.az)]])
    kafka = NodeGroup("kafka", NodeGroupArgs(
        name=nm("kafka"), launch_template_id=kafka_lt.id, launch_template_version=kafka_lt.latest_version,
        subnet_ids=kafka_subnet, min_size=1, max_size=1, desired=1, target_group_arns=[],
        node_role="kafka", tags={KAFKA_SINGLE_AZ_TAG: KAFKA_SINGLE_AZ_REASON}), opts)

    gpu_group = None
    if cfg.gpu_workers is not None:
        gw = cfg.gpu_workers
        gpu_lt = NodeLaunchTemplate("gpu-lt", NodeLaunchTemplateArgs(
            name_prefix=nm("gpu"), image_id=UBUNTU_AMI, instance_type=gw.instance_type,
            instance_profile=worker_role.instance_profile_name, security_group_ids=(sgs.ids["worker"],),
            user_data=user_data(role="worker", gpu=K8sGpuWorker(
                accelerator=gw.accelerator, count=gw.gpus_per_node, model=gw.gpu_model)),
            volume_gb=gw.volume_gb, node_role="gpu", gzip_user_data=True), opts)
        gpu_group = NodeGroup("gpu-workers", NodeGroupArgs(
            name=nm("gpu"), launch_template_id=gpu_lt.id, launch_template_version=gpu_lt.latest_version,
            subnet_ids=vpc.private_subnet_ids, min_size=gw.min_size, max_size=gw.max_size,
            desired=gw.desired, target_group_arns=[], node_role="gpu"), opts)

    # --- private access and GCP (stages/v4_access.py) -----------------------------------------
    facts = ClusterFacts(nm=nm, vpc=vpc, aws_provider=provider, image_id=UBUNTU_AMI,
                         cluster_name=cluster_name, api_endpoint=api_lb.dns_name,
                         ca_cert_hash=pki.ca_cert_hash, join_token=pki.bootstrap_token)
    access = operator_access(cfg, facts)
    hybrid = gcp_side(cfg, facts, access) if cfg.gcp is not None else {}

    # --- database ---------------------------------------------------------------------------
    d = cfg.database
    db = PostgresDatabase("db", PostgresDatabaseArgs(
        identifier=nm("db"), subnet_ids=vpc.data_subnet_ids, security_group_ids=(sgs.ids["rds"],),
        engine_version=d.engine_version, instance_class=d.instance_class,
        allocated_storage_gb=d.allocated_storage_gb, max_allocated_storage_gb=d.max_allocated_storage_gb,
        multi_az=d.multi_az, backup_retention_days=d.backup_retention_days,
        backup_window=d.backup_window, maintenance_window=d.maintenance_window,
        deletion_protection=d.deletion_protection, final_snapshot=d.final_snapshot,
        performance_insights=d.performance_insights, monitoring_interval=d.monitoring_interval_sec,
        db_name=d.db_name, username=d.username), opts)

    # --- IRSA: External Secrets reads looper/<env>/* only --------------------------------------
    eso = IrsaRole("eso-role", IrsaRoleArgs(
        name=nm("external-secrets"), provider_arn=issuer.provider_arn, issuer_host=issuer.issuer_host,
        namespace=ESO_NAMESPACE, service_account=ESO_SERVICE_ACCOUNT,
        statements=[{"Effect": "Allow",
                     "Action": ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
                     "Resource": f"arn:aws:secretsmanager:{a.region}:{a.account_id}:secret:looper/{env}/*"}]),
        opts)

    ebs_csi = IrsaRole("ebs-csi-role", IrsaRoleArgs(
        name=nm("ebs-csi"), provider_arn=issuer.provider_arn, issuer_host=issuer.issuer_host,
        namespace=EBS_CSI_NAMESPACE, service_account=EBS_CSI_SERVICE_ACCOUNT,
        managed_policy_arns=(EBS_CSI,)), opts)

    server = api_lb.dns_name.apply(lambda h: f"https://{h}:6443")
    outputs: dict[str, Any] = {
        "kubeconfig": pki.kubeconfig(cluster_name=cluster_name, server=server),
        "api_endpoint": server,
        "ca_cert_hash": pki.ca_cert_hash,
        "oidc_issuer": issuer.issuer,
        "oidc_issuer_host": issuer.issuer_host,
        "oidc_provider_arn": issuer.provider_arn,
        "app_nlb_dns_name": app_lb.dns_name,
        "url": f"https://{cfg.ingress.domain}",
        "rds_endpoint": db.endpoint,
        "rds_secret_arn": db.master_user_secret_arn,
        "ingress_node_ports": {"http": cfg.ingress.http_node_port,
                               "redirect": cfg.ingress.redirect_node_port},
        "region": a.region,
        "env": env,
        "eso_role_arn": eso.arn,
        "ebs_csi_role_arn": ebs_csi.arn,
        "control_plane_instance_ids": control_planes.instance_ids,
        "node_asg_names": {"workers": workers.name, "kafka": kafka.name,
                           **({"gpu": gpu_group.name} if gpu_group is not None else {})},
        "api_server_addresses": list(cfg.api_server_addresses()),
        **(access.outputs or {}),
        **hybrid,
        "vpc_id": vpc.vpc_id,
        "private_route_table_ids": vpc.private_route_table_ids,
    }
    for key, value in outputs.items():
        pulumi.export(key, value)
