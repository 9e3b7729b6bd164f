"""Reading a stored event's state straight from its JSON, without the library's mapper.

The library decodes every stored event with the standard ``json`` module and an object hook
called for each JSON object, then builds the domain event object: on a replay of the whole log
that was a sixth of the work before a single contract was made. ``StoredState`` parses the
bytes once with orjson and leaves the library's transcoded values (``{"_type_": ...,
"_data_": ...}``) as they are, for the reader to turn into ``datetime`` or ``UUID`` where it
knows one stands: exactly as the library's transcodings do (``datetime.fromisoformat``,
``UUID(hex)``).

A reader that decodes every transcoded value of a state (``complete``) has exactly the state
the library's mapper would have given the domain event. The check is a count: the library
writes each transcoded value as ``{"_type_":`` (no spaces), which cannot occur inside a JSON
string (its quotes would be escaped), so the bytes tell how many there are.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import orjson
from eventsourcing.persistence import Mapper, Notification

_MARK = b'{"_type_":'


class Unreadable(Exception):
    """The state holds something this reader does not decode: read it through the library."""


class StoredState:
    __slots__ = ("_left", "state")

    def __init__(self, data: bytes) -> None:
        self.state: dict[str, Any] = orjson.loads(data)
        self._left = data.count(_MARK)

    @property
    def complete(self) -> bool:
        """Every transcoded value of the state has been decoded."""
        return self._left == 0

    def dt(self, key: str, within: dict[str, Any] | None = None) -> datetime:
        """The datetime at ``key`` of the state (or of ``within``), decoded in place."""
        holder = self.state if within is None else within
        value = holder[key]
        if type(value) is not dict or value.get("_type_") != "datetime_iso":
            raise Unreadable(f"{key} is not a stored datetime")
        self._left -= 1
        holder[key] = decoded = datetime.fromisoformat(value["_data_"])
        return decoded

    def optional_dt(self, key: str, within: dict[str, Any] | None = None) -> datetime | None:
        holder = self.state if within is None else within
        if holder.get(key) is None:
            return None
        return self.dt(key, within)

    def uuid(self, key: str, within: dict[str, Any] | None = None) -> UUID:
        holder = self.state if within is None else within
        value = holder[key]
        if type(value) is not dict or value.get("_type_") != "uuid_hex":
            raise Unreadable(f"{key} is not a stored UUID")
        self._left -= 1
        holder[key] = decoded = UUID(value["_data_"])
        return decoded

    def record(self, key: str, name: str, within: dict[str, Any] | None = None) -> dict[str, Any]:
        """The fields of a record at ``key`` (of the state, or of ``within``) that the library
        stores through a transcoding ``name`` as the dict of its fields, unwrapped in place
        (``{"_type_": name, "_data_": {...}}`` becomes the inner dict); a row stored before the
        record had its transcoding holds the same fields as a plain dict, returned as it is.
        The fields' own transcoded values are left to decode."""
        holder = self.state if within is None else within
        value = holder[key]
        if type(value) is not dict:
            raise Unreadable(f"{key} is not a stored record")
        if "_type_" in value:
            fields = value.get("_data_")
            if value["_type_"] != name or len(value) != 2 or type(fields) is not dict:
                raise Unreadable(f"{key} is not a stored {name}")
            self._left -= 1
            holder[key] = value = fields
        return value

    def decode(self, key: str, within: dict[str, Any] | None = None) -> Any:
        """Any value (nested dicts and lists of it), every transcoded value in it decoded in place:
        for parts whose shape the reader does not know field by field."""
        holder = self.state if within is None else within
        holder[key] = decoded = self._decoded(holder[key])
        return decoded

    def _decoded(self, value: Any) -> Any:
        kind = type(value)
        if kind is dict:
            if len(value) == 2 and "_type_" in value and "_data_" in value:
                self._left -= 1
                return _TRANSCODINGS[value["_type_"]](value["_data_"])
            for k, item in value.items():
                if type(item) is dict or type(item) is list:
                    value[k] = self._decoded(item)
            return value
        if kind is list:
            return [
                self._decoded(item) if type(item) is dict or type(item) is list else item for item in value
            ]
        return value


def _unknown(data: Any) -> Any:
    raise Unreadable("a transcoding this reader does not know")


class _Transcodings(dict[str, Any]):
    def __missing__(self, name: str) -> Any:
        return _unknown


# The library's default transcodings (eventsourcing.persistence), for values of any shape. An
# application's own records (processing's step meta and clock) are unwrapped by ``record``, by a
# reader that knows where one stands; met here, they send the row the library's way.
_TRANSCODINGS = _Transcodings(
    datetime_iso=datetime.fromisoformat,
    uuid_hex=UUID,
    decimal_str=Decimal,
)


class StoredRow:
    """One row of a store's events table, parsed (``parsed``) or decoded by the library
    (``domain_event``) at most once, whichever its reader asks for."""

    __slots__ = ("_event", "_parsed", "data", "notification_id", "originator_id", "topic", "version")

    def __init__(
        self, notification_id: int, originator_id: UUID, version: int, topic: str, data: bytes
    ) -> None:
        self.notification_id = notification_id
        self.originator_id = originator_id
        self.version = version
        self.topic = topic
        self.data = data
        self._parsed: StoredState | None = None
        self._event: Any = None

    def parsed(self) -> StoredState:
        if self._parsed is None:
            self._parsed = StoredState(self.data)
        return self._parsed

    def domain_event(self, mapper: Mapper[Any]) -> Any:
        """The domain event, as the library's mapper makes it from the stored bytes."""
        if self._event is None:
            self._event = mapper.to_domain_event(
                Notification(
                    id=self.notification_id,
                    originator_id=self.originator_id,
                    originator_version=self.version,
                    topic=self.topic,
                    state=self.data,
                )
            )
        return self._event
