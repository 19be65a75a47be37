"""kubeadm's documents (init on control planes, join everywhere), labels and taints.

kubernetes-validate is not used here: it validates API resources against the cluster's
OpenAPI schemas, and none of these documents is one (kubeadm/kubelet/kube-proxy component
configs are files). The schemas below express the contract instead.
"""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest

from helpers.k8s_node import (
    CONTROL_PLANES,
    ENDPOINT,
    GCP_WORKER,
    GPU_WORKERS,
    HASH,
    ISSUER,
    SPECS,
    WORKER,
    args,
    docs,
    join_config,
    kubelet_labels,
)
from looper_infra.bootstrap import k8s_versions
from looper_infra.bootstrap.k8s_node import (
    GPU_TAINT,
    K8sGpuWorker,
    K8sNodeBootstrap,
    render_k8s_kubeadm_init_config,
    render_k8s_kubeadm_join_config,
)

NAME_VALUE = {"type": "array", "items": {"type": "object", "required": ["name", "value"],
              "properties": {"name": {"type": "string"}, "value": {"type": "string"}},
              "additionalProperties": False}}


NODE_REGISTRATION = {
    "type": "object",
    "required": ["name", "criSocket", "kubeletExtraArgs", "taints"],
    "properties": {
        "criSocket": {"const": "unix:///var/run/crio/crio.sock"},
        "kubeletExtraArgs": NAME_VALUE,
        "taints": {"type": "array", "items": {
            "type": "object", "required": ["key", "effect"],
            "properties": {"effect": {"enum": ["NoSchedule", "PreferNoSchedule", "NoExecute"]}}}},
    },
}


def kubeadm_schema(kind: str, required: list[str], properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["apiVersion", "kind", *required],
        "properties": {"apiVersion": {"const": "kubeadm.k8s.io/v1beta4"}, "kind": {"const": kind},
                       **properties},
    }


SCHEMAS = {
    "InitConfiguration": kubeadm_schema(
        "InitConfiguration", ["bootstrapTokens", "certificateKey", "nodeRegistration", "localAPIEndpoint"],
        {"bootstrapTokens": {"type": "array", "minItems": 1, "maxItems": 1, "items": {
            "type": "object", "required": ["token", "ttl", "usages", "groups"],
            # a bounded lifetime (the spec's default, 24 h): never "0s" (no expiry)
            "properties": {"ttl": {"const": "24h0m0s"},
                           "usages": {"const": ["signing", "authentication"]}}}},
         "nodeRegistration": NODE_REGISTRATION,
         "localAPIEndpoint": {"required": ["advertiseAddress", "bindPort"],
                              "properties": {"bindPort": {"const": 6443}}}},
    ),
    "ClusterConfiguration": kubeadm_schema(
        "ClusterConfiguration",
        ["clusterName", "kubernetesVersion", "controlPlaneEndpoint", "networking", "apiServer",
         "controllerManager", "scheduler", "etcd"],
        {"kubernetesVersion": {"type": "string", "pattern": r"^v1\.(3[1-9]|[4-9][0-9])\.[0-9]+$"},
         "networking": {"required": ["podSubnet", "serviceSubnet"]},
         "apiServer": {"required": ["certSANs", "extraArgs", "extraVolumes"],
                       "properties": {"extraArgs": NAME_VALUE, "extraVolumes": {"type": "array", "items": {
                           "required": ["name", "hostPath", "mountPath", "readOnly", "pathType"]}}}},
         "controllerManager": {"required": ["extraArgs"], "properties": {"extraArgs": NAME_VALUE}},
         "scheduler": {"required": ["extraArgs"], "properties": {"extraArgs": NAME_VALUE}},
         "etcd": {"required": ["local"], "properties": {"local": {
             "required": ["extraArgs"], "properties": {"extraArgs": NAME_VALUE}}}}},
    ),
    "KubeletConfiguration": {
        "type": "object",
        "required": ["apiVersion", "cgroupDriver", "rotateCertificates", "serverTLSBootstrap",
                     "protectKernelDefaults", "containerRuntimeEndpoint"],
        "properties": {"apiVersion": {"const": "kubelet.config.k8s.io/v1beta1"},
                       "cgroupDriver": {"const": "systemd"}, "rotateCertificates": {"const": True},
                       # serving certificate from the cluster CA (kubelet-csr-approver approves it)
                       "serverTLSBootstrap": {"const": True},
                       "protectKernelDefaults": {"const": True}, "readOnlyPort": {"const": 0},
                       "containerRuntimeEndpoint": {"const": "unix:///var/run/crio/crio.sock"}},
    },
    "KubeProxyConfiguration": {
        "type": "object", "required": ["apiVersion", "metricsBindAddress"],
        "properties": {"apiVersion": {"const": "kubeproxy.config.k8s.io/v1alpha1"},
                       "metricsBindAddress": {"const": "0.0.0.0:10249"}},
    },
    "JoinConfiguration": kubeadm_schema(
        "JoinConfiguration", ["discovery", "nodeRegistration"],
        {"discovery": {"required": ["bootstrapToken"], "properties": {"bootstrapToken": {
            "required": ["apiServerEndpoint", "token", "caCertHashes"],
            "properties": {"apiServerEndpoint": {"type": "string", "pattern": r":6443$"},
                           "token": {"type": "string"},
                           "caCertHashes": {"type": "array", "minItems": 1, "items": {
                               "type": "string", "pattern": "^sha256:[0-9a-f]{64}$"}}},
            "additionalProperties": False}}},  # no unsafeSkipCAVerification
         "nodeRegistration": NODE_REGISTRATION},
    ),
}


@pytest.mark.parametrize("name", CONTROL_PLANES)
def test_kubeadm_init_documents(name: str) -> None:
    spec = SPECS[name]
    found = docs(render_k8s_kubeadm_init_config(spec))
    assert sorted(found) == sorted(["InitConfiguration", "ClusterConfiguration",
                                    "KubeletConfiguration", "KubeProxyConfiguration"])
    for kind, doc in found.items():
        jsonschema.validate(doc, SCHEMAS[kind])
    init, cluster = found["InitConfiguration"], found["ClusterConfiguration"]
    assert args(init["nodeRegistration"]["kubeletExtraArgs"])["provider-id"] == "@@provider_id@@"
    kubelet = found["KubeletConfiguration"]
    assert "providerID" not in kubelet  # cluster-wide: no per-node value
    # the kubelets' serving certificates come from the cluster CA (CSRs that kubelet-csr-approver
    # approves in v4-platform), rotated like the client certificates
    assert (kubelet["serverTLSBootstrap"], kubelet["rotateCertificates"]) == (True, True)
    # graceful node shutdown within the 30 s Ubuntu's logind lets an inhibitor delay shutdown
    assert (kubelet["shutdownGracePeriod"], kubelet["shutdownGracePeriodCriticalPods"]) == ("30s", "10s")
    assert init["bootstrapTokens"][0]["token"] == "@@token@@"
    assert init["certificateKey"] == "@@certificate_key@@"
    assert init["nodeRegistration"]["taints"] == [
        {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}]
    assert cluster["controlPlaneEndpoint"] == f"{ENDPOINT}:6443"
    assert cluster["kubernetesVersion"] == f"v{k8s_versions.KUBERNETES_VERSION}"
    assert cluster["clusterName"] == "looper-dev"
    assert cluster["networking"]["podSubnet"] == "192.168.0.0/16"
    assert cluster["networking"]["serviceSubnet"] == "10.96.0.0/12"
    assert cluster["apiServer"]["certSANs"] == [ENDPOINT, *spec.api_cert_sans]
    api = args(cluster["apiServer"]["extraArgs"])
    assert api["service-account-issuer"] == ISSUER
    assert api["service-account-jwks-uri"] == f"{ISSUER}/openid/v1/jwks"
    assert api["profiling"] == "false"
    assert api["audit-log-path"].startswith("/var/log/kubernetes/audit/")
    volumes = {v["hostPath"]: v for v in cluster["apiServer"]["extraVolumes"]}
    for flag in ("audit-policy-file", "audit-log-path", "encryption-provider-config"):
        directory = api[flag].rsplit("/", 1)[0]
        assert volumes[directory]["mountPath"] == directory  # the file is visible in the pod
    assert volumes["/var/log/kubernetes/audit"]["readOnly"] is False
    assert volumes["/etc/kubernetes/enc"]["readOnly"] is True
    for component in ("controllerManager", "scheduler"):
        assert args(cluster[component]["extraArgs"])["bind-address"] == "0.0.0.0"  # noqa: S104
    assert args(cluster["etcd"]["local"]["extraArgs"]) == {"listen-metrics-urls": "http://0.0.0.0:2381"}
    assert "--cloud-provider" not in render_k8s_kubeadm_init_config(spec)
    assert "cloud-provider" not in json.dumps(found)


@pytest.mark.parametrize("name", sorted(SPECS))
def test_kubeadm_join_document(name: str) -> None:
    spec = SPECS[name]
    join = docs(render_k8s_kubeadm_join_config(spec))["JoinConfiguration"]
    jsonschema.validate(join, SCHEMAS["JoinConfiguration"])
    token = join["discovery"]["bootstrapToken"]
    assert token["caCertHashes"] == [HASH]
    assert token["apiServerEndpoint"] == f"{ENDPOINT}:6443"
    assert ("controlPlane" in join) is spec.is_control_plane
    if spec.is_control_plane:
        assert join["controlPlane"]["certificateKey"] == "@@certificate_key@@"
    kubelet = args(join["nodeRegistration"]["kubeletExtraArgs"])
    labels = dict(item.split("=") for item in kubelet["node-labels"].split(","))
    assert labels["topology.kubernetes.io/zone"] == "@@zone@@"
    assert labels["topology.kubernetes.io/region"] == "@@region@@"
    assert labels["node.kubernetes.io/instance-type"] == "@@instance_type@@"
    assert not any(key.startswith("node-role.kubernetes.io") for key in labels)
    assert kubelet["node-ip"] == "@@node_ip@@"
    # every kubelet registers its provider ID (filled from the helper's identity at boot)
    assert kubelet["provider-id"] == "@@provider_id@@"


# --- labels and taints ------------------------------------------------------------------------


def test_kafka_worker_labels_and_taint() -> None:
    join = docs(render_k8s_kubeadm_join_config(SPECS["k8s_worker_kafka"]))["JoinConfiguration"]
    labels = dict(item.split("=") for item in args(join["nodeRegistration"]["kubeletExtraArgs"])[
        "node-labels"].split(","))
    assert labels["dedicated"] == "kafka" and labels["node.kubernetes.io/pool"] == "kafka"
    assert join["nodeRegistration"]["taints"] == [
        {"key": "dedicated", "value": "kafka", "effect": "NoSchedule"}]
    plain = docs(render_k8s_kubeadm_join_config(SPECS["k8s_worker"]))["JoinConfiguration"]
    assert plain["nodeRegistration"]["taints"] == []


@pytest.mark.parametrize("name", GPU_WORKERS)
def test_gpu_labels_and_taint(name: str) -> None:
    join = join_config(name)
    labels = kubelet_labels(join)
    assert labels["nvidia.com/gpu.present"] == "true"
    assert labels["looper/accelerator"] == "nvidia-l4"
    # Cluster Autoscaler's AWS provider waits for the GPUs of a node with this label
    assert labels["k8s.amazonaws.com/accelerator"] == "nvidia-l4"
    assert labels["nvidia.com/gpu.deploy.driver"] == "false"  # the driver is on the host
    assert labels["looper/cloud"] == SPECS[name].secret_backend
    for key in ("topology.kubernetes.io/zone", "topology.kubernetes.io/region",
                "node.kubernetes.io/instance-type"):
        assert labels[key].startswith("@@")  # from instance metadata at join time
    assert join["nodeRegistration"]["taints"] == [
        {"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}]
    assert GPU_TAINT == "nvidia.com/gpu=present:NoSchedule"
    # the caller's own taints come first, the GPU taint is not repeated
    both = K8sNodeBootstrap(**GCP_WORKER, gpu=K8sGpuWorker(),
                            node_taints=("dedicated=gpu:NoSchedule", GPU_TAINT))
    assert [t.key for t in both.taints] == ["dedicated", "nvidia.com/gpu"]


def test_label_and_taint_values_stay_data_in_the_kubeadm_yaml() -> None:
    odd = 'a: "b" # c'
    spec = K8sNodeBootstrap(**WORKER, node_labels={"looper/note": odd},
                            node_taints=("looper/odd=0.1_e-3:NoExecute",))
    join = docs(render_k8s_kubeadm_join_config(spec))["JoinConfiguration"]["nodeRegistration"]
    assert args(join["kubeletExtraArgs"])["node-labels"].startswith(f"looper/note={odd},")
    # a YAML float look-alike stays a string
    assert join["taints"] == [{"key": "looper/odd", "value": "0.1_e-3", "effect": "NoExecute"}]


@pytest.mark.parametrize("taint", ["looper/odd='x':NoExecute", "a b:NoSchedule", "k=v\n:NoSchedule",
                                   "-k:NoSchedule", "k=" + "v" * 64 + ":NoSchedule"])
def test_a_taint_kubernetes_would_refuse_is_refused(taint: str) -> None:
    spec = K8sNodeBootstrap(**WORKER, node_taints=(taint,))
    with pytest.raises(ValueError, match="is not a taint"):
        render_k8s_kubeadm_join_config(spec)


def test_a_malformed_taint_is_refused_when_rendering() -> None:
    spec = K8sNodeBootstrap(**WORKER, node_taints=("dedicated=kafka:Never",))
    with pytest.raises(ValueError, match="is not a taint"):
        render_k8s_kubeadm_join_config(spec)


def test_worker_has_no_control_plane_documents() -> None:
    with pytest.raises(ValueError, match="role"):
        render_k8s_kubeadm_init_config(SPECS["k8s_worker"])
