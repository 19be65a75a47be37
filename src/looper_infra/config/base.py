"""Shared pieces of the config models: a strict base and common field types."""

from __future__ import annotations

import re
from ipaddress import IPv4Network
from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict

_FQDN_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)\Z")
_EMAIL = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\Z")


class Strict(BaseModel):
    """Every config model: unknown keys are errors, values are immutable."""

    # defer_build: a model's validator is built on first use, so planning one stage
    # does not pay for the others' models
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True,
                              defer_build=True)


def check_fqdn(value: str) -> str:
    """A lowercase fully-qualified domain name without the trailing dot."""
    if value != value.lower():
        raise ValueError(f"domain {value!r} must be lowercase")
    name = value.removesuffix(".")
    labels = name.split(".")
    if len(name) > 253 or len(labels) < 2 or not all(_FQDN_LABEL.match(x) for x in labels):
        raise ValueError(f"{value!r} is not a valid fully-qualified domain name")
    if labels[-1].isdigit():
        raise ValueError(f"{value!r} is not a valid fully-qualified domain name")
    return name


def check_email(value: str) -> str:
    if not _EMAIL.match(value):
        raise ValueError(f"{value!r} is not a valid e-mail address")
    return value


#: a registry host (`ghcr.io`, `registry.example.com:5000`, `localhost`) before the first `/`
_REGISTRY = re.compile(
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*)"
    r"(?::[0-9]{1,5})?\Z")
#: one path component of a repository name (the distribution reference grammar)
_PATH_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*\Z")
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}\Z")
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}\Z")
#: tags that name a moving target: refused unless a digest pins the image as well
FLOATING_TAGS = ("latest", "stable", "main", "master", "edge", "nightly")


def image_ref_problem(value: str) -> str | None:
    """Why `value` is not an image pinned by an exact tag or digest (None: it is).

    `[registry[:port]/]path[/path...](:tag | @sha256:<64 hex> | :tag@sha256:<64 hex>)`; the
    tag `latest` (any case) floats and is refused, as is a reference with neither tag nor digest.
    """
    name, _, digest = value.partition("@")
    if digest and not _DIGEST.fullmatch(digest):
        return f"image {value!r}: the digest must be sha256:<64 lowercase hex digits>"
    slash = name.rfind("/")
    repository, colon, tag = name.rpartition(":") if ":" in name[slash + 1:] else (name, "", "")
    if colon and not _TAG.fullmatch(tag):
        return f"image {value!r}: {tag!r} is not a valid tag"
    parts = repository.split("/")
    if len(parts) > 1 and ("." in parts[0] or ":" in parts[0] or parts[0] == "localhost"):
        if not _REGISTRY.fullmatch(parts[0]):
            return f"image {value!r}: {parts[0]!r} is not a valid registry host"
        parts = parts[1:]
    if not repository or not all(_PATH_COMPONENT.fullmatch(p) for p in parts):
        return (f"image {value!r} is not a valid container image reference "
                "([registry/]name:tag or name@sha256:digest, lowercase name)")
    if not colon and not digest:
        return f"image {value!r} must be pinned with an exact tag or a sha256 digest"
    if colon and tag.lower() == "latest":
        return f"image {value!r} uses the floating tag 'latest'; pin a version or a digest"
    if colon and tag.lower() in FLOATING_TAGS and not digest:
        return f"image {value!r} uses the floating tag {tag!r}; pin a version or a digest"
    return None


def check_image_ref(value: str) -> str:
    """A container image reference pinned by tag or digest (never `latest`)."""
    problem = image_ref_problem(value)
    if problem:
        raise ValueError(problem)
    return value


Fqdn = Annotated[str, AfterValidator(check_fqdn)]
Email = Annotated[str, AfterValidator(check_email)]
ImageRef = Annotated[str, AfterValidator(check_image_ref)]


def parse_cidr(value: object) -> object:
    """An IPv4 network in CIDR form, with ipaddress's precise message when it is not one."""
    if isinstance(value, IPv4Network):
        return value
    if not isinstance(value, str) or "/" not in value:
        raise ValueError(f"{value!r} is not an IPv4 CIDR block (e.g. 10.0.1.0/24)")
    try:
        return IPv4Network(value, strict=True)
    except ValueError as exc:
        raise ValueError(f"{value!r} is not a valid IPv4 CIDR block: {exc}") from None


Cidr = Annotated[IPv4Network, BeforeValidator(parse_cidr)]

_DNS1123 = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\Z")


def dns_label(text: str) -> str:
    """A DNS-1123 label (Kubernetes namespace and object names): lowercase, digits, '-', <= 63."""
    if not _DNS1123.match(text):
        raise ValueError(f"{text!r} is not a DNS-1123 label (lowercase letters, digits, '-')")
    return text


DnsName = Annotated[str, AfterValidator(dns_label)]
