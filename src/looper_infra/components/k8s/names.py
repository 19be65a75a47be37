"""Kubernetes name rules the k8s components check their args against (the API server's own)."""

from __future__ import annotations

import re

#: a namespace, Service or service-account name: a DNS-1123 label
_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\Z")
#: most object names (Secrets, ConfigMaps): a DNS-1123 subdomain
_SUBDOMAIN = re.compile(r"^(?=.{1,253}\Z)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\Z")
#: a key of a Secret's or ConfigMap's data
_DATA_KEY = re.compile(r"^[-._a-zA-Z0-9]{1,253}\Z")
#: a taint as text, ``key[=value]:Effect`` (the kubelet's ``--register-with-taints`` form): the key
#: a qualified name (optional DNS-subdomain prefix and ``/``), the value a label value
TAINT = re.compile(
    r"^(?P<key>([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
    r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)"
    r"(=(?P<value>([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?))?"
    r":(?P<effect>NoSchedule|PreferNoSchedule|NoExecute)\Z"
)


def is_label(name: str) -> bool:
    return bool(_LABEL.fullmatch(name))


def is_subdomain(name: str) -> bool:
    return bool(_SUBDOMAIN.fullmatch(name))


def is_data_key(key: str) -> bool:
    return bool(_DATA_KEY.fullmatch(key))
