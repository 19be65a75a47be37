"""IAM roles for service accounts without EKS: an OIDC issuer served from S3 through CloudFront.

kube-apiserver signs service-account tokens with the key Pulumi generated (`--service-account-
issuer` = the issuer below). STS, asked to `AssumeRoleWithWebIdentity`, fetches
`<issuer>/.well-known/openid-configuration` and the JWKS it names and checks the token with them.
Those two documents are rendered here from the public key (`looper_infra.manifests.pki`) and stored
in a bucket nobody can read directly:

- the bucket blocks every form of public access, enforces bucket-owner object ownership (no
  ACLs), encrypts (SSE-S3) and keeps versions;
- CloudFront reads it through an Origin Access Control (SigV4 on every request); the bucket
  policy allows `s3:GetObject` to the CloudFront service only for this distribution
  (`AWS:SourceArn`) and only on the two document keys, and refuses plain HTTP;
- viewers get HTTPS only; responses are cached for minutes, not days, because the JWKS
  changes when the signing key rotates.

The issuer is `https://<distribution domain>`. With CloudFront's default certificate the
distribution's minimum viewer protocol cannot be raised: CloudFront then accepts TLSv1 whatever
`minimum_protocol_version` says; TLS 1.2+ needs an alias with an ACM certificate (in us-east-1)
and `sni-only`. STS itself uses TLS 1.2+, and the documents are public keys, so the default
certificate is acceptable here.

The IAM OIDC provider uses no thumbprints: for issuers whose certificate chains to a trusted
root CA (CloudFront's does) IAM validates with its own CA library and ignores them (pulumi-aws
7 makes `thumbprint_lists` optional).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from looper_infra.components.aws.s3 import private_bucket
from looper_infra.components.base import Component
from looper_infra.manifests.pki import (
    DISCOVERY_PATH,
    JWKS_PATH,
    issuer_url,
    jwks_document,
    oidc_discovery_document,
)

#: the audience kube-apiserver puts in projected tokens for AWS SDKs (`eks.amazonaws.com/...` style
#: webhooks are not used: the pod spec mounts a token with this audience)
STS_AUDIENCE = "sts.amazonaws.com"
#: seconds CloudFront keeps the documents (a rotated key is served within this)
CACHE_DEFAULT_TTL = 300
CACHE_MAX_TTL = 3600
_BUCKET = re.compile(r"^(?!xn--)(?!.*\.\.)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]\Z")
_K8S_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\Z")
_POLICY_ARN = re.compile(r"^arn:aws[a-z-]*:iam::(aws|[0-9]{12}):policy/[A-Za-z0-9_+=,.@/-]+\Z")
_ROLE_NAME = re.compile(r"^[A-Za-z0-9+=,.@_-]{1,64}\Z")
#: verbs of read-only IAM actions (an Allow on Resource "*" may name only these, or carry a Condition)
_READ_ONLY_VERBS = ("Describe", "Get", "List")


def bucket_policy(bucket_arn: str, distribution_arn: str) -> str:
    """CloudFront (this distribution only) may read the two documents; nobody may use plain HTTP."""
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "CloudFrontReadsOidcDocuments", "Effect": "Allow",
             "Principal": {"Service": "cloudfront.amazonaws.com"},
             "Action": "s3:GetObject",
             "Resource": [f"{bucket_arn}/{DISCOVERY_PATH}", f"{bucket_arn}/{JWKS_PATH}"],
             "Condition": {"StringEquals": {"AWS:SourceArn": distribution_arn}}},
            {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
             "Resource": [bucket_arn, f"{bucket_arn}/*"],
             "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
        ],
    })


def web_identity_trust_policy(provider_arn: str, issuer_host: str, namespace: str,
                              service_account: str) -> str:
    """Only tokens of `namespace/service_account` with the STS audience may assume the role."""
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Federated": provider_arn},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {
                f"{issuer_host}:sub": f"system:serviceaccount:{namespace}:{service_account}",
                f"{issuer_host}:aud": STS_AUDIENCE,
            }},
        }],
    })


@dataclass(frozen=True)
class IrsaIssuerArgs:
    #: names of the distribution's helpers (OAC, cache policy), e.g. `looper-dev-oidc`
    name_prefix: str
    #: globally unique bucket name, e.g. `looper-dev-oidc-<account id>`
    bucket_name: str
    #: the service-account signing key's public half (PEM)
    sa_public_key_pem: pulumi.Input[str]
    tags: Mapping[str, str] = field(default_factory=dict)

    def problems(self) -> list[str]:
        errors = []
        if not _BUCKET.match(self.bucket_name) or re.fullmatch(r"([0-9]+\.){3}[0-9]+", self.bucket_name):
            errors.append(f"bucket_name: {self.bucket_name!r} is not an S3 bucket name")
        if not re.match(r"^[A-Za-z0-9-_]{1,50}\Z", self.name_prefix):
            errors.append(f"name_prefix: {self.name_prefix!r} (1-50 of A-Za-z0-9-_)")
        return errors


class IrsaIssuer(Component):
    #: `https://<distribution domain>`, resolved once both documents and the bucket policy exist
    issuer: pulumi.Output[str]
    #: the issuer without scheme: the prefix of the IAM condition keys (`<host>:sub`)
    issuer_host: pulumi.Output[str]
    provider_arn: pulumi.Output[str]
    #: the bucket's name
    bucket: pulumi.Output[str]
    distribution: aws.cloudfront.Distribution

    def __init__(self, name: str, args: IrsaIssuerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("looper:aws:IrsaIssuer", name, args, opts)
        child = self.child_opts
        tags = {"Name": args.bucket_name, **args.tags}
        # SSE-S3: CloudFront's OAC could read SSE-KMS objects only with a key policy naming it,
        # and these documents are public keys by design
        bucket, block = private_bucket(f"{name}-bucket", prefix=name, bucket_name=args.bucket_name, tags=tags,
                                       opts=child)
        aws.s3.BucketVersioning(
            f"{name}-versioning", bucket=bucket.id,
            versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"),
            opts=child)

        oac = aws.cloudfront.OriginAccessControl(
            f"{name}-oac", name=f"{args.name_prefix}-oac", description=f"{args.bucket_name}: SigV4 reads",
            origin_access_control_origin_type="s3", signing_behavior="always", signing_protocol="sigv4",
            opts=child)
        cache = aws.cloudfront.CachePolicy(
            f"{name}-cache", name=f"{args.name_prefix}-oidc-documents",
            comment="OIDC discovery + JWKS: short TTL, no cookies/headers/query strings in the key",
            min_ttl=0, default_ttl=CACHE_DEFAULT_TTL, max_ttl=CACHE_MAX_TTL,
            parameters_in_cache_key_and_forwarded_to_origin=aws.cloudfront
            .CachePolicyParametersInCacheKeyAndForwardedToOriginArgs(
                cookies_config=aws.cloudfront
                .CachePolicyParametersInCacheKeyAndForwardedToOriginCookiesConfigArgs(cookie_behavior="none"),
                headers_config=aws.cloudfront
                .CachePolicyParametersInCacheKeyAndForwardedToOriginHeadersConfigArgs(header_behavior="none"),
                query_strings_config=aws.cloudfront
                .CachePolicyParametersInCacheKeyAndForwardedToOriginQueryStringsConfigArgs(
                    query_string_behavior="none"),
                enable_accept_encoding_gzip=True, enable_accept_encoding_brotli=True),
            opts=child)
        origin_id = "oidc-bucket"
        self.distribution = aws.cloudfront.Distribution(
            f"{name}-cdn", enabled=True, comment=f"{args.bucket_name}: OIDC issuer",
            is_ipv6_enabled=True, http_version="http2and3", price_class="PriceClass_100",
            origins=[aws.cloudfront.DistributionOriginArgs(
                origin_id=origin_id, domain_name=bucket.bucket_regional_domain_name,
                origin_access_control_id=oac.id)],
            default_cache_behavior=aws.cloudfront.DistributionDefaultCacheBehaviorArgs(
                target_origin_id=origin_id, viewer_protocol_policy="https-only",
                allowed_methods=["GET", "HEAD"], cached_methods=["GET", "HEAD"], compress=True,
                cache_policy_id=cache.id),
            restrictions=aws.cloudfront.DistributionRestrictionsArgs(
                geo_restriction=aws.cloudfront.DistributionRestrictionsGeoRestrictionArgs(
                    restriction_type="none")),
            # the default *.cloudfront.net certificate: CloudFront keeps TLSv1 as the minimum
            # for it (minimum_protocol_version applies only with a custom certificate)
            viewer_certificate=aws.cloudfront.DistributionViewerCertificateArgs(
                cloudfront_default_certificate=True),
            tags=tags, opts=child)

        host = self.distribution.domain_name
        raw_issuer = host.apply(issuer_url)
        discovery = aws.s3.BucketObjectv2(
            f"{name}-discovery", bucket=bucket.id, key=DISCOVERY_PATH,
            content=raw_issuer.apply(oidc_discovery_document), content_type="application/json",
            cache_control=f"max-age={CACHE_DEFAULT_TTL}", opts=child)
        jwks = aws.s3.BucketObjectv2(
            f"{name}-jwks", bucket=bucket.id, key=JWKS_PATH,
            content=pulumi.Output.from_input(args.sa_public_key_pem).apply(jwks_document),
            content_type="application/json", cache_control=f"max-age={CACHE_DEFAULT_TTL}", opts=child)
        policy = aws.s3.BucketPolicy(
            # the bucket name taken from the public access block: the block exists first
            f"{name}-policy", bucket=block.bucket,
            policy=pulumi.Output.all(bucket.arn, self.distribution.arn).apply(
                lambda v: bucket_policy(str(v[0]), str(v[1]))),
            opts=child)
        # readiness: the issuer is handed out only once STS could actually read both documents
        self.issuer = pulumi.Output.all(raw_issuer, discovery.etag, jwks.etag, policy.id).apply(
            lambda v: str(v[0]))
        provider = aws.iam.OpenIdConnectProvider(
            f"{name}-provider", url=self.issuer, client_id_lists=[STS_AUDIENCE], tags=tags, opts=child)
        self.issuer_host = host
        self.provider_arn = provider.arn
        self.bucket = bucket.bucket
        self.register_outputs({"issuer": self.issuer, "issuer_host": self.issuer_host,
                               "provider_arn": self.provider_arn, "bucket": self.bucket})


@dataclass(frozen=True)
class IrsaRoleArgs:
    #: role name, e.g. `looper-dev-external-secrets`
    name: str
    provider_arn: pulumi.Input[str]
    #: IrsaIssuer.issuer_host
    issuer_host: pulumi.Input[str]
    namespace: str
    service_account: str
    #: the role's permissions: IAM statements (JSON-able dicts, values may be Outputs); an Allow
    #: on Resource "*" only for read-only actions (Describe*/Get*/List*) or under a Condition ...
    statements: Sequence[Mapping[str, Any]] = ()
    #: ... and/or AWS managed policies (e.g. the EBS CSI driver's, which AWS keeps current)
    managed_policy_arns: Sequence[str] = ()
    max_session_duration_sec: int = 3600
    tags: Mapping[str, str] = field(default_factory=dict)

    def problems(self) -> list[str]:
        errors = []
        if not _ROLE_NAME.match(self.name):
            errors.append(f"name: {self.name!r} is not an IAM role name")
        for what in ("namespace", "service_account"):
            value = getattr(self, what)
            if not _K8S_NAME.match(value):
                errors.append(f"{what}: {value!r} is not a Kubernetes name")
        if not self.statements and not self.managed_policy_arns:
            errors.append("statements / managed_policy_arns: at least one permission")
        errors += [f"managed_policy_arns[{i}]: {a!r} is not an IAM policy ARN"
                   for i, a in enumerate(self.managed_policy_arns) if not _POLICY_ARN.match(a)]
        for i, st in enumerate(self.statements):
            if st.get("Effect") not in ("Allow", "Deny") or "Action" not in st or "Resource" not in st:
                errors.append(f"statements[{i}]: needs Effect (Allow/Deny), Action and Resource")
            elif st.get("Effect") == "Allow" and st.get("Resource") in ("*", ["*"]) \
                    and not st.get("Condition") and not all(map(_read_only, _actions(st["Action"]))):
                errors.append(f"statements[{i}]: Resource '*' for actions that are not read-only "
                              "(Describe*/Get*/List*): name the resources or add a Condition")
        return errors


def _actions(action: Any) -> list[str]:
    return [action] if isinstance(action, str) else [str(a) for a in action]


def _read_only(action: str) -> bool:
    """`service:Describe*|Get*|List*`: read-only actions, many without resource-level permissions."""
    _, _, verb = action.partition(":")
    return verb.startswith(_READ_ONLY_VERBS) and "*" not in verb.removesuffix("*")


class IrsaRole(Component):
    arn: pulumi.Output[str]
    name: pulumi.Output[str]

    def __init__(self, name: str, args: IrsaRoleArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("looper:aws:IrsaRole", name, args, opts)
        child = self.child_opts
        trust = pulumi.Output.all(args.provider_arn, args.issuer_host).apply(
            lambda v: web_identity_trust_policy(str(v[0]), str(v[1]), args.namespace, args.service_account))
        role = aws.iam.Role(
            f"{name}-role", name=args.name, assume_role_policy=trust,
            description=f"IRSA: {args.namespace}/{args.service_account}",
            max_session_duration=args.max_session_duration_sec, tags=dict(args.tags) or None, opts=child)
        granted: list[pulumi.Output[str]] = []
        if args.statements:
            granted.append(aws.iam.RolePolicy(
                f"{name}-policy", role=role.name, name=f"{args.name}-inline",
                # statements may name resources by Output (a queue's, a key's ARN)
                policy=pulumi.Output.json_dumps(
                    {"Version": "2012-10-17", "Statement": [dict(s) for s in args.statements]}),
                opts=child).id)
        for arn in args.managed_policy_arns:
            granted.append(aws.iam.RolePolicyAttachment(
                f"{name}-{arn.rsplit('/', 1)[-1]}", role=role.name, policy_arn=arn, opts=child).id)
        # the ARN is handed out with the permissions in place
        self.arn = pulumi.Output.all(role.arn, *granted).apply(lambda v: str(v[0]))
        self.name = role.name
        self._child_name, self._role_name = name, args.name
        self.register_outputs({"arn": self.arn, "name": self.name})

    def grant(self, key: str, statements: Sequence[Mapping[str, Any]]) -> aws.iam.RolePolicy:
        """A further inline policy `<role>-<key>` for what exists only after the role (another
        component's secret and key); the statements may hold Outputs."""
        return aws.iam.RolePolicy(
            f"{self._child_name}-{key}", role=self.name, name=f"{self._role_name}-{key}",
            policy=pulumi.Output.json_dumps(
                {"Version": "2012-10-17", "Statement": [dict(s) for s in statements]}),
            opts=self.child_opts)
