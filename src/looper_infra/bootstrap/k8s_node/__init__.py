"""User data that turns an Ubuntu 24.04 EC2 instance or GCE VM into a kubeadm Kubernetes node (v4).

One typed input, :class:`K8sNodeBootstrap` (``spec``), and one pure render function per
template under ``templates/``, each in the module of what it renders:

====================================  ==============================================
template                              render function (module)
====================================  ==============================================
``k8s-node.cloud-config.yaml.j2``     :func:`render_k8s_node_cloud_config`
                                      (:func:`render_k8s_node_user_data`: base64 gzip;
                                      ``cloud_config``)
``k8s-node-setup.sh.j2``              :func:`render_k8s_node_setup_script` (``setup_script``)
``k8s-node-aws.py.j2``                :func:`render_k8s_aws_helper` (``cloud_helpers``)
``k8s-node-gcp.py.j2``                :func:`render_k8s_gcp_helper` (extends the AWS helper)
``k8s-kubeadm.yaml.j2``               :func:`render_k8s_kubeadm_init_config`,
                                      :func:`render_k8s_kubeadm_join_config` (``kubeadm``)
``k8s-encryption-config.yaml.j2``     :func:`render_k8s_encryption_config` (``api_server``)
``k8s-audit-policy.yaml.j2``          :func:`render_k8s_audit_policy` (``api_server``)
``k8s-calico-installation.yaml.j2``   :func:`render_k8s_calico_manifests` (``calico``)
``k8s-node.units.j2``                 systemd units, modules, sysctls, CRI-O drop-in
====================================  ==============================================

Every name above is importable from this package; file locations are in ``layout``.

Trust chain (DESIGN.md "Trust chain for v4"): nothing secret is rendered. The kubeadm and
encryption configs carry ``@@name@@`` markers; at boot ``looper-k8s-aws`` (Python standard
library, SigV4-signed Secrets Manager calls with the instance role's IMDSv2 credentials)
fetches the secret JSON into a root-only file in /run and fills the markers, checking each
value's format. Discovery pins the CA with ``ca_cert_hash``; control planes write the
pre-generated CA and service-account key pair to /etc/kubernetes/pki before kubeadm runs.

Control planes survive replacement: a control plane joins when the API endpoint answers
(``/livez``, verified against the cluster CA); only the ``init_node`` runs ``kubeadm init``,
and only after the endpoint stayed silent for several polls; the others poll, bounded.
With several control planes (3 or 5), a timer re-uploads the control-plane certificates hourly
(kubeadm deletes them after 2 h) so a replacement can join at any time. The init node applies
Calico (pinned CRDs, operator, Installation; server-side) at every boot, not only after
``kubeadm init``, and a timer re-runs its setup until Calico is up.

Every kubelet registers its provider ID (``aws:///<az>/<instance-id>`` from IMDSv2,
``gce://<project>/<zone>/<name>`` on GCP; the helper's ``identity``), which Node Termination
Handler, Cluster Autoscaler and the control planes' dead-Node cleanup (``looper-k8s-nodes``,
``lifecycle``) map instances by; a Node takes it at registration only, so nodes that joined
before keep none until they are replaced.

The setup script reuses the app VM setup script's shell helpers (retry, step markers, apt
repositories with fingerprint-checked keys), cut out at render time by
:mod:`looper_infra.bootstrap.app_vm_shell`.

GCP nodes (``secret_backend="gcp"``, workers only) join the AWS cluster over the VPN:

- the join secret comes from GCP Secret Manager (``projects/P/secrets/S``, latest version,
  REST with the service account's token from the metadata server; ``looper-k8s-gcp``,
  standard library only), topology labels from the GCE metadata server (zone, region,
  machine type);
- the API endpoint is the AWS *internal* API NLB's DNS name, which a GCP resolver cannot be
  relied on for: the setup script pins it in a managed block of /etc/hosts to
  ``api_server_addresses`` (the NLB's fixed private IPs, one per AZ; required for GCP) at
  every run, so discovery and the kubelet reach it through the VPN without DNS forwarding;
- the Calico MTU must fit the VPN (at most :data:`VPN_CALICO_MTU_MAX`) and the setup
  script checks that the NIC carries it plus VXLAN's 50 bytes.

``gpu`` (:class:`K8sGpuWorker`, either backend) makes a worker a GPU node: labels
(``nvidia.com/gpu.present``, ``looper/accelerator``, ``nvidia.com/gpu.deploy.driver=false``),
the taint :data:`GPU_TAINT`, and Ubuntu's Canonical-signed NVIDIA driver on the host (the
way ``app_vm.GpuSetup`` installs it: precompiled modules of the cloud's kernel flavour that
load under Secure Boot, one reboot). The cluster's NVIDIA GPU operator then runs with
``driver.enabled=false`` (the label tells it too): its driver container would build kernel
modules that a Secure Boot kernel refuses, and precompiled driver images do not follow the
floating GCE/EC2 kernels. The operator's toolkit configures CRI-O (OCI hook in
``/usr/share/containers/oci/hooks.d``, which CRI-O's ``hooks_dir`` includes, or CDI); the
host gets no container toolkit and no second runtime.
"""

from looper_infra.bootstrap.k8s_node.api_server import render_k8s_audit_policy, render_k8s_encryption_config
from looper_infra.bootstrap.k8s_node.calico import render_k8s_calico_manifests
from looper_infra.bootstrap.k8s_node.cloud_config import (
    GCE_METADATA_VALUE_LIMIT,
    USER_DATA_LIMIT,
    k8s_node_files,
    k8s_node_user_data,
    render_k8s_node_cloud_config,
    render_k8s_node_gce_user_data,
    render_k8s_node_user_data,
)
from looper_infra.bootstrap.k8s_node.cloud_helpers import (
    render_k8s_aws_helper,
    render_k8s_gcp_helper,
    render_k8s_node_helper,
)
from looper_infra.bootstrap.k8s_node.kubeadm import (
    CRI_SOCKET,
    render_k8s_kubeadm_init_config,
    render_k8s_kubeadm_join_config,
)
from looper_infra.bootstrap.k8s_node.layout import (
    AUDIT_LOG_DIR,
    AUDIT_POLICY_DIR,
    ENCRYPTION_CONFIG_DIR,
    K8S_AWS_HELPER_PATH,
    K8S_CONF_DIR,
    K8S_GCP_HELPER_PATH,
    K8S_SETUP_SCRIPT_PATH,
    K8S_SETUP_UNIT,
    K8S_UPLOAD_CERTS_TIMER,
    K8S_UPLOAD_CERTS_UNIT,
)
from looper_infra.bootstrap.k8s_node.setup_script import (
    HOSTS_BLOCK_BEGIN,
    HOSTS_BLOCK_END,
    VXLAN_OVERHEAD,
    render_k8s_node_setup_script,
)
from looper_infra.bootstrap.k8s_node.spec import (
    API_SERVER_PORT,
    GPU_TAINT,
    SNAPSHOT_KEY,
    TOPOLOGY_LABELS,
    VPN_CALICO_MTU_MAX,
    EtcdBackup,
    K8sGpuWorker,
    K8sNodeBootstrap,
    Taint,
)

__all__ = [
    "API_SERVER_PORT",
    "AUDIT_LOG_DIR",
    "AUDIT_POLICY_DIR",
    "CRI_SOCKET",
    "ENCRYPTION_CONFIG_DIR",
    "GCE_METADATA_VALUE_LIMIT",
    "GPU_TAINT",
    "HOSTS_BLOCK_BEGIN",
    "HOSTS_BLOCK_END",
    "K8S_AWS_HELPER_PATH",
    "K8S_CONF_DIR",
    "K8S_GCP_HELPER_PATH",
    "K8S_SETUP_SCRIPT_PATH",
    "K8S_SETUP_UNIT",
    "K8S_UPLOAD_CERTS_TIMER",
    "K8S_UPLOAD_CERTS_UNIT",
    "SNAPSHOT_KEY",
    "TOPOLOGY_LABELS",
    "USER_DATA_LIMIT",
    "VPN_CALICO_MTU_MAX",
    "VXLAN_OVERHEAD",
    "EtcdBackup",
    "K8sGpuWorker",
    "K8sNodeBootstrap",
    "Taint",
    "k8s_node_files",
    "k8s_node_user_data",
    "render_k8s_audit_policy",
    "render_k8s_aws_helper",
    "render_k8s_calico_manifests",
    "render_k8s_encryption_config",
    "render_k8s_gcp_helper",
    "render_k8s_kubeadm_init_config",
    "render_k8s_kubeadm_join_config",
    "render_k8s_node_cloud_config",
    "render_k8s_node_gce_user_data",
    "render_k8s_node_helper",
    "render_k8s_node_setup_script",
    "render_k8s_node_user_data",
]
