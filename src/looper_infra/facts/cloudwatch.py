"""CloudWatch Logs facts shared by config (what a user may write) and components (what they check)."""

from __future__ import annotations

from typing import Final

#: the retention periods (days) CloudWatch Logs accepts
CW_RETENTION_DAYS: Final = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192,
                            2557, 2922, 3288, 3653)
