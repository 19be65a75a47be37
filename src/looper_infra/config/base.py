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


def check_image_ref(value: str) -> str:
    """A container image reference pinned by tag or digest (never `latest`)."""
    if not re.match(r"^[a-z0-9][a-z0-9._/:-]*(@sha256:[0-9a-f]{64})?\Z", value):
        raise ValueError(f"{value!r} is not a valid container image reference")
    last = value.rsplit("/", 1)[-1]
    if "@sha256:" not in value and ":" not in last:
        raise ValueError(f"image {value!r} must be pinned with a tag or digest")
    if last.endswith(":latest"):
        raise ValueError(f"image {value!r} uses the floating tag 'latest'; pin a version")
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
