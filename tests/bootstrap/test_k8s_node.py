"""Stage v4 kubeadm node user data: goldens, limits, no secrets, kubeadm schemas, the helper.

Golden files live in ``golden/``; regenerate them with ``LOOPER_UPDATE_GOLDEN=1 pytest``.
The AWS helper (``looper-k8s-aws``) runs for real: its SigV4 signer against AWS's published
test vector, its Secrets Manager call against a loopback fake of IMDSv2 and Secrets Manager,
and its ``fill``/``pki`` commands on real keys, so the kubeadm documents are checked both as
rendered (markers) and as kubeadm would read them at boot.

kubernetes-validate is not used here: it validates API resources against the cluster's
OpenAPI schemas, and none of these documents is one (kubeadm/kubelet/kube-proxy component
configs, EncryptionConfiguration and audit Policy are files; Installation is a CRD). The
schemas below express the contract instead.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import os
import py_compile
import re
import secrets
import stat
import subprocess
import sys
import threading
import types
from collections.abc import Iterator
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import jsonschema
import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from helpers.tools import (
    assert_matches_golden,
    assert_shellcheck_clean,
    assert_valid_cloud_config,
)
from looper_infra.bootstrap import k8s_versions
from looper_infra.bootstrap.k8s_node import (
    K8S_AWS_HELPER_PATH,
    K8S_CONF_DIR,
    K8S_SETUP_SCRIPT_PATH,
    USER_DATA_LIMIT,
    K8sNodeBootstrap,
    k8s_node_files,
    k8s_node_user_data,
    render_k8s_audit_policy,
    render_k8s_aws_helper,
    render_k8s_calico_manifests,
    render_k8s_encryption_config,
    render_k8s_kubeadm_init_config,
    render_k8s_kubeadm_join_config,
    render_k8s_node_cloud_config,
    render_k8s_node_user_data,
)

GOLDEN_DIR = Path(__file__).parent / "golden"
ENDPOINT = "internal-looper-dev-api-0123456789abcdef.elb.ap-northeast-2.amazonaws.com"
HASH = "sha256:" + "3f" * 32
ISSUER = "https://d111111abcdef8.cloudfront.net"

COMMON: dict[str, Any] = {
    "cluster_name": "looper-dev",
    "control_plane_endpoint": ENDPOINT,
    "ca_cert_hash": HASH,
    "pod_cidr": "192.168.0.0/16",
    "service_cidr": "10.96.0.0/12",
    "calico_mtu": 1350,
    "secret_backend": "aws",
    "region": "ap-northeast-2",
    "join_secret_id": "looper-dev/k8s/join",
}
CONTROL_PLANE: dict[str, Any] = {
    **COMMON,
    "role": "control-plane",
    "control_plane_secret_id": "looper-dev/k8s/control-plane",
    "service_account_issuer": ISSUER,
}
WORKER: dict[str, Any] = {
    **COMMON,
    "role": "worker",
    "control_plane_secret_id": None,
    "service_account_issuer": None,
}
SPECS = {
    "k8s_control_plane_init": K8sNodeBootstrap(**CONTROL_PLANE, init_node=True),
    "k8s_control_plane_join": K8sNodeBootstrap(
        **CONTROL_PLANE, control_plane_count=3, api_cert_sans=("api.looper.example.com", "10.1.0.10")
    ),
    "k8s_worker": K8sNodeBootstrap(**WORKER, control_plane_count=3),
    "k8s_worker_kafka": K8sNodeBootstrap(
        **WORKER,
        node_labels={"dedicated": "kafka", "node.kubernetes.io/pool": "kafka"},
        node_taints=("dedicated=kafka:NoSchedule",),
    ),
}
CONTROL_PLANES = ("k8s_control_plane_init", "k8s_control_plane_join")
WORKERS = ("k8s_worker", "k8s_worker_kafka")

TOKEN_SHAPE = re.compile(r"[a-z0-9]{6}\.[a-z0-9]{16}")
PRIVATE_KEY_MARKER = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")


@cache
def cloud_config(name: str) -> str:
    return render_k8s_node_cloud_config(SPECS[name])


@cache
def written(name: str) -> dict[str, dict[str, Any]]:
    doc = yaml.safe_load(cloud_config(name))
    return {entry["path"]: entry for entry in doc["write_files"]}


def docs(text: str) -> dict[str, dict[str, Any]]:
    """YAML documents by kind (each kind at most once)."""
    found = [d for d in yaml.safe_load_all(text) if d is not None]
    by_kind = {d["kind"]: d for d in found}
    assert len(by_kind) == len(found)
    return by_kind


def args(items: list[dict[str, str]]) -> dict[str, str]:
    """kubeadm v1beta4 name/value argument list as a dict (names must be unique)."""
    result = {item["name"]: item["value"] for item in items}
    assert len(result) == len(items)
    return result


# --- goldens, size, validity, no secrets ----------------------------------------------------


@pytest.mark.parametrize("name", sorted(SPECS))
def test_cloud_config_matches_golden(name: str) -> None:
    assert_matches_golden(cloud_config(name), GOLDEN_DIR / f"{name}.cloud-config.yaml")


@pytest.mark.parametrize("name", sorted(SPECS))
def test_user_data_fits_ec2_and_decompresses_to_the_cloud_config(name: str) -> None:
    data = k8s_node_user_data(SPECS[name])
    assert len(data) < USER_DATA_LIMIT == 16384
    assert gzip.decompress(data).decode("utf-8") == cloud_config(name)
    assert base64.b64decode(render_k8s_node_user_data(SPECS[name])) == data
    assert k8s_node_user_data(SPECS[name]) == data  # deterministic (gzip mtime 0)


@pytest.mark.parametrize("name", sorted(SPECS))
def test_user_data_holds_no_secret(name: str) -> None:
    text = cloud_config(name)
    assert not PRIVATE_KEY_MARKER.search(text)
    assert not TOKEN_SHAPE.search(text)
    assert "password" not in text.lower()
    assert "set -x" not in text
    # secrets are named, and the markers filled at boot are all there is
    spec = SPECS[name]
    secret_id = spec.control_plane_secret_id if spec.is_control_plane else spec.join_secret_id
    assert secret_id in written(name)[K8S_SETUP_SCRIPT_PATH]["content"]
    assert '"@@token@@"' in written(name)[f"{K8S_CONF_DIR}/kubeadm-join.yaml"]["content"]


@pytest.mark.parametrize("name", sorted(SPECS))
def test_cloud_config_passes_cloud_init_schema(name: str, tmp_path: Path) -> None:
    assert_valid_cloud_config(cloud_config(name), tmp_path)


@pytest.mark.parametrize("name", sorted(SPECS))
def test_scripts_pass_shellcheck_and_python_compiles(name: str, tmp_path: Path) -> None:
    script = tmp_path / "looper-k8s-node"
    script.write_text(written(name)[K8S_SETUP_SCRIPT_PATH]["content"], encoding="utf-8")
    assert_shellcheck_clean(script)
    helper = tmp_path / "looper_k8s_aws.py"
    helper.write_text(written(name)[K8S_AWS_HELPER_PATH]["content"], encoding="utf-8")
    py_compile.compile(str(helper), doraise=True)


def test_files_modes_and_roles() -> None:
    init, join, worker = (
        written(n) for n in ("k8s_control_plane_init", "k8s_control_plane_join", "k8s_worker"))
    for files in (init, join, worker):
        assert files[K8S_SETUP_SCRIPT_PATH]["permissions"] == "0755"
        assert files[f"{K8S_CONF_DIR}/kubeadm-join.yaml"]["permissions"] == "0600"
    for path in (f"{K8S_CONF_DIR}/kubeadm-init.yaml", f"{K8S_CONF_DIR}/encryption-config.yaml",
                 "/etc/kubernetes/audit/policy.yaml"):
        assert init[path]["permissions"] == join[path]["permissions"] == "0600"
        assert path not in worker
    # only the init node applies Calico; only 3 control planes re-upload certificates
    assert f"{K8S_CONF_DIR}/calico-installation.yaml" in init
    assert f"{K8S_CONF_DIR}/calico-installation.yaml" not in join
    timer = "/etc/systemd/system/looper-k8s-upload-certs.timer"
    assert timer not in init and timer not in worker
    assert "OnUnitActiveSec=1h" in join[timer]["content"]  # certificates live 2 h
    assert "ExecStart=/usr/local/sbin/looper-k8s-node upload-certs" in join[
        "/etc/systemd/system/looper-k8s-upload-certs.service"]["content"]


def test_host_preparation_files() -> None:
    files = written("k8s_worker")
    assert files["/etc/modules-load.d/looper-k8s.conf"]["content"].split("\n")[1:3] == [
        "overlay", "br_netfilter"]
    sysctls = dict(
        line.split(" = ") for line in files["/etc/sysctl.d/90-looper-k8s.conf"]["content"].splitlines()
        if line and not line.startswith("#")
    )
    assert sysctls["net.ipv4.ip_forward"] == sysctls["net.bridge.bridge-nf-call-iptables"] == "1"
    # what kubelet's protectKernelDefaults requires
    assert sysctls["vm.overcommit_memory"] == "1" and sysctls["kernel.panic"] == "10"
    crio = files["/etc/crio/crio.conf.d/90-looper.conf"]["content"]
    hooks = re.search(r"hooks_dir = \[(.*?)\]", crio, re.S)
    assert hooks is not None
    assert re.findall(r'"([^"]+)"', hooks[1]) == [
        "/usr/share/containers/oci/hooks.d", "/etc/containers/oci/hooks.d"]
    assert 'cgroup_manager = "systemd"' in crio


def test_packages_are_pinned_held_and_from_verified_repos() -> None:
    script = written("k8s_worker")[K8S_SETUP_SCRIPT_PATH]["content"]
    for value in (k8s_versions.KUBERNETES_APT_VERSION, k8s_versions.CRIO_APT_VERSION,
                  k8s_versions.KUBERNETES_APT_KEY_FINGERPRINT, k8s_versions.CRIO_APT_KEY_FINGERPRINT,
                  f"https://pkgs.k8s.io/core:/stable:/v{k8s_versions.KUBERNETES_MINOR}/deb/",
                  f"isv:/cri-o:/stable:/v{k8s_versions.KUBERNETES_MINOR}/deb/"):
        assert value in script
    for package in ("cri-o=${CRIO_APT_VERSION}", "kubelet=${KUBERNETES_APT_VERSION}",
                    "kubeadm=${KUBERNETES_APT_VERSION}", "kubectl=${KUBERNETES_APT_VERSION}"):
        assert f'"{package}"' in script
    assert 'hold_packages "${packages[@]}"' in script
    assert "swapoff --all" in script
    assert k8s_versions.KUBERNETES_APT_VERSION.startswith(k8s_versions.KUBERNETES_VERSION + "-")
    assert k8s_versions.CRIO_APT_VERSION.startswith(k8s_versions.KUBERNETES_MINOR + ".")


def test_control_plane_flow_and_worker_bounded_join() -> None:
    cp = written("k8s_control_plane_init")[K8S_SETUP_SCRIPT_PATH]["content"]
    assert "--cacert \"${PKI_DIR}/ca.crt\" \"https://${API_ENDPOINT}/livez\"" in cp
    assert "readonly INIT_NODE=true" in cp
    assert "init --config \"${TMP_DIR}/kubeadm-init.yaml\" --upload-certs" in cp
    assert "--skip-token-print --skip-certificate-key-print" in cp  # nothing secret in logs
    assert k8s_versions.CALICO_OPERATOR_MANIFEST_URL in cp
    assert "install -m 0600 \"$ADMIN_KUBECONFIG\" /root/.kube/config" in cp
    joining = written("k8s_control_plane_join")[K8S_SETUP_SCRIPT_PATH]["content"]
    assert "readonly INIT_NODE=false" in joining
    assert "systemctl enable --now looper-k8s-upload-certs.timer" in joining
    worker = written("k8s_worker")[K8S_SETUP_SCRIPT_PATH]["content"]
    assert "kubeadm_logged init" not in worker and "INIT_NODE" not in worker
    assert 'readonly JOIN_ATTEMPTS="${LOOPER_JOIN_ATTEMPTS:-60}"' in worker
    assert 'fail "could not join ${API_ENDPOINT} after ${JOIN_ATTEMPTS} attempts"' in worker


# --- kubeadm documents against an explicit schema -----------------------------------------------

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
            "properties": {"ttl": {"const": "0s"},
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


def test_kafka_worker_labels_and_taint() -> None:
    join = docs(render_k8s_kubeadm_join_config(SPECS["k8s_worker_kafka"]))["JoinConfiguration"]
    labels = dict(item.split("=") for item in args(join["nodeRegistration"]["kubeletExtraArgs"])[
        "node-labels"].split(","))
    assert labels["dedicated"] == "kafka" and labels["node.kubernetes.io/pool"] == "kafka"
    assert join["nodeRegistration"]["taints"] == [
        {"key": "dedicated", "value": "kafka", "effect": "NoSchedule"}]
    plain = docs(render_k8s_kubeadm_join_config(SPECS["k8s_worker"]))["JoinConfiguration"]
    assert plain["nodeRegistration"]["taints"] == []


# --- Calico, encryption, audit --------------------------------------------------------------------


def test_calico_installation() -> None:
    spec = SPECS["k8s_control_plane_init"]
    installation = docs(render_k8s_calico_manifests(spec))["Installation"]
    assert installation["apiVersion"] == "operator.tigera.io/v1"
    assert installation["metadata"]["name"] == "default"
    network = installation["spec"]["calicoNetwork"]
    assert network["mtu"] == 1350 and network["bgp"] == "Disabled"
    assert network["ipPools"] == [{
        "name": "default-ipv4-ippool", "cidr": "192.168.0.0/16", "blockSize": 26,
        "encapsulation": "VXLAN", "natOutgoing": "Enabled", "nodeSelector": "all()"}]
    other = K8sNodeBootstrap(**{**CONTROL_PLANE, "calico_mtu": 1400, "pod_cidr": "172.20.0.0/16"},
                             init_node=True)
    network = docs(render_k8s_calico_manifests(other))["Installation"]["spec"]["calicoNetwork"]
    assert network["mtu"] == 1400 and network["ipPools"][0]["cidr"] == "172.20.0.0/16"


def test_encryption_config_and_audit_policy() -> None:
    spec = SPECS["k8s_control_plane_init"]
    enc = docs(render_k8s_encryption_config(spec))["EncryptionConfiguration"]
    assert enc["apiVersion"] == "apiserver.config.k8s.io/v1"
    [rule] = enc["resources"]
    assert rule["resources"] == ["secrets"]
    assert [next(iter(p)) for p in rule["providers"]] == ["secretbox", "identity"]
    assert rule["providers"][0]["secretbox"]["keys"][0]["secret"] == "@@encryption_key@@"
    policy = docs(render_k8s_audit_policy(spec))["Policy"]
    assert policy["apiVersion"] == "audit.k8s.io/v1"

    def level(group: str, resource: str, verb: str) -> str:
        for rule in policy["rules"]:  # first match wins
            if "nonResourceURLs" in rule:
                continue
            if "verbs" in rule and verb not in rule["verbs"]:
                continue
            if "resources" in rule and not any(
                r["group"] == group and resource in r["resources"] for r in rule["resources"]
            ):
                continue
            return str(rule["level"])
        raise AssertionError("no rule matched")

    assert level("", "secrets", "create") == "Metadata"  # never a secret's body
    assert level("", "configmaps", "update") == "Metadata"
    assert level("authentication.k8s.io", "tokenreviews", "create") == "Metadata"
    assert level("apps", "deployments", "patch") == "Request"
    assert level("", "pods", "get") == "Metadata"


# --- the AWS helper, for real ---------------------------------------------------------------------


@cache
def helper_module() -> types.ModuleType:
    module = types.ModuleType("looper_k8s_aws")
    exec(compile(render_k8s_aws_helper(SPECS["k8s_worker"]), "looper-k8s-aws", "exec"), module.__dict__)  # noqa: S102
    return module


def test_sigv4_matches_the_aws_test_suite() -> None:
    # AWS SigV4 test suite "get-vanilla" (credentials AKIDEXAMPLE / wJalr...EXAMPLEKEY).
    headers = helper_module().sigv4(
        "GET", "example.amazonaws.com", "/",
        {"host": "example.amazonaws.com", "x-amz-date": "20150830T123600Z"}, b"",
        ("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", None),
        "us-east-1", "service", "20150830T123600Z",
    )
    assert headers["authorization"] == (
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
        "SignedHeaders=host;x-amz-date, "
        "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
    )


def fake_secret() -> dict[str, str]:
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kubernetes")])
    import datetime

    now = datetime.datetime.now(datetime.UTC)
    ca = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
          .public_key(ca_key.public_key()).serial_number(1).not_valid_before(now)
          .not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    sa_key = ec.generate_private_key(ec.SECP256R1())
    pem = serialization.Encoding.PEM
    return {
        "ca_crt": ca.public_bytes(pem).decode(),
        "ca_key": ca_key.private_bytes(pem, serialization.PrivateFormat.TraditionalOpenSSL,
                                       serialization.NoEncryption()).decode(),
        "sa_key": sa_key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()).decode(),
        "sa_pub": sa_key.public_key().public_bytes(
            pem, serialization.PublicFormat.SubjectPublicKeyInfo).decode(),
        "token": "abcdef.0123456789abcdef",
        "certificate_key": secrets.token_hex(32),
        "encryption_key": base64.b64encode(secrets.token_bytes(32)).decode(),
    }


IDENTITY = {"zone": "ap-northeast-2a", "region": "ap-northeast-2", "instance_type": "m7i.large",
            "node_ip": "10.1.16.23", "node_name": "ip-10-1-16-23.ap-northeast-2.compute.internal"}


def run_helper(
    helper: Path, *argv: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(helper), *argv], capture_output=True, text=True,
                          timeout=60, check=False, env={**os.environ, **(env or {})})


@pytest.fixture
def helper(tmp_path: Path) -> Path:
    path = tmp_path / "looper-k8s-aws"
    path.write_text(render_k8s_aws_helper(SPECS["k8s_worker"]), encoding="utf-8")
    return path


def test_fill_and_pki_produce_what_kubeadm_reads(helper: Path, tmp_path: Path) -> None:
    spec = SPECS["k8s_control_plane_join"]
    secret = fake_secret()
    (tmp_path / "secret.json").write_text(json.dumps(secret))
    (tmp_path / "identity.json").write_text(json.dumps(IDENTITY))
    files = k8s_node_files(spec)
    outputs = {}
    for name in ("kubeadm-init.yaml", "kubeadm-join.yaml", "encryption-config.yaml"):
        (tmp_path / f"{name}.tmpl").write_text(files[f"{K8S_CONF_DIR}/{name}"])
        proc = run_helper(helper, "fill", str(tmp_path / f"{name}.tmpl"), str(tmp_path / name),
                          str(tmp_path / "identity.json"), str(tmp_path / "secret.json"))
        assert proc.returncode == 0, proc.stderr
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600
        outputs[name] = (tmp_path / name).read_text()
        assert "@@" not in outputs[name]
    init = docs(outputs["kubeadm-init.yaml"])
    assert init["InitConfiguration"]["bootstrapTokens"][0]["token"] == secret["token"]
    assert init["InitConfiguration"]["certificateKey"] == secret["certificate_key"]
    assert init["InitConfiguration"]["localAPIEndpoint"]["advertiseAddress"] == "10.1.16.23"
    join = docs(outputs["kubeadm-join.yaml"])["JoinConfiguration"]
    assert join["discovery"]["bootstrapToken"]["token"] == secret["token"]
    assert join["nodeRegistration"]["name"] == IDENTITY["node_name"]
    labels = args(join["nodeRegistration"]["kubeletExtraArgs"])["node-labels"]
    assert "topology.kubernetes.io/zone=ap-northeast-2a" in labels.split(",")
    assert "node.kubernetes.io/instance-type=m7i.large" in labels.split(",")
    enc = docs(outputs["encryption-config.yaml"])["EncryptionConfiguration"]
    key = enc["resources"][0]["providers"][0]["secretbox"]["keys"][0]["secret"]
    assert len(base64.b64decode(key)) == 32

    pki = tmp_path / "pki"
    proc = run_helper(helper, "pki", str(tmp_path / "secret.json"), str(pki))
    assert proc.returncode == 0, proc.stderr
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in pki.iterdir()}
    assert modes == {"ca.crt": 0o644, "ca.key": 0o600, "sa.key": 0o600, "sa.pub": 0o644}
    # the discovery hash the program computes is the hash of this CA
    cert = x509.load_pem_x509_certificate((pki / "ca.crt").read_bytes())
    spki = cert.public_key().public_bytes(serialization.Encoding.DER,
                                          serialization.PublicFormat.SubjectPublicKeyInfo)
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", "sha256:" + hashlib.sha256(spki).hexdigest())
    assert proc.stdout == "" and secret["token"] not in proc.stderr


@pytest.mark.parametrize("key, value", [
    ("token", "ABCDEF.0123456789abcdef"),
    ("certificate_key", "abc"),
    ("encryption_key", base64.b64encode(b"x" * 16).decode()),
])
def test_fill_rejects_malformed_secrets_without_printing_them(
    helper: Path, tmp_path: Path, key: str, value: str
) -> None:
    secret = {**fake_secret(), key: value}
    (tmp_path / "secret.json").write_text(json.dumps(secret))
    (tmp_path / "identity.json").write_text(json.dumps(IDENTITY))
    template = tmp_path / "t.yaml"
    template.write_text(k8s_node_files(SPECS["k8s_control_plane_init"])[f"{K8S_CONF_DIR}/kubeadm-init.yaml"]
                        + render_k8s_encryption_config(SPECS["k8s_control_plane_init"]))
    proc = run_helper(helper, "fill", str(template), str(tmp_path / "out"),
                      str(tmp_path / "identity.json"), str(tmp_path / "secret.json"))
    assert proc.returncode == 1
    assert key in proc.stderr and value not in proc.stderr + proc.stdout
    assert not (tmp_path / "out").exists()


class FakeAws(BaseHTTPRequestHandler):
    """IMDSv2 and Secrets Manager on loopback; records what it was sent."""

    secret_string: ClassVar[str] = ""
    seen: ClassVar[list[tuple[str, str, dict[str, str], bytes]]] = []

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def _answer(self, code: int, body: str) -> None:
        data = body.encode()
        self.send_response(code)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_PUT(self) -> None:
        self.seen.append(("PUT", self.path, dict(self.headers), b""))
        if self.path == "/latest/api/token" and self.headers["X-aws-ec2-metadata-token-ttl-seconds"]:
            self._answer(200, "imds-session")
        else:
            self._answer(400, "")

    def do_GET(self) -> None:
        self.seen.append(("GET", self.path, dict(self.headers), b""))
        if self.headers.get("X-aws-ec2-metadata-token") != "imds-session":
            self._answer(401, "")  # IMDSv1 is off
            return
        answers = {
            "/latest/meta-data/iam/security-credentials/": "looper-dev-k8s-node\n",
            "/latest/meta-data/iam/security-credentials/looper-dev-k8s-node": json.dumps(
                {"AccessKeyId": "ASIAEXAMPLE", "SecretAccessKey": "example-secret-key",
                 "Token": "session-token"}),
            "/latest/meta-data/placement/availability-zone": IDENTITY["zone"],
            "/latest/meta-data/placement/region": IDENTITY["region"],
            "/latest/meta-data/instance-type": IDENTITY["instance_type"],
            "/latest/meta-data/local-ipv4": IDENTITY["node_ip"],
            "/latest/meta-data/local-hostname": IDENTITY["node_name"],
        }
        self._answer(200, answers[self.path]) if self.path in answers else self._answer(404, "")

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.seen.append(("POST", self.path, dict(self.headers), body))
        self._answer(200, json.dumps({"Name": "x", "SecretString": self.secret_string}))


@pytest.fixture
def fake_aws() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeAws)
    FakeAws.seen = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


def test_secret_and_identity_through_imdsv2_and_signed_requests(
    helper: Path, tmp_path: Path, fake_aws: str
) -> None:
    secret = fake_secret()
    FakeAws.secret_string = json.dumps(secret)
    env = {"LOOPER_IMDS_URL": fake_aws, "LOOPER_SECRETS_ENDPOINT": fake_aws}
    out = tmp_path / "secret.json"
    proc = run_helper(helper, "secret", "ap-northeast-2", "looper-dev/k8s/control-plane", str(out), env=env)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(out.read_text()) == secret
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert proc.stdout == "" and proc.stderr == ""
    [post] = [s for s in FakeAws.seen if s[0] == "POST"]
    headers = {k.lower(): v for k, v in post[2].items()}
    assert headers["x-amz-target"] == "secretsmanager.GetSecretValue"
    assert headers["x-amz-security-token"] == "session-token"
    assert re.fullmatch(
        r"AWS4-HMAC-SHA256 Credential=ASIAEXAMPLE/\d{8}/ap-northeast-2/secretsmanager/aws4_request, "
        r"SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-amz-target, "
        r"Signature=[0-9a-f]{64}", headers["authorization"])
    assert json.loads(post[3]) == {"SecretId": "looper-dev/k8s/control-plane"}
    # every metadata read carried the IMDSv2 session token
    gets = [{k.lower(): v for k, v in s[2].items()} for s in FakeAws.seen if s[0] == "GET"]
    assert gets and all(h.get("x-aws-ec2-metadata-token") == "imds-session" for h in gets), gets

    identity = tmp_path / "identity.json"
    proc = run_helper(helper, "identity", str(identity), env=env)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(identity.read_text()) == IDENTITY


# --- values the spec takes as given --------------------------------------------------------------
# (the cluster's networks, MTU, control-plane count and region are validated by config:
# tests/config/test_v4.py; the version pins by tests/bootstrap/test_k8s_versions.py)


def test_five_control_planes_keep_their_certificates_uploaded() -> None:
    spec = K8sNodeBootstrap(**CONTROL_PLANE, control_plane_count=5)  # config allows 1, 3 or 5
    files = k8s_node_files(spec)
    assert "/etc/systemd/system/looper-k8s-upload-certs.timer" in files
    assert "systemctl enable --now looper-k8s-upload-certs.timer" in files[K8S_SETUP_SCRIPT_PATH]


def test_label_and_taint_values_stay_data_in_the_kubeadm_yaml() -> None:
    odd = 'a: "b" # c'
    spec = K8sNodeBootstrap(**WORKER, node_labels={"looper/note": odd},
                            node_taints=("looper/odd='x':NoExecute",))
    join = docs(render_k8s_kubeadm_join_config(spec))["JoinConfiguration"]["nodeRegistration"]
    assert args(join["kubeletExtraArgs"])["node-labels"].startswith(f"looper/note={odd},")
    assert join["taints"] == [{"key": "looper/odd", "value": "'x'", "effect": "NoExecute"}]


def test_a_malformed_taint_is_refused_when_rendering() -> None:
    spec = K8sNodeBootstrap(**WORKER, node_taints=("dedicated=kafka:Never",))
    with pytest.raises(ValueError, match="is not a taint"):
        render_k8s_kubeadm_join_config(spec)


def test_worker_has_no_control_plane_documents() -> None:
    with pytest.raises(ValueError, match="role"):
        render_k8s_kubeadm_init_config(SPECS["k8s_worker"])
