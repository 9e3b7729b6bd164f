"""A contract's JSON text, as pydantic's ``model_dump_json`` writes it, at a third of its cost.

Scoring stores every event's JSON (``scoring.events.payload``), and a replay writes it again for
every event of the log: pydantic's serializer cost ~5 µs an event there, orjson ~2 µs on the
same contracts. Both write the same values: field order and names, ``Z`` for UTC, the offset
otherwise, the fraction of a second only when there is one, enums by value, UUIDs and dates as
text, nested contracts as objects (``tests/unit/test_contract_json.py`` compares them on every
contract type). Anything orjson does not know (a duration, an integer past 64 bits) is handed
to pydantic, never guessed.

One divergence is left, and it is not a loss: a UTC offset with seconds (local mean times: Vietnam's
before May 1911) is rounded to the minute here and cut to it by pydantic; neither is the
exact instant, and no business time of this system is that old.
"""

from __future__ import annotations

from typing import Any

import orjson
from pydantic import BaseModel


def _fields(value: Any) -> Any:
    if isinstance(value, BaseModel):
        # a contract's fields are its __dict__ (frozen, extra forbidden, no computed fields)
        return value.__dict__
    raise TypeError(type(value).__name__)


def contract_json_bytes(contract: BaseModel) -> bytes:
    """The text as UTF-8, as a message body is sent."""
    try:
        return orjson.dumps(contract.__dict__, default=_fields, option=orjson.OPT_UTC_Z)
    except TypeError:  # orjson.JSONEncodeError is one
        return contract.model_dump_json().encode()


def contract_json(contract: BaseModel) -> str:
    return contract_json_bytes(contract).decode()
