"""Building contracts from our own stores without validating them again.

Every stored event was validated when it was recorded, and the relay validates what it
publishes; a replay reading the same store millions of times need not. ``construct`` is
``cls.model_construct(**fields)`` at a third of its cost: no aliases, no extra fields, defaults
filled in, nothing checked or coerced. So the caller coerces exactly what validation would
(an ``int`` channel to ``Channel``, a UUID's text to ``UUID``, a nested dict to its model):
``actor`` below, and the translators' own tests compare both paths field for field.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar, cast
from uuid import UUID

from pydantic import BaseModel

from shared.contracts.base import Actor, Channel

_Model = TypeVar("_Model", bound=BaseModel)
# Not a value any field can hold: a required field left out (the caller's mistake) shows as this.
_MISSING: Any = object()


class _Spec:
    """A model's fields in order with their defaults, and those made fresh for each instance."""

    def __init__(self, cls: type[BaseModel]) -> None:
        self.template = {
            name: _MISSING if info.is_required() or info.default_factory is not None else info.default
            for name, info in cls.model_fields.items()
        }
        self.factories = [
            (name, cast(Callable[[], Any], info.default_factory))
            for name, info in cls.model_fields.items()
            if info.default_factory is not None
        ]


_SPECS: dict[type[BaseModel], _Spec] = {}


def construct(cls: type[_Model], fields: Mapping[str, Any]) -> _Model:
    spec = _SPECS.get(cls)
    if spec is None:
        spec = _SPECS[cls] = _Spec(cls)
    # The fields in the model's order (the template's), as validation leaves them.
    values = {**spec.template, **fields}
    fields_set = set(fields)
    if len(values) != len(spec.template):  # names that are not fields: dropped, as construct does
        values = {name: values[name] for name in spec.template}
        fields_set &= spec.template.keys()
    for name, factory in spec.factories:
        if name not in fields:
            values[name] = factory()
    made = cls.__new__(cls)
    object.__setattr__(made, "__dict__", values)
    object.__setattr__(made, "__pydantic_fields_set__", fields_set)
    object.__setattr__(made, "__pydantic_extra__", None)
    object.__setattr__(made, "__pydantic_private__", None)
    return made


def actor(stored: Mapping[str, Any]) -> Actor:
    return construct(Actor, {**stored, "channel": Channel(stored["channel"])})


def as_uuid(value: UUID | str) -> UUID:
    return value if isinstance(value, UUID) else UUID(value)
