"""Inventories of the example stacks: counts by type and the inputs that make a stack secure and HA.

An inventory (as in Cloud Foundation Fabric's tests) is a YAML file per example stack with
- `counts`: resources by Pulumi type (custom resources, components and providers),
- `values`: for the types in `INPUTS`, a few input paths per resource, keyed by type and resource
  name (never by URN: moving a resource under a new parent changes its URN, not its name or inputs),
- `outputs`: the stack outputs, long values shortened.
A string that is the opaque ID or ARN of another resource in the plan is written `ref:Kind/name`,
so a reader sees which security group or subnet is meant. User data is summarised (first line and
size), secrets stay `[secret]`, and run-to-run key material is masked (`plans.normalize`).
"""

from __future__ import annotations

import base64
import binascii
import fnmatch
import json
import os
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

from helpers.plans import ROOT, normalize
from looper_infra.engine.plan import Plan

INVENTORIES = ROOT / "tests" / "stages" / "inventories"
UPDATE_ENV = "LOOPER_UPDATE_INVENTORIES"

# --- which inputs matter, per resource type --------------------------------------------------------
# A path is dot-separated keys; `"a.b"` quotes a key holding dots, `key[]` maps the rest of the path
# over a list, `@json` parses a JSON string, and `?`/`*` in a key expand to every matching key.
# A path a resource does not have is left out. Types not listed appear in `counts` only.
_SG_RULE = ("securityGroupId", "ipProtocol", "fromPort", "toPort", "cidrIpv4", "cidrIpv6",
            "referencedSecurityGroupId", "prefixListId")
_LAUNCH = ("instanceType", "imageId", "blockDeviceMappings", "metadataOptions", "disableApiTermination",
           "iamInstanceProfile.name", "vpcSecurityGroupIds", "networkInterfaces", "userData")
_GCP_VM = ("machineType", "scheduling", "guestAccelerators", "shieldedInstanceConfig",
           "networkInterfaces[].accessConfigs", "serviceAccount", "tags", "metadata")
_K8S_POD = ("spec.template.spec.containers[].image", "spec.template.spec.securityContext",
            "spec.template.spec.containers[].securityContext.readOnlyRootFilesystem",
            "spec.template.spec.automountServiceAccountToken", "spec.template.spec.topologySpreadConstraints",
            "spec.template.spec.affinity")
INPUTS: dict[str, tuple[str, ...]] = {
    # providers
    "pulumi:providers:aws": ("region", "allowedAccountIds"),
    "pulumi:providers:gcp": ("project", "region", "zone"),
    "pulumi:providers:kubernetes": ("enableServerSideApply", "deleteUnreachable"),
    # GCP network and edge
    "gcp:compute/network:Network": ("autoCreateSubnetworks", "routingMode"),
    "gcp:compute/subnetwork:Subnetwork": ("ipCidrRange", "privateIpGoogleAccess", "logConfig.flowSampling"),
    "gcp:compute/firewall:Firewall": ("direction", "priority", "allows", "denies", "sourceRanges",
                                      "sourceTags", "sourceServiceAccounts", "destinationRanges",
                                      "targetTags", "targetServiceAccounts"),
    "gcp:compute/address:Address": ("addressType", "networkTier"),
    "gcp:compute/globalAddress:GlobalAddress": ("addressType", "ipVersion"),
    "gcp:compute/routerNat:RouterNat": ("natIpAllocateOption", "sourceSubnetworkIpRangesToNat", "logConfig"),
    "gcp:dns/recordSet:RecordSet": ("name", "type", "ttl"),
    "gcp:compute/globalForwardingRule:GlobalForwardingRule": ("portRange", "ipProtocol",
                                                              "loadBalancingScheme", "target"),
    "gcp:compute/targetHttpsProxy:TargetHttpsProxy": ("sslCertificates", "sslPolicy", "urlMap"),
    "gcp:compute/uRLMap:URLMap": ("defaultService", "defaultUrlRedirect.httpsRedirect"),
    "gcp:compute/sSLPolicy:SSLPolicy": ("minTlsVersion", "profile"),
    "gcp:compute/managedSslCertificate:ManagedSslCertificate": ("managed.domains",),
    "gcp:compute/backendService:BackendService": ("protocol", "loadBalancingScheme", "enableCdn",
                                                  "securityPolicy", "logConfig.enable"),
    "gcp:compute/securityPolicy:SecurityPolicy": ("rules",),
    "gcp:compute/healthCheck:HealthCheck": ("httpHealthCheck", "checkIntervalSec", "unhealthyThreshold"),
    # GCP compute and data
    "gcp:compute/instance:Instance": ("zone", "deletionProtection", "bootDisk.initializeParams",
                                      "networkInterfaces[].networkIp", *_GCP_VM),
    "gcp:compute/instanceTemplate:InstanceTemplate": ("disks", *_GCP_VM),
    "gcp:compute/regionInstanceGroupManager:RegionInstanceGroupManager": (
        "distributionPolicyZones", "distributionPolicyTargetShape", "autoHealingPolicies.initialDelaySec",
        "updatePolicy"),
    "gcp:compute/regionAutoscaler:RegionAutoscaler": ("autoscalingPolicy.minReplicas",
                                                      "autoscalingPolicy.maxReplicas",
                                                      "autoscalingPolicy.cpuUtilization.target"),
    "gcp:compute/disk:Disk": ("size", "type", "zone"),
    "gcp:compute/resourcePolicy:ResourcePolicy": ("snapshotSchedulePolicy.retentionPolicy",
                                                  "snapshotSchedulePolicy.schedule"),
    "gcp:storage/bucket:Bucket": ("location", "versioning", "uniformBucketLevelAccess",
                                  "publicAccessPrevention", "lifecycleRules", "retentionPolicy",
                                  "encryption", "forceDestroy"),
    "gcp:secretmanager/secret:Secret": ("secretId", "replication"),
    "gcp:monitoring/alertPolicy:AlertPolicy": ("displayName", "severity", "conditions[].displayName",
                                               "notificationChannels"),
    # GCP identity
    "gcp:serviceaccount/account:Account": ("accountId",),
    "gcp:projects/iAMMember:IAMMember": ("role", "member"),
    "gcp:secretmanager/secretIamMember:SecretIamMember": ("role", "member", "secretId"),
    "gcp:storage/bucketIAMMember:BucketIAMMember": ("role", "member"),
    # GCP HA VPN
    "gcp:compute/haVpnGateway:HaVpnGateway": ("stackType",),
    "gcp:compute/externalVpnGateway:ExternalVpnGateway": ("redundancyType",),
    "gcp:compute/router:Router": ("bgp",),
    "gcp:compute/vPNTunnel:VPNTunnel": ("ikeVersion", "cipherSuite", "vpnGatewayInterface",
                                        "peerExternalGatewayInterface"),
    "gcp:compute/routerInterface:RouterInterface": ("ipRange",),
    "gcp:compute/routerPeer:RouterPeer": ("peerAsn", "ipAddress", "peerIpAddress"),
    # AWS network
    "aws:ec2/vpc:Vpc": ("cidrBlock", "enableDnsHostnames", "enableDnsSupport"),
    "aws:ec2/subnet:Subnet": ("availabilityZone", "cidrBlock", "mapPublicIpOnLaunch"),
    "aws:ec2/route:Route": ("routeTableId", "destinationCidrBlock", "gatewayId", "natGatewayId",
                            "transitGatewayId", "vpcPeeringConnectionId"),
    "aws:ec2/natGateway:NatGateway": ("subnetId", "connectivityType"),
    "aws:ec2/flowLog:FlowLog": ("vpcId", "trafficType", "logDestinationType"),
    "aws:ec2/vpcEndpoint:VpcEndpoint": ("serviceName", "vpcEndpointType", "privateDnsEnabled"),
    "aws:ec2/vpcPeeringConnection:VpcPeeringConnection": ("vpcId", "peerVpcId", "autoAccept"),
    "aws:ec2/securityGroup:SecurityGroup": ("vpcId", "description", "ingress", "egress"),
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": ("ingress", "egress"),
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": _SG_RULE,
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": _SG_RULE,
    # AWS hybrid VPN
    "aws:ec2/vpnGateway:VpnGateway": ("amazonSideAsn",),
    "aws:ec2/customerGateway:CustomerGateway": ("bgpAsn", "type"),
    "aws:ec2transitgateway/transitGateway:TransitGateway": ("amazonSideAsn", "vpnEcmpSupport"),
    "aws:ec2transitgateway/vpcAttachment:VpcAttachment": ("vpcId", "subnetIds"),
    "aws:ec2/vpnConnection:VpnConnection": ("staticRoutesOnly", "tunnel?InsideCidr", "tunnel?IkeVersions",
                                            "tunnel?Phase?*Algorithms", "tunnel?Phase?DhGroupNumbers"),
    # AWS compute and load balancing
    "aws:ec2/instance:Instance": ("subnetId", "associatePublicIpAddress", "metadataOptions",
                                  "disableApiTermination", "iamInstanceProfile", "vpcSecurityGroupIds",
                                  "userDataBase64"),
    "aws:ec2/launchTemplate:LaunchTemplate": _LAUNCH,
    "aws:autoscaling/group:Group": ("minSize", "maxSize", "desiredCapacity", "vpcZoneIdentifiers",
                                    "healthCheckType", "targetGroupArns", "instanceRefresh.preferences"),
    "aws:lb/loadBalancer:LoadBalancer": ("loadBalancerType", "internal", "enableDeletionProtection",
                                         "enableCrossZoneLoadBalancing", "subnets",
                                         "subnetMappings[].subnetId", "securityGroups"),
    "aws:lb/listener:Listener": ("port", "protocol", "sslPolicy", "certificateArn", "defaultActions[].type"),
    "aws:lb/targetGroup:TargetGroup": ("port", "protocol", "targetType", "preserveClientIp",
                                       "healthCheck.protocol", "healthCheck.path"),
    "aws:acm/certificate:Certificate": ("domainName", "validationMethod"),
    "aws:route53/record:Record": ("name", "type", "aliases[].name"),
    # AWS data, keys and secrets
    "aws:rds/instance:Instance": ("engine", "engineVersion", "instanceClass", "multiAz", "storageEncrypted",
                                  "kmsKeyId", "backupRetentionPeriod", "deletionProtection",
                                  "publiclyAccessible", "skipFinalSnapshot",
                                  "iamDatabaseAuthenticationEnabled", "manageMasterUserPassword",
                                  "vpcSecurityGroupIds", "parameterGroupName"),
    "aws:rds/parameterGroup:ParameterGroup": ("family", "parameters[].name"),
    "aws:rds/subnetGroup:SubnetGroup": ("subnetIds",),
    "aws:kms/key:Key": ("enableKeyRotation", "deletionWindowInDays"),
    "aws:s3/bucket:Bucket": ("bucket", "forceDestroy"),
    "aws:s3/bucketVersioning:BucketVersioning": ("versioningConfiguration.status",),
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": (
        "rules[].applyServerSideEncryptionByDefault",),
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": ("blockPublicAcls", "blockPublicPolicy",
                                                               "ignorePublicAcls", "restrictPublicBuckets"),
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": ("rule.objectOwnership",),
    "aws:s3/bucketPolicy:BucketPolicy": ("policy.@json.Statement[].Sid",),
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": ("rules[].id", "rules[].expiration"),
    "aws:cloudfront/distribution:Distribution": ("defaultCacheBehavior.viewerProtocolPolicy",
                                                 "viewerCertificate", "origins[].originAccessControlId"),
    "aws:secretsmanager/secret:Secret": ("name", "recoveryWindowInDays", "kmsKeyId"),
    "aws:cloudwatch/logGroup:LogGroup": ("name", "retentionInDays"),
    # AWS identity
    "aws:iam/role:Role": ("assumeRolePolicy.@json.Statement",),
    "aws:iam/rolePolicy:RolePolicy": ("role", "policy.@json.Statement"),
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": ("role", "policyArn"),
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": ("clientIdLists",),
    # key material: strength and lifetime only
    "random:index/randomPassword:RandomPassword": ("length", "special"),
    "tls:index/privateKey:PrivateKey": ("algorithm", "rsaBits", "ecdsaCurve"),
    "tls:index/selfSignedCert:SelfSignedCert": ("subject", "isCaCertificate", "validityPeriodHours"),
    "tls:index/locallySignedCert:LocallySignedCert": ("allowedUses", "validityPeriodHours"),
    # Kubernetes
    "kubernetes:core/v1:Namespace": ('metadata.labels."pod-security.kubernetes.io/enforce"',),
    "kubernetes:apps/v1:StatefulSet": ("metadata.namespace", "spec.replicas",
                                       "spec.volumeClaimTemplates[].spec.storageClassName",
                                       "spec.volumeClaimTemplates[].spec.resources.requests.storage",
                                       *_K8S_POD),
    "kubernetes:batch/v1:Job": ("metadata.namespace", *_K8S_POD),
    "kubernetes:core/v1:Service": ("metadata.namespace", "spec.type", "spec.clusterIP", "spec.ports[].port"),
    "kubernetes:policy/v1:PodDisruptionBudget": ("metadata.namespace", "spec.maxUnavailable",
                                                 "spec.minAvailable"),
    "kubernetes:networking.k8s.io/v1:NetworkPolicy": ("metadata.namespace", "spec"),
    "kubernetes:storage.k8s.io/v1:StorageClass": ("provisioner", "reclaimPolicy", "parameters.encrypted",
                                                  "parameters.type", "volumeBindingMode"),
    "kubernetes:external-secrets.io/v1:ClusterSecretStore": ("spec.provider.aws.service",
                                                             "spec.provider.aws.auth"),
    "kubernetes:external-secrets.io/v1:ExternalSecret": ("metadata.namespace", "spec.secretStoreRef.name",
                                                         "spec.target.name"),
    "kubernetes:helm.sh/v3:Release": ("chart", "version", "repositoryOpts.repo", "namespace", "atomic"),
}

#: Helm chart values that matter, per chart (read under the release's `values`)
HELM_VALUES: dict[str, tuple[str, ...]] = {
    "aws-ebs-csi-driver": ("controller.replicaCount",),
    "alloy": ("controller.type",),
    "external-secrets": ("replicaCount", "podDisruptionBudget", "webhook.replicaCount"),
    "gpu-operator": ("driver.enabled", "toolkit.enabled", "cdi.enabled"),
    "oci://docker.io/envoyproxy/gateway-crds-helm": ("crds.gatewayAPI.channel",),
    "oci://docker.io/envoyproxy/gateway-helm": ("deployment.replicas", "podDisruptionBudget.minAvailable",
                                                "global.images.envoyGateway.image"),
    "kube-prometheus-stack": ("prometheus.prometheusSpec.replicas", "prometheus.prometheusSpec.retention",
                              "alertmanager.alertmanagerSpec.replicas", "grafana.replicas",
                              'grafana."grafana.ini"."auth.anonymous".enabled',
                              "grafana.admin.existingSecret"),
    "loki": ("deploymentMode", "loki.auth_enabled", "loki.commonConfig.replication_factor",
             "singleBinary.replicas", "loki.limits_config.retention_period", "loki.storage.type"),
    "opentelemetry-collector": ("mode", "replicaCount", "podDisruptionBudget", "image.repository"),
    "tempo": ("replicas", "tempo.retention", "tempo.storage.trace.backend"),
}

_HELM = "kubernetes:helm.sh/v3:Release"
_MISSING = object()
_SEGMENT = re.compile(r'"[^"]*"(?:\[\])?|[^.]+')
#: opaque cloud IDs and ARNs (a hex run or a CloudFront-style ID): shown as `ref:Kind/name`
_OPAQUE = re.compile(r"(?:.*[0-9a-f]{8}.*|[A-Z0-9]{12,16})")
_USER_DATA_START = ("#cloud-config", "#!", "Content-Type")
#: longest output value kept as it is; longer ones are recorded by their length
OUTPUT_MAX = 200


def paths_for(type_: str, inputs: Mapping[str, Any]) -> tuple[str, ...]:
    paths = INPUTS.get(type_, ())
    if type_ == _HELM:
        paths += tuple(f"values.{p}" for p in HELM_VALUES.get(str(inputs.get("chart")), ()))
    return paths


def _segments(path: str) -> list[str]:
    return [s.replace('"', "") for s in _SEGMENT.findall(path)]


def pick(value: Any, path: str) -> Iterator[tuple[str, Any]]:
    """(concrete path, value) for each place `path` reaches in `value` (wildcards expand)."""
    yield from _pick(value, _segments(path), "")


def _join(prefix: str, key: str) -> str:
    shown = f'"{key}"' if "." in key else key
    return f"{prefix}.{shown}" if prefix else shown


def _pick(value: Any, segments: list[str], prefix: str) -> Iterator[tuple[str, Any]]:
    if not segments:
        yield prefix, value
        return
    head, rest = segments[0], segments[1:]
    if head == "@json":
        if isinstance(value, str):
            yield from _pick(json.loads(value), rest, prefix)
        return
    if not isinstance(value, Mapping):
        return
    key, mapped = (head[:-2], True) if head.endswith("[]") else (head, False)
    keys = sorted(k for k in value if fnmatch.fnmatchcase(k, key)) if "*" in key or "?" in key else [key]
    for k in keys:
        item = value.get(k, _MISSING)
        if item is _MISSING or item is None:
            continue
        if mapped:
            elements = item if isinstance(item, list) else []
            found = [v for element in elements for _, v in _pick(element, rest, "")]
            if found:
                yield _join(prefix, k + "[]") + "".join(f".{s}" for s in rest), found
        else:
            yield from _pick(item, rest, _join(prefix, k))


# --- values as recorded -----------------------------------------------------------------------------
def references(plan: Plan) -> dict[str, str]:
    """{opaque ID or ARN: `Kind/name` of the resource it names}, for IDs that name one resource.

    An ID wins over an ARN: a secret version's ARN is its secret's, and the ARN means the secret.
    """
    by_id: dict[str, set[str]] = {}
    by_arn: dict[str, set[str]] = {}
    for r in plan.resources:
        shown = f"{r.type.rsplit(':', 1)[-1]}/{r.name}"
        for ident, owners in ((r.id, by_id), (r.state.get("arn"), by_arn)):
            if isinstance(ident, str) and _OPAQUE.fullmatch(ident):
                owners.setdefault(ident, set()).add(shown)
    refs = {ident: next(iter(names)) for ident, names in by_arn.items() if len(names) == 1}
    refs.update({ident: next(iter(names)) for ident, names in by_id.items() if len(names) == 1})
    return refs


def user_data_summary(text: str, raw: str) -> str:
    """The first line of a boot document, its size and whether it is sent gzipped.

    The gzipped size is left out: it moves by a byte or two with the key hashes inside.
    """
    gzipped = ", gzipped" if _is_gzip_base64(raw) else ""
    return f"{text.splitlines()[0]} [{len(text.encode())} bytes{gzipped}]"


def _is_gzip_base64(raw: str) -> bool:
    try:
        return base64.b64decode(raw, validate=True)[:2] == b"\x1f\x8b"
    except (binascii.Error, ValueError):
        return False


def recorded(value: Any, refs: Mapping[str, str]) -> Any:
    """A plan value as the inventory shows it: references named, user data summarised, keys masked."""
    if isinstance(value, dict):
        return {k: recorded(v, refs) for k, v in value.items()}
    if isinstance(value, list):
        return [recorded(v, refs) for v in value]
    if isinstance(value, str):
        if value in refs:
            return f"ref:{refs[value]}"
        text = normalize(value)
        if text.startswith(_USER_DATA_START) and "\n" in text:
            return user_data_summary(text, value)
        return text
    return value


def resource_values(plan: Plan) -> dict[str, dict[str, dict[str, Any]]]:
    """{type: {resource name: {input path: value}}} for the types in INPUTS."""
    refs = references(plan)
    values: dict[str, dict[str, dict[str, Any]]] = {}
    for r in plan.resources:
        picked = {path: recorded(v, refs)
                  for p in paths_for(r.type, r.inputs) for path, v in pick(r.inputs, p)}
        if picked:
            values.setdefault(r.type, {})[r.name] = picked
    return values


def _short(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _short(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_short(v) for v in value]
    if isinstance(value, str) and len(value) > OUTPUT_MAX:
        return f"[{len(value)} chars]"
    return value


def inventory(plan: Plan) -> dict[str, Any]:
    """The inventory of a plan: counts by type, the key inputs, the outputs."""
    refs = references(plan)
    return {
        "counts": plan.by_type(),
        "values": resource_values(plan),
        "outputs": {k: _short(recorded(v, refs)) for k, v in plan.outputs.items()},
    }


# --- the YAML file and the comparison --------------------------------------------------------------
_SECRET_LOOKING = re.compile(r"-----BEGIN|PRIVATE KEY|AKIA[0-9A-Z]{12,}|sha256:[0-9a-f]{64}")


def render(stack: str, inv: Mapping[str, Any]) -> str:
    """The YAML text of an inventory: a short header, then the data with sorted keys."""
    body = "".join(
        yaml.safe_dump({section: inv[section]}, sort_keys=True, default_flow_style=False, width=110)
        for section in ("counts", "values", "outputs")
    )
    leaked = _SECRET_LOOKING.search(body)
    if leaked:
        raise ValueError(f"inventory of {stack} would hold secret-looking text: {leaked.group(0)!r}")
    return (
        f"# Inventory of the example stack {stack}: resource counts by type, the inputs that make it\n"
        "# secure and highly available (by type and resource name), and its outputs.\n"
        "# `ref:Kind/NAME` is the ID of the resource of that kind named NAME.\n"
        "# Generated by tests/helpers/inventory.py; after an intended change, regenerate with\n"
        "# LOOPER_UPDATE_INVENTORIES=1 pytest tests/stages/test_inventories.py\n"
        + body
    )


def path_of(stack: str) -> Path:
    return INVENTORIES / f"{stack}.yaml"


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """{`a[b][c]` path: leaf} of nested dicts; lists stay whole (their order is the program's)."""
    if isinstance(value, dict) and value:
        flat: dict[str, Any] = {}
        for k, v in value.items():
            flat.update(flatten(v, f"{prefix}[{k}]" if prefix else str(k)))
        return flat
    return {prefix: value}


def differences(expected: Mapping[str, Any], actual: Mapping[str, Any]) -> list[str]:
    """One line per path that was added, removed or changed, sorted by path."""
    old, new = flatten(dict(expected)), flatten(dict(actual))
    lines = []
    for path in sorted(old.keys() | new.keys()):
        if path not in new:
            lines.append(f"- {path}: {old[path]!r}")
        elif path not in old:
            lines.append(f"+ {path}: {new[path]!r}")
        elif old[path] != new[path]:
            lines.append(f"~ {path}: {old[path]!r} -> {new[path]!r}")
    return lines


def assert_matches_inventory(stack: str, plan: Plan) -> None:
    """Compare a plan with the stack's inventory; LOOPER_UPDATE_INVENTORIES=1 rewrites it instead."""
    text = render(stack, inventory(plan))
    path = path_of(stack)
    if os.environ.get(UPDATE_ENV) == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"{path} is missing; create it with {UPDATE_ENV}=1"
    committed = path.read_text(encoding="utf-8")
    if text == committed:
        return
    diff = differences(yaml.safe_load(committed), yaml.safe_load(text))
    shown = "\n".join(diff) or "(same data, different layout)"
    shown_path = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
    raise AssertionError(
        f"the plan of {stack} differs from {shown_path} (- inventory, + plan, ~ changed):\n"
        f"{shown}\nreview the change; if it is intended, regenerate with {UPDATE_ENV}=1"
    )
