"""A request the rules do not allow, said without HTTP: the edge turns it into an answer.

Domain code (a service's rules, its use cases) raises a ``Refusal`` with the status it deserves,
a machine-readable code and a message in Vietnamese and English; every service's error handler
(``shared/host/errors.py``) answers it with the same body as any other error, so routes need no
try/except to translate.
"""

from __future__ import annotations

from typing import Any


class Refusal(Exception):
    status = 422

    def __init__(self, code: str, vi: str, en: str, *, status: int | None = None, **details: Any) -> None:
        super().__init__(en)
        if status is not None:
            self.status = status
        self.code = code
        self.vi = vi
        self.en = en
        self.details = details
        self.headers: dict[str, str] | None = None

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": {"vi": self.vi, "en": self.en}, **self.details}}
