"""RDS for PostgreSQL: Multi-AZ, encrypted with its own KMS key, TLS enforced, password never seen.

- Storage encryption can only be chosen at creation (docs/architecture.md), so it is always on, with a
  customer managed key (rotation on) that also encrypts the master password secret and the
  Performance Insights data.
- `manage_master_user_password`: RDS generates the master password and keeps it in Secrets
  Manager (rotated by RDS); Pulumi never sees it. `master_user_secret_arn` is what External
  Secrets or an operator reads.
- The parameter group forces TLS (`rds.force_ssl = 1`) and logs connections, disconnections,
  lock waits and statements slower than a second; `postgresql` logs go to CloudWatch.
- The subnet group spans the data subnets, which must cover at least 2 AZs (RDS refuses less).
- Not public; reachable through the given security groups only.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from looper_infra.components.aws.iam import assume_role_policy
from looper_infra.components.aws.kms import customer_key
from looper_infra.components.aws.secrets import use_through_secrets_manager
from looper_infra.components.base import Component
from looper_infra.facts.rds_windows import BACKUP_WINDOW, MAINTENANCE_WINDOW, windows_overlap

ENHANCED_MONITORING_POLICY = "arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
#: PostgreSQL settings of the parameter group (family `postgres<major>`)
PARAMETERS = {
    "rds.force_ssl": "1",
    "log_connections": "1",
    "log_disconnections": "1",
    "log_lock_waits": "1",
    "log_min_duration_statement": "1000",
}
MONITORING_INTERVALS = (0, 1, 5, 10, 15, 30, 60)
_IDENTIFIER = re.compile(r"^[a-z](?!.*--)[a-z0-9-]{0,62}(?<!-)\Z")
_VERSION = re.compile(r"^(1[1-9])\.([0-9]{1,2})\Z")


def parameter_group_family(engine_version: str) -> str:
    """`17.6` -> `postgres17`."""
    m = _VERSION.match(engine_version)
    if not m:
        raise ValueError(f"engine_version {engine_version!r} is not <major>.<minor>")
    return f"postgres{m.group(1)}"


def _subnet_problems(ids: Sequence[str]) -> list[str]:
    if len(ids) < 2:
        return [f"subnet_ids: {len(ids)} subnet(s); an RDS subnet group needs subnets in at least 2 AZs"]
    if len(set(ids)) != len(ids):
        return ["subnet_ids: duplicates"]
    return []


def master_secret_reader_statements(secret_arn: pulumi.Input[str], key_arn: pulumi.Input[str], *,
                                    region: str, account_id: str) -> list[dict[str, Any]]:
    """What a reader of the RDS-managed master secret needs (External Secrets): GetSecretValue on
    that secret, and kms:Decrypt on the database key only when Secrets Manager asks for it."""
    return [{"Sid": "ReadRdsMasterSecret", "Effect": "Allow",
             "Action": ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
             "Resource": secret_arn},
            use_through_secrets_manager(key_arn, region, account_id, sid="DecryptRdsMasterSecret")]


def _master_secret_arn(secrets: Sequence[aws.rds.outputs.InstanceMasterUserSecret] | None) -> str:
    arn = secrets[0].secret_arn if secrets else None
    if not arn:
        raise ValueError("RDS reported no master user secret (manage_master_user_password is on)")
    return arn


@dataclass(frozen=True)
class PostgresDatabaseArgs:
    #: DB instance identifier, e.g. `looper-dev-db` (also names the subnet/parameter groups, key alias)
    identifier: str
    #: the data subnets, one per AZ (at least 2)
    subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    security_group_ids: Sequence[pulumi.Input[str]]
    #: exact engine version, pinned (e.g. "17.6"); the parameter group family follows its major
    engine_version: str
    instance_class: str
    allocated_storage_gb: int = 100
    #: storage autoscaling ceiling (>= allocated)
    max_allocated_storage_gb: int = 500
    multi_az: bool = True
    backup_retention_days: int = 7
    #: daily, UTC, hh:mm-hh:mm
    backup_window: str = "17:00-18:00"
    #: weekly, UTC, ddd:hh:mm-ddd:hh:mm; must not overlap the backup window
    maintenance_window: str = "sun:18:30-sun:19:30"
    #: refuse deletion (production)
    deletion_protection: bool = True
    #: take `<identifier>-final` when the instance is deleted (production)
    final_snapshot: bool = True
    performance_insights: bool = True
    #: Enhanced Monitoring interval in seconds (0: off; otherwise a monitoring role is created)
    monitoring_interval: int = 60
    db_name: str = "looper"
    username: str = "looper"
    tags: Mapping[str, str] = field(default_factory=dict)

    def problems(self) -> list[str]:
        errors = []
        if not _IDENTIFIER.match(self.identifier):
            errors.append(f"identifier: {self.identifier!r} (1-63 lowercase letters, digits, single '-')")
        if not _VERSION.match(self.engine_version):
            errors.append(f"engine_version: {self.engine_version!r} is not an exact <major>.<minor>")
        if not re.match(r"^db\.[a-z0-9-]+\.[a-z0-9]+\Z", self.instance_class):
            errors.append(f"instance_class: {self.instance_class!r} is not an RDS instance class")
        if not 20 <= self.allocated_storage_gb <= 65536:
            errors.append("allocated_storage_gb: gp3 takes 20-65536")
        if self.max_allocated_storage_gb < self.allocated_storage_gb:
            errors.append("max_allocated_storage_gb: below allocated_storage_gb")
        if not 7 <= self.backup_retention_days <= 35:
            errors.append(f"backup_retention_days: {self.backup_retention_days} (7-35)")
        if self.monitoring_interval not in MONITORING_INTERVALS:
            errors.append(f"monitoring_interval: one of {MONITORING_INTERVALS}")
        if not BACKUP_WINDOW.fullmatch(self.backup_window):
            errors.append(f"backup_window: {self.backup_window!r} is not hh:mm-hh:mm")
        if not MAINTENANCE_WINDOW.fullmatch(self.maintenance_window):
            errors.append(f"maintenance_window: {self.maintenance_window!r} is not ddd:hh:mm-ddd:hh:mm")
        if not errors and windows_overlap(self.backup_window, self.maintenance_window):
            errors.append("maintenance_window: overlaps backup_window")
        if not self.security_group_ids:
            errors.append("security_group_ids: at least one")
        if isinstance(self.subnet_ids, Sequence) and all(isinstance(s, str) for s in self.subnet_ids):
            errors += _subnet_problems(list(self.subnet_ids))  # type: ignore[arg-type]
        return errors


class PostgresDatabase(Component):
    instance: aws.rds.Instance
    kms_key_arn: pulumi.Output[str]
    #: host:port
    endpoint: pulumi.Output[str]
    address: pulumi.Output[str]
    port: pulumi.Output[int]
    #: Secrets Manager secret holding the RDS-managed master credentials
    master_user_secret_arn: pulumi.Output[str]

    def __init__(self, name: str, args: PostgresDatabaseArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("looper:aws:PostgresDatabase", name, args, opts)
        child = self.child_opts
        tags = {"Name": args.identifier, **args.tags}
        key = customer_key(
            name, description=f"{args.identifier}: storage, master secret, Performance Insights",
            tags=tags, opts=child, alias=args.identifier)

        def checked(ids: Sequence[Any]) -> list[str]:
            problems = _subnet_problems([str(i) for i in ids])
            if problems:
                raise ValueError(f"{name}: " + "; ".join(problems))
            return [str(i) for i in ids]

        subnets = aws.rds.SubnetGroup(
            f"{name}-subnets", name=args.identifier, description=f"{args.identifier}: data subnets",
            subnet_ids=pulumi.Output.from_input(args.subnet_ids).apply(checked), tags=tags, opts=child)
        family = parameter_group_family(args.engine_version)
        params = aws.rds.ParameterGroup(
            f"{name}-params", name_prefix=f"{args.identifier}-{family}-", family=family,
            description=f"{args.identifier}: TLS only, connection and slow-query logging",
            parameters=[aws.rds.ParameterGroupParameterArgs(name=k, value=v)
                        for k, v in sorted(PARAMETERS.items())],
            tags=tags, opts=child)
        monitoring_role_arn = None
        if args.monitoring_interval:
            role = aws.iam.Role(
                f"{name}-monitoring", name_prefix=f"{args.identifier[:24]}-mon-",
                assume_role_policy=assume_role_policy("monitoring.rds.amazonaws.com"), tags=tags,
                opts=child)
            attachment = aws.iam.RolePolicyAttachment(
                f"{name}-monitoring-policy", role=role.name, policy_arn=ENHANCED_MONITORING_POLICY,
                opts=child)
            # the ARN handed to RDS carries the attachment, so RDS never sees a role without rights
            monitoring_role_arn = pulumi.Output.all(role.arn, attachment.id).apply(lambda v: str(v[0]))
        self.instance = aws.rds.Instance(
            f"{name}-instance", identifier=args.identifier,
            engine="postgres", engine_version=args.engine_version, instance_class=args.instance_class,
            allocated_storage=args.allocated_storage_gb, max_allocated_storage=args.max_allocated_storage_gb,
            storage_type="gp3", storage_encrypted=True,
            iam_database_authentication_enabled=True, kms_key_id=key.arn,
            db_subnet_group_name=subnets.name, parameter_group_name=params.name,
            vpc_security_group_ids=list(args.security_group_ids), publicly_accessible=False,
            multi_az=args.multi_az, db_name=args.db_name, username=args.username,
            manage_master_user_password=True, master_user_secret_kms_key_id=key.arn,
            backup_retention_period=args.backup_retention_days, backup_window=args.backup_window,
            maintenance_window=args.maintenance_window,
            deletion_protection=args.deletion_protection,
            skip_final_snapshot=not args.final_snapshot,
            final_snapshot_identifier=f"{args.identifier}-final" if args.final_snapshot else None,
            delete_automated_backups=not args.final_snapshot,
            auto_minor_version_upgrade=True, allow_major_version_upgrade=False,
            copy_tags_to_snapshot=True,
            performance_insights_enabled=args.performance_insights,
            performance_insights_kms_key_id=key.arn if args.performance_insights else None,
            performance_insights_retention_period=7 if args.performance_insights else None,
            monitoring_interval=args.monitoring_interval, monitoring_role_arn=monitoring_role_arn,
            enabled_cloudwatch_logs_exports=["postgresql", "upgrade"],
            tags=tags, opts=child)
        self.kms_key_arn = key.arn
        self.endpoint = self.instance.endpoint
        self.address = self.instance.address
        self.port = self.instance.port
        self.master_user_secret_arn = self.instance.master_user_secrets.apply(_master_secret_arn)
        self.register_outputs({
            "endpoint": self.endpoint, "address": self.address, "port": self.port,
            "master_user_secret_arn": self.master_user_secret_arn, "kms_key_arn": self.kms_key_arn,
        })
