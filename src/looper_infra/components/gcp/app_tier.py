"""The app tier of stage v3: private app VMs in a regional managed instance group.

    AppTier
      InstanceTemplate "app-template"   hardened, no external IP, optional L4 GPUs; cloud-init
                                        runs the app behind the load balancer (no Caddy)
      RegionalMig "app-group"           spread over zones, autoscaled on CPU, autohealed,
                                        rolling updates that keep capacity

The identity the VMs run as is given (it also reads the DB tier's secrets, so it is the
stage's). The startup document is rendered here from the app and the DB tier's connection.
Children keep the logical names stage v3 deployed them with as top-level resources (a rename
would replace them), so a stack holds one AppTier.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi

from looper_infra.bootstrap.app_vm import AppVmStartup, GpuSetup, render_app_vm_cloud_config
from looper_infra.components.base import Component, moved_from_root
from looper_infra.components.gcp.app_container import AppContainer
from looper_infra.components.gcp.db_tier import DbConnection
from looper_infra.components.gcp.https_lb import Backend
from looper_infra.components.gcp.instance_template import InstanceTemplate, InstanceTemplateArgs
from looper_infra.components.gcp.placement import Placement
from looper_infra.components.gcp.regional_mig import RegionalMig, RegionalMigArgs
from looper_infra.components.gcp.vm import IAM_LIMITED_SCOPES, Accelerator, Machine, Scheduling

#: the instance group's named port the load balancer's backend sends to
PORT_NAME = "http"
#: the app's environment that tells it where the database is; the tier sets these
DB_ENV_KEYS = ("LOOPER_DB_HOST", "LOOPER_DB_PORT", "LOOPER_DB_NAME", "LOOPER_DB_USER",
               "LOOPER_DB_PASSWORD_SECRET", "LOOPER_CHROMA_URL", "LOOPER_CHROMA_TOKEN_SECRET")


@dataclass(frozen=True)
class Scaling:
    """Autoscaler bounds and autohealing (the delay must exceed boot + app start)."""

    min_replicas: int = 2
    max_replicas: int = 6
    cpu_target: float = 0.6
    cooldown_sec: int = 180
    autohealing_initial_delay_sec: int = 600


@dataclass(frozen=True)
class Rollout:
    """Rolling updates; fixed values are 0 or >= the zone count (config/v3.py checks them)."""

    max_surge: int = 3
    max_unavailable: int = 0


@dataclass(frozen=True)
class AppTierArgs:
    #: cloud names: `<prefix>-<env>-app` (template prefix, group, instances)
    placement: Placement
    subnetwork: pulumi.Input[str]
    service_account_email: pulumi.Input[str]
    app: AppContainer
    #: the domain the load balancer serves (the app learns it from its startup)
    domain: str
    database: DbConnection
    machine: Machine
    #: at least 2, in the region (config/v3.py checks them)
    zones: tuple[str, ...]
    #: the tags the firewall admits the load balancer and health checks by
    network_tags: tuple[str, ...] = ()
    #: L4 GPUs on every VM (a G2 machine type)
    gpu: Accelerator | None = None
    scaling: Scaling = field(default_factory=Scaling)
    rollout: Rollout = field(default_factory=Rollout)

    def problems(self) -> list[str]:
        found = [f"app.env.{k}: set by the app tier (where the database is)"
                 for k in DB_ENV_KEYS if k in self.app.env]
        if not self.network_tags:
            found.append("network_tags: at least one (the firewall admits the load balancer by tag)")
        return found


class AppTier(Component):
    #: what the load balancer serves: the group, its named port and health endpoint
    backend: Backend

    def __init__(self, name: str, args: AppTierArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("looper:gcp:AppTier", name, args, opts)
        moved, gpu, app, at = moved_from_root(self.child_opts), args.gpu, args.app, args.placement
        nm = at.name("app")
        db = args.database
        startup = pulumi.Output.all(db.host, db.password_secret, db.chroma_token_secret).apply(
            lambda v: _startup(args, host=v[0], password_secret=v[1], token_secret=v[2]))
        template = InstanceTemplate("app-template", InstanceTemplateArgs(
            project=at.project, region=at.region, name_prefix=nm, machine_type=args.machine.type,
            boot_disk=args.machine.boot_disk, subnetwork=args.subnetwork,
            service_account_email=args.service_account_email, user_data=startup,
            network_tags=args.network_tags, labels={"role": "app"},
            scopes=IAM_LIMITED_SCOPES,  # the app reads its secrets; limited by its identity's grants
            scheduling=Scheduling(on_host_maintenance="TERMINATE") if gpu else Scheduling(),
            accelerators=(gpu,) if gpu else ()), moved)
        s, r = args.scaling, args.rollout
        group = RegionalMig("app-group", RegionalMigArgs(
            project=at.project, region=at.region, cloud_name=nm,
            instance_template=template.self_link, zones=args.zones, port_name=PORT_NAME,
            port=app.port, health_path=app.health_path, min_replicas=s.min_replicas,
            max_replicas=s.max_replicas, cpu_target=s.cpu_target, cooldown_sec=s.cooldown_sec,
            autohealing_initial_delay_sec=s.autohealing_initial_delay_sec,
            max_surge=r.max_surge, max_unavailable=r.max_unavailable), moved)
        self.backend = Backend(instance_group=group.instance_group, port_name=PORT_NAME,
                               port=app.port, health_path=app.health_path)
        self.register_outputs({"instance_group": group.instance_group})


def _startup(args: AppTierArgs, *, host: str, password_secret: str, token_secret: str) -> str:
    """An app VM's cloud-config: the app on its port behind the load balancer, told the DB."""
    app, db = args.app, args.database
    return render_app_vm_cloud_config(AppVmStartup(
        domain=args.domain, acme_email=None, app_image=app.image, app_port=app.port,
        health_path=app.health_path, behind_load_balancer=True,
        gpu=GpuSetup(count=args.gpu.count) if args.gpu else None,
        app_env={**app.env,
                 "LOOPER_DB_HOST": host, "LOOPER_DB_PORT": str(db.port),
                 "LOOPER_DB_NAME": db.database, "LOOPER_DB_USER": db.user,
                 "LOOPER_DB_PASSWORD_SECRET": password_secret,
                 "LOOPER_CHROMA_URL": f"http://{host}:{db.chroma_port}",
                 "LOOPER_CHROMA_TOKEN_SECRET": token_secret}))
