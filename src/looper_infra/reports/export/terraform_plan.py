"""Export an offline plan as Terraform plan JSON (`terraform show -json` of a plan).

The point is static analysis: checkov's `terraform_plan` framework (and other scanners
that read Terraform plan JSON) can then check what a stage would create. Only what those
scanners read is produced:

* `planned_values.root_module.resources[]`: `address`, `mode`, `type`, `name`,
  `provider_name`, `schema_version`, `values`, `sensitive_values`;
* `resource_changes[]`: the same identity plus `change.actions == ["create"]` and
  `change.after` (checkov reads the values from here);
* `configuration.root_module.resources[]`: address, type, name, provider key and
  `expressions` holding only the references between resources (from Pulumi's property
  dependencies): checkov builds its resource graph from them.

Values follow the Terraform provider schema, not Pulumi's: keys in snake_case, nested objects
as single-element lists (Terraform blocks) except map attributes (`labels`, `metadata`, ...),
and a few list-of-block inputs renamed to Terraform's singular block names
(`networkInterfaces` -> `network_interface`, `allows` -> `allow`, ...). Pulumi component
resources and providers are not exported. Secrets stay the `[secret]` placeholder.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, Protocol

import yaml

FORMAT_VERSION = "1.2"
TERRAFORM_VERSION = "1.9.8"

GOOGLE = "registry.terraform.io/hashicorp/google"
RANDOM = "registry.terraform.io/hashicorp/random"
AWS = "registry.terraform.io/hashicorp/aws"
TLS = "registry.terraform.io/hashicorp/tls"
KUBERNETES = "registry.terraform.io/hashicorp/kubernetes"
HELM = "registry.terraform.io/hashicorp/helm"
#: Terraform type prefix -> provider (anything else is google)
PROVIDERS: dict[str, str] = {"aws_": AWS, "random_": RANDOM, "tls_": TLS, "kubernetes_": KUBERNETES,
                             "helm_": HELM}

#: Pulumi type token -> Terraform resource type, for every custom resource the stages create
#: (tests/reports/export/test_terraform_plan.py fails when a stage starts using a type missing here).
TYPE_MAP: dict[str, str] = {
    "gcp:compute/address:Address": "google_compute_address",
    "gcp:compute/backendService:BackendService": "google_compute_backend_service",
    "gcp:compute/disk:Disk": "google_compute_disk",
    "gcp:compute/diskResourcePolicyAttachment:DiskResourcePolicyAttachment":
        "google_compute_disk_resource_policy_attachment",
    "gcp:compute/firewall:Firewall": "google_compute_firewall",
    "gcp:compute/globalAddress:GlobalAddress": "google_compute_global_address",
    "gcp:compute/globalForwardingRule:GlobalForwardingRule": "google_compute_global_forwarding_rule",
    "gcp:compute/healthCheck:HealthCheck": "google_compute_health_check",
    "gcp:compute/instance:Instance": "google_compute_instance",
    "gcp:compute/instanceTemplate:InstanceTemplate": "google_compute_instance_template",
    "gcp:compute/managedSslCertificate:ManagedSslCertificate": "google_compute_managed_ssl_certificate",
    "gcp:compute/network:Network": "google_compute_network",
    "gcp:compute/regionAutoscaler:RegionAutoscaler": "google_compute_region_autoscaler",
    "gcp:compute/regionInstanceGroupManager:RegionInstanceGroupManager":
        "google_compute_region_instance_group_manager",
    "gcp:compute/resourcePolicy:ResourcePolicy": "google_compute_resource_policy",
    "gcp:compute/router:Router": "google_compute_router",
    "gcp:compute/routerNat:RouterNat": "google_compute_router_nat",
    "gcp:compute/securityPolicy:SecurityPolicy": "google_compute_security_policy",
    "gcp:compute/sSLPolicy:SSLPolicy": "google_compute_ssl_policy",
    "gcp:compute/subnetwork:Subnetwork": "google_compute_subnetwork",
    "gcp:compute/targetHttpProxy:TargetHttpProxy": "google_compute_target_http_proxy",
    "gcp:compute/targetHttpsProxy:TargetHttpsProxy": "google_compute_target_https_proxy",
    "gcp:compute/uRLMap:URLMap": "google_compute_url_map",
    "gcp:dns/recordSet:RecordSet": "google_dns_record_set",
    "gcp:monitoring/alertPolicy:AlertPolicy": "google_monitoring_alert_policy",
    "gcp:projects/iAMMember:IAMMember": "google_project_iam_member",
    "gcp:secretmanager/secret:Secret": "google_secret_manager_secret",
    "gcp:secretmanager/secretIamMember:SecretIamMember": "google_secret_manager_secret_iam_member",
    "gcp:secretmanager/secretVersion:SecretVersion": "google_secret_manager_secret_version",
    "gcp:serviceaccount/account:Account": "google_service_account",
    "gcp:storage/bucket:Bucket": "google_storage_bucket",
    "gcp:storage/bucketIAMMember:BucketIAMMember": "google_storage_bucket_iam_member",
    # GCP side of the AWS<->GCP HA VPN
    "gcp:compute/externalVpnGateway:ExternalVpnGateway": "google_compute_external_vpn_gateway",
    "gcp:compute/haVpnGateway:HaVpnGateway": "google_compute_ha_vpn_gateway",
    "gcp:compute/routerInterface:RouterInterface": "google_compute_router_interface",
    "gcp:compute/routerPeer:RouterPeer": "google_compute_router_peer",
    "gcp:compute/vPNTunnel:VPNTunnel": "google_compute_vpn_tunnel",
    # AWS (pulumi-aws 7.x tokens; every one grepped in the SDK)
    "aws:acm/certificate:Certificate": "aws_acm_certificate",
    "aws:acm/certificateValidation:CertificateValidation": "aws_acm_certificate_validation",
    "aws:autoscaling/group:Group": "aws_autoscaling_group",
    "aws:autoscaling/lifecycleHook:LifecycleHook": "aws_autoscaling_lifecycle_hook",
    "aws:cloudfront/cachePolicy:CachePolicy": "aws_cloudfront_cache_policy",
    "aws:cloudfront/distribution:Distribution": "aws_cloudfront_distribution",
    "aws:cloudfront/originAccessControl:OriginAccessControl": "aws_cloudfront_origin_access_control",
    "aws:cloudwatch/eventRule:EventRule": "aws_cloudwatch_event_rule",
    "aws:cloudwatch/eventTarget:EventTarget": "aws_cloudwatch_event_target",
    "aws:cloudwatch/logGroup:LogGroup": "aws_cloudwatch_log_group",
    "aws:ec2/customerGateway:CustomerGateway": "aws_customer_gateway",
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": "aws_default_security_group",
    "aws:ec2/eip:Eip": "aws_eip",
    "aws:ec2/eipAssociation:EipAssociation": "aws_eip_association",
    "aws:ec2/flowLog:FlowLog": "aws_flow_log",
    "aws:ec2/instance:Instance": "aws_instance",
    "aws:ec2/internetGateway:InternetGateway": "aws_internet_gateway",
    "aws:ec2/keyPair:KeyPair": "aws_key_pair",
    "aws:ec2/launchTemplate:LaunchTemplate": "aws_launch_template",
    "aws:ec2/mainRouteTableAssociation:MainRouteTableAssociation": "aws_main_route_table_association",
    "aws:ec2/natGateway:NatGateway": "aws_nat_gateway",
    "aws:ec2/route:Route": "aws_route",
    "aws:ec2/routeTable:RouteTable": "aws_route_table",
    "aws:ec2/routeTableAssociation:RouteTableAssociation": "aws_route_table_association",
    "aws:ec2/securityGroup:SecurityGroup": "aws_security_group",
    "aws:ec2/subnet:Subnet": "aws_subnet",
    "aws:ec2/vpc:Vpc": "aws_vpc",
    "aws:ec2/vpcEndpoint:VpcEndpoint": "aws_vpc_endpoint",
    "aws:ec2/vpcPeeringConnection:VpcPeeringConnection": "aws_vpc_peering_connection",
    "aws:ec2/vpcPeeringConnectionAccepter:VpcPeeringConnectionAccepter":
        "aws_vpc_peering_connection_accepter",
    "aws:ec2/vpnConnection:VpnConnection": "aws_vpn_connection",
    "aws:ec2/vpnConnectionRoute:VpnConnectionRoute": "aws_vpn_connection_route",
    "aws:ec2/vpnGateway:VpnGateway": "aws_vpn_gateway",
    "aws:ec2/vpnGatewayAttachment:VpnGatewayAttachment": "aws_vpn_gateway_attachment",
    "aws:ec2/vpnGatewayRoutePropagation:VpnGatewayRoutePropagation": "aws_vpn_gateway_route_propagation",
    "aws:ec2transitgateway/route:Route": "aws_ec2_transit_gateway_route",
    "aws:ec2transitgateway/routeTable:RouteTable": "aws_ec2_transit_gateway_route_table",
    "aws:ec2transitgateway/routeTableAssociation:RouteTableAssociation":
        "aws_ec2_transit_gateway_route_table_association",
    "aws:ec2transitgateway/routeTablePropagation:RouteTablePropagation":
        "aws_ec2_transit_gateway_route_table_propagation",
    "aws:ec2transitgateway/transitGateway:TransitGateway": "aws_ec2_transit_gateway",
    "aws:ec2transitgateway/vpcAttachment:VpcAttachment": "aws_ec2_transit_gateway_vpc_attachment",
    "aws:iam/instanceProfile:InstanceProfile": "aws_iam_instance_profile",
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": "aws_iam_openid_connect_provider",
    "aws:iam/policy:Policy": "aws_iam_policy",
    "aws:iam/role:Role": "aws_iam_role",
    "aws:iam/rolePolicy:RolePolicy": "aws_iam_role_policy",
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": "aws_iam_role_policy_attachment",
    "aws:kms/alias:Alias": "aws_kms_alias",
    "aws:kms/key:Key": "aws_kms_key",
    "aws:lb/listener:Listener": "aws_lb_listener",
    "aws:lb/listenerCertificate:ListenerCertificate": "aws_lb_listener_certificate",
    "aws:lb/loadBalancer:LoadBalancer": "aws_lb",
    "aws:lb/targetGroup:TargetGroup": "aws_lb_target_group",
    "aws:lb/targetGroupAttachment:TargetGroupAttachment": "aws_lb_target_group_attachment",
    "aws:sqs/queue:Queue": "aws_sqs_queue",
    "aws:sqs/queuePolicy:QueuePolicy": "aws_sqs_queue_policy",
    "aws:rds/instance:Instance": "aws_db_instance",
    "aws:rds/parameterGroup:ParameterGroup": "aws_db_parameter_group",
    "aws:rds/subnetGroup:SubnetGroup": "aws_db_subnet_group",
    "aws:route53/record:Record": "aws_route53_record",
    "aws:s3/bucket:Bucket": "aws_s3_bucket",
    "aws:s3/bucketObjectv2:BucketObjectv2": "aws_s3_object",
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": "aws_s3_bucket_ownership_controls",
    "aws:s3/bucketPolicy:BucketPolicy": "aws_s3_bucket_policy",
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": "aws_s3_bucket_public_access_block",
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration":
        "aws_s3_bucket_server_side_encryption_configuration",
    "aws:s3/bucketVersioning:BucketVersioning": "aws_s3_bucket_versioning",
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration":
        "aws_s3_bucket_lifecycle_configuration",
    "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration":
        "aws_s3_bucket_object_lock_configuration",
    "aws:secretsmanager/secret:Secret": "aws_secretsmanager_secret",
    "aws:secretsmanager/secretVersion:SecretVersion": "aws_secretsmanager_secret_version",
    "aws:ssm/parameter:Parameter": "aws_ssm_parameter",
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": "aws_vpc_security_group_egress_rule",
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": "aws_vpc_security_group_ingress_rule",
    # stage v4-platform: in-cluster objects (hashicorp/kubernetes, hashicorp/helm); custom
    # resources (CRDs, e.g. External Secrets) are `kubernetes_manifest` (see terraform_type)
    "kubernetes:core/v1:Namespace": "kubernetes_namespace_v1",
    "kubernetes:core/v1:Secret": "kubernetes_secret_v1",
    "kubernetes:core/v1:ConfigMap": "kubernetes_config_map_v1",
    "kubernetes:core/v1:Service": "kubernetes_service_v1",
    "kubernetes:apps/v1:StatefulSet": "kubernetes_stateful_set_v1",
    "kubernetes:apps/v1:Deployment": "kubernetes_deployment_v1",
    "kubernetes:core/v1:ServiceAccount": "kubernetes_service_account_v1",
    "kubernetes:autoscaling/v2:HorizontalPodAutoscaler": "kubernetes_horizontal_pod_autoscaler_v2",
    "kubernetes:batch/v1:Job": "kubernetes_job_v1",
    "kubernetes:policy/v1:PodDisruptionBudget": "kubernetes_pod_disruption_budget_v1",
    "kubernetes:networking.k8s.io/v1:NetworkPolicy": "kubernetes_network_policy_v1",
    "kubernetes:storage.k8s.io/v1:StorageClass": "kubernetes_storage_class_v1",
    "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole": "kubernetes_cluster_role_v1",
    "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding": "kubernetes_cluster_role_binding_v1",
    "kubernetes:rbac.authorization.k8s.io/v1:Role": "kubernetes_role_v1",
    "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding": "kubernetes_role_binding_v1",
    "kubernetes:helm.sh/v3:Release": "helm_release",
    # a server-side-apply patch of an object someone else created: Terraform's SSA resource
    "kubernetes:apps/v1:DeploymentPatch": "kubernetes_manifest",
    # random / tls (Terraform's hashicorp/random and hashicorp/tls)
    "random:index/randomBytes:RandomBytes": "random_bytes",
    "random:index/randomId:RandomId": "random_id",
    "random:index/randomPassword:RandomPassword": "random_password",
    "random:index/randomString:RandomString": "random_string",
    "tls:index/certRequest:CertRequest": "tls_cert_request",
    "tls:index/locallySignedCert:LocallySignedCert": "tls_locally_signed_cert",
    "tls:index/privateKey:PrivateKey": "tls_private_key",
    "tls:index/selfSignedCert:SelfSignedCert": "tls_self_signed_cert",
}

#: Pulumi's plural names of list-of-block inputs -> Terraform's singular block names.
#: Keys not listed here are only converted to snake_case.
KEY_RENAMES: dict[str, str] = {
    "accessConfigs": "access_config",
    "aliasIpRanges": "alias_ip_range",
    "allows": "allow",
    "attachedDisks": "attached_disk",
    "backends": "backend",
    "denies": "deny",
    "disks": "disk",
    "guestAccelerators": "guest_accelerator",
    "lifecycleRules": "lifecycle_rule",
    "namedPorts": "named_port",
    "networkInterfaces": "network_interface",
    "rules": "rule",
    "secondaryIpRanges": "secondary_ip_range",
    "versions": "version",
    # AWS (`ingress`/`egress` of security groups keep their names; `rootBlockDevice` only
    # needs snake_case)
    "blockDeviceMappings": "block_device_mapping",
    "cacheBehaviors": "cache_behavior",
    "clientIdLists": "client_id_list",
    "customErrorResponses": "custom_error_response",
    "defaultActions": "default_action",
    "ebsBlockDevices": "ebs_block_device",
    "ephemeralBlockDevices": "ephemeral_block_device",
    "inlinePolicies": "inline_policy",
    "orderedCacheBehaviors": "ordered_cache_behavior",
    "originGroups": "origin_group",
    "origins": "origin",
    "overrides": "override",
    "parameters": "parameter",
    "replicas": "replica",
    "routes": "route",
    "subnetConfigurations": "subnet_configuration",
    "subnetMappings": "subnet_mapping",
    "targetGroups": "target_group",
    "thumbprintLists": "thumbprint_list",
    "vpcZoneIdentifiers": "vpc_zone_identifier",
}

#: Renames that hold for one Terraform type only (top-level inputs): the same Pulumi name is
#: a block in one resource and a plain attribute in another (`aliases`: a Route53 alias block,
#: CloudFront's list of CNAMEs).
TYPE_KEY_RENAMES: dict[str, dict[str, str]] = {
    "aws_autoscaling_group": {"tags": "tag"},  # a list of {key, value, propagate_at_launch} blocks
    "aws_route53_record": {"aliases": "alias"},
    "google_compute_external_vpn_gateway": {"interfaces": "interface"},
}

#: Object-valued inputs that are Terraform map attributes (not blocks): kept as a dict with
#: their keys untouched (`metadata` keys such as `block-project-ssh-keys` are data).
MAP_ATTRIBUTES: frozenset[str] = frozenset({
    "default_labels",
    "effective_labels",
    "keepers",
    "labels",
    "metadata",
    "resource_labels",
    "tags",
    "tags_all",
    "terraform_labels",
    "triggers",
    "user_labels",
})

_PROVIDER_PREFIX = "pulumi:providers:"
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_NOT_IDENT = re.compile(r"[^A-Za-z0-9_-]")


class UnmappedType(KeyError):
    """A custom resource type with no Terraform equivalent in TYPE_MAP."""

    def __init__(self, type_: str, name: str | None = None) -> None:
        self.type = type_
        self.resource = name
        where = f" (resource {name!r})" if name else ""
        super().__init__(f"no Terraform type mapped for Pulumi type {type_!r}{where}: add it to TYPE_MAP")

    def __str__(self) -> str:
        return str(self.args[0])


class _Resource(Protocol):
    @property
    def type(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def custom(self) -> bool: ...
    @property
    def inputs(self) -> dict[str, Any]: ...


class _Plan(Protocol):
    @property
    def resources(self) -> list[Any]: ...


def snake_case(key: str) -> str:
    """`ipCidrRange` -> `ip_cidr_range`, `enableVtpm` -> `enable_vtpm`."""
    return _CAMEL.sub("_", key).lower()


def terraform_key(key: str) -> str:
    return KEY_RENAMES.get(key) or snake_case(key)


def terraform_value(key: str, value: Any) -> Any:
    """One input (already under its Terraform `key`) in Terraform plan form."""
    if isinstance(value, dict):
        if key in MAP_ATTRIBUTES:
            return dict(value)
        return [terraform_values(value)]
    if isinstance(value, list):
        return [terraform_values(v) if isinstance(v, dict) else v for v in value]
    return value


def terraform_values(inputs: dict[str, Any], tf_type: str | None = None) -> dict[str, Any]:
    """Pulumi inputs -> Terraform values (recursive); `tf_type` adds its TYPE_KEY_RENAMES."""
    renames = TYPE_KEY_RENAMES.get(tf_type or "", {})
    out: dict[str, Any] = {}
    for key, value in inputs.items():
        tf_key = renames.get(key) or terraform_key(key)
        out[tf_key] = terraform_value(tf_key, value)
    return out


#: map-typed arguments of the Terraform kubernetes provider (kept as dicts, keys untouched)
_K8S_MAPS = frozenset({"labels", "annotations", "data", "string_data", "binary_data", "parameters",
                       "match_labels", "node_selector", "selector"})


def _k8s_value(key: str, value: Any) -> Any:
    if isinstance(value, dict):
        if key in _K8S_MAPS and all(not isinstance(v, (dict, list)) for v in value.values()):
            return dict(value)
        return [_k8s_values(value)]
    if isinstance(value, list):
        return [_k8s_values(v) if isinstance(v, dict) else v for v in value]
    return value


def _k8s_values(inputs: dict[str, Any]) -> dict[str, Any]:
    return {snake_case(k): _k8s_value(snake_case(k), v) for k, v in inputs.items()}


def kubernetes_values(inputs: dict[str, Any], tf_type: str) -> dict[str, Any]:
    """Inputs of a kubernetes-provider resource in the Terraform kubernetes/helm providers' shape.

    `helm_release` takes `values` as YAML documents and the repository as one URL;
    `kubernetes_manifest` takes the whole object as `manifest`; the typed `kubernetes_*_v1`
    resources take `metadata`/`spec` blocks whose labels, selectors and data are maps.
    """
    if tf_type == "helm_release":
        out = {k: v for k, v in _k8s_values(inputs).items()
               if k not in ("values", "repository_opts", "compat")}
        out["repository"] = (inputs.get("repositoryOpts") or {}).get("repo")
        out["values"] = [yaml.safe_dump(inputs.get("values") or {}, sort_keys=True)]
        return out
    body = {k: v for k, v in inputs.items() if k not in ("apiVersion", "kind")}
    if tf_type == "kubernetes_manifest":
        return {"manifest": dict(inputs)}
    values = _k8s_values(body)
    # the provider's name; a bare `provisioner` would read as a Terraform provisioner block
    if tf_type == "kubernetes_storage_class_v1" and "provisioner" in values:
        values["storage_provisioner"] = values.pop("provisioner")
    return values


def is_exported(resource: _Resource) -> bool:
    """Custom resources other than providers are exported."""
    return resource.custom and not resource.type.startswith(_PROVIDER_PREFIX)


#: Terraform's one resource for any custom resource (hashicorp/kubernetes `kubernetes_manifest`)
K8S_CUSTOM_RESOURCE = "kubernetes_manifest"
_K8S_TOKEN = re.compile(r"^kubernetes:(?P<group>[^:/]+)/[^:]+:[A-Za-z0-9]+\Z")
#: a built-in `.k8s.io` group with no typed Terraform resource: CRDs themselves
_MANIFEST_ONLY_GROUPS = ("apiextensions.k8s.io",)
#: API groups under k8s.io that are CRDs, not built in: the Gateway API (installed by the edge)
#: and the CSI snapshot group (kubernetes-csi/external-snapshotter, installed by the backups)
CRD_K8S_GROUPS = frozenset({"gateway.networking.k8s.io", "snapshot.storage.k8s.io"})


def is_custom_resource(type_: str) -> bool:
    """A kubernetes CustomResource token (`kubernetes:<group with a dot>/<version>:<Kind>`).

    Built-in API groups are `core` or contain no dot, or end in `.k8s.io`; the SDK has no type
    for a CRD's kind, so such tokens come from `apiextensions.CustomResource`.
    """
    m = _K8S_TOKEN.match(type_)
    if m is None or type_ in TYPE_MAP:
        return False
    group = m.group("group")
    if group in _MANIFEST_ONLY_GROUPS or group in CRD_K8S_GROUPS:
        return True
    return "." in group and not group.endswith(".k8s.io") and group != "helm.sh"


def terraform_type(type_: str, name: str | None = None) -> str:
    if is_custom_resource(type_):
        return K8S_CUSTOM_RESOURCE
    try:
        return TYPE_MAP[type_]
    except KeyError:
        raise UnmappedType(type_, name) from None


def provider_name(tf_type: str) -> str:
    """The Terraform provider of a Terraform resource type (`aws_vpc` -> hashicorp/aws)."""
    return next((p for prefix, p in PROVIDERS.items() if tf_type.startswith(prefix)), GOOGLE)


def _resource_name(name: str, taken: set[str]) -> str:
    base = _NOT_IDENT.sub("_", name) or "resource"
    if not (base[0].isalpha() or base[0] == "_"):
        base = f"r_{base}"
    candidate, n = base, 1
    while candidate in taken:
        n += 1
        candidate = f"{base}_{n}"
    taken.add(candidate)
    return candidate


def _expressions(resource: Any, addresses: dict[str, tuple[str, str, str]],
                 tf_type: str = "") -> dict[str, Any]:
    """Terraform `expressions` with the references Pulumi recorded as property dependencies.

    Scanners build their resource graph from these (checkov's CKV2 checks, e.g. "the network
    has a firewall", follow them); only top-level arguments can carry them.
    """
    expressions: dict[str, Any] = {}
    renames = TYPE_KEY_RENAMES.get(tf_type, {})
    deps: dict[str, list[str]] = getattr(resource, "property_dependencies", None) or {}
    for key, urns in sorted(deps.items()):
        refs: list[str] = []
        for urn in urns:
            if urn in addresses:
                address = addresses[urn][2]
                refs += [f"{address}.id", address]
        if refs:
            expressions[renames.get(key) or terraform_key(key)] = {"references": refs}
    return expressions


def unmapped_types(types: Iterable[str]) -> list[str]:
    """The custom (non-provider) types among `types` that TYPE_MAP lacks, sorted."""
    return sorted({t for t in types if not t.startswith(_PROVIDER_PREFIX) and t not in TYPE_MAP
                   and not is_custom_resource(t)})


def to_terraform_plan(plan: _Plan) -> dict[str, Any]:
    """The Terraform plan JSON document of `plan` (a looper_infra.engine.plan.Plan)."""
    planned: list[dict[str, Any]] = []
    changes: list[dict[str, Any]] = []
    configured: list[dict[str, Any]] = []
    taken: dict[str, set[str]] = {}
    providers: set[str] = set()
    exported = [r for r in plan.resources if is_exported(r)]
    addresses: dict[str, tuple[str, str, str]] = {}  # urn -> (type, name, address)
    for resource in exported:
        tf_type = terraform_type(resource.type, resource.name)
        name = _resource_name(resource.name, taken.setdefault(tf_type, set()))
        addresses[str(getattr(resource, "urn", id(resource)))] = (tf_type, name, f"{tf_type}.{name}")
    for resource in exported:
        tf_type, name, address = addresses[str(getattr(resource, "urn", id(resource)))]
        values = (kubernetes_values(resource.inputs, tf_type) if resource.type.startswith("kubernetes:")
                  else terraform_values(resource.inputs, tf_type))
        provider = provider_name(tf_type)
        provider_key = provider.rsplit("/", 1)[-1]
        providers.add(provider)
        identity = {"address": address, "mode": "managed", "type": tf_type, "name": name}
        planned.append({
            **identity,
            "provider_name": provider,
            "schema_version": 0,
            "values": values,
            "sensitive_values": {},
        })
        changes.append({
            **identity,
            "provider_name": provider,
            "change": {
                "actions": ["create"],
                "before": None,
                "after": values,
                "after_unknown": {},
                "before_sensitive": False,
                "after_sensitive": {},
            },
        })
        configured.append({
            **identity,
            "provider_config_key": provider_key,
            "expressions": _expressions(resource, addresses, tf_type),
            "schema_version": 0,
        })
    return {
        "format_version": FORMAT_VERSION,
        "terraform_version": TERRAFORM_VERSION,
        "planned_values": {"root_module": {"resources": planned}},
        "resource_changes": changes,
        "configuration": {
            "provider_config": {
                p.rsplit("/", 1)[-1]: {"name": p.rsplit("/", 1)[-1], "full_name": p}
                for p in sorted(providers)
            },
            "root_module": {"resources": configured},
        },
    }
