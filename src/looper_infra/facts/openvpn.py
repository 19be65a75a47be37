"""OpenVPN facts shared by config, the VPN components and the server's bootstrap.

A VPN user name is the client certificate's common name and the name of the server's ccd
file, so the rule is one: config applies it to the configured users, and everything
downstream takes the names as given.
"""

from __future__ import annotations

import re
from typing import Final

#: OpenVPN's IANA port (UDP).
OPENVPN_PORT: Final = 1194
#: Client pool (DESIGN.md network plan).
DEFAULT_POOL_CIDR: Final = "10.8.0.0/24"
#: Common name of the server certificate; clients pin it with ``verify-x509-name``.
DEFAULT_SERVER_CN: Final = "looper-openvpn-server"
#: 2048-bit OpenVPN static key (tls-crypt): 256 random bytes.
STATIC_KEY_BYTES: Final = 256

#: Lowercase letter first, then a-z 0-9 . _ -, at most 63: a certificate CN and a file name
#: (no path separator, no space, nothing a shell or the OpenVPN config would split).
_USER = re.compile(r"[a-z][a-z0-9._-]{0,62}")


def user_problem(user: object) -> str | None:
    """Why ``user`` cannot be a VPN user name (None when it can)."""
    if not isinstance(user, str) or not _USER.fullmatch(user):
        return f"{user!r} is not a user name (lowercase letter first, then a-z 0-9 . _ -, <= 63)"
    return None
