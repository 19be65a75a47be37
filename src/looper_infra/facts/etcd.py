"""etcd snapshot object keys: one fact shared by config (a restore key) and the node bootstrap.

``<prefix>hourly/<YYYYmmddTHHMMSSZ>-<node>.db`` (every run) and ``<prefix>daily/<YYYYmmdd>-<node>.db``
(the first run of a UTC day), prefix ``<cluster>/``.
"""

from __future__ import annotations

import re
from typing import Final

SNAPSHOT_KEY: Final = re.compile(
    r"[a-z0-9][a-z0-9-]{0,62}/(hourly/[0-9]{8}T[0-9]{6}Z|daily/[0-9]{8})-[a-z0-9][a-z0-9.-]{0,252}\.db"
)
#: the key prefixes the bucket's lifecycle rules (and the control planes) use under ``<cluster>/``
HOURLY_PREFIX: Final = "hourly/"
DAILY_PREFIX: Final = "daily/"
#: tag on the bucket that holds a cluster's etcd snapshots (value: the cluster's key prefix); the
#: policy pack finds the bucket by it
BACKUP_BUCKET_TAG: Final = "looper/etcd-backups"
