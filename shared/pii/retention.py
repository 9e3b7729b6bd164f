"""When personal data may be erased: the retention rule.

A data subject's key seals every dossier they filed, so erasing it erases them all; it is
refused while any of those dossiers is still inside its retention period, unless the request
cites a legal obligation to erase (a court or competent authority's decision, say).

Why a period at all: Law 91/2025/QH15 on personal data protection lets a data subject ask for
deletion, but not where another law requires the data to be kept; dossiers of administrative
procedures are public records kept under the Law on Archives (Law 33/2024/QH15) for the period
the agency's archive list (danh mục hồ sơ, thời hạn bảo quản) sets. Those periods differ by
procedure and by province; motcua does not know them. ``MOTCUA_RETENTION_YEARS`` (default 10,
counted from the registration of the subject's latest dossier) is therefore a local setting
the province must set from its own retention list, not a figure taken from the law.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from datetime import datetime

DEFAULT_RETENTION_YEARS = 10


def retention_years() -> int:
    return int(os.environ.get("MOTCUA_RETENTION_YEARS", DEFAULT_RETENTION_YEARS))


def retained_until(registered: Iterable[datetime], years: int) -> datetime | None:
    """The end of the retention period of the latest dossier (None without dossiers)."""
    latest = max(registered, default=None)
    if latest is None:
        return None
    try:
        return latest.replace(year=latest.year + years)
    except ValueError:  # 29 February
        return latest.replace(year=latest.year + years, day=28)
