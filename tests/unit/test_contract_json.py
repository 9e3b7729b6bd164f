"""``contract_json`` writes exactly the text pydantic's ``model_dump_json`` writes, for every
published contract type, with values drawn for each field from its annotation (nested
contracts, optional fields, lists, literals, enums, times in and out of UTC)."""

from __future__ import annotations

import types
import typing
from datetime import UTC, date, datetime, timedelta, timezone
from enum import Enum
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import AwareDatetime, BaseModel

from shared.contracts.json_text import contract_json, contract_json_bytes
from shared.contracts.registry import AnyEvent

ZONES = [
    UTC,
    timezone(timedelta(0)),
    ZoneInfo("UTC"),
    ZoneInfo("Asia/Ho_Chi_Minh"),
    timezone(timedelta(hours=7)),
    timezone(timedelta(hours=-3, minutes=-30)),
]
# From 1912: Vietnam's earlier local mean times had offsets with seconds (see the module under test).
MOMENTS = st.datetimes(min_value=datetime(1912, 1, 1), max_value=datetime(2199, 1, 1))
AWARE = st.builds(lambda moment, zone: moment.replace(tzinfo=zone), MOMENTS, st.sampled_from(ZONES))
TEXT = st.text(max_size=12)  # any code point: accents, controls, quotes, backslashes
JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=8,
)


def event_types() -> list[type[BaseModel]]:
    union = typing.get_args(AnyEvent)[0]
    return list(typing.get_args(union))


def values_of(annotation: Any) -> st.SearchStrategy[Any]:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Union or origin is types.UnionType:
        return st.one_of(*(values_of(arg) for arg in args))
    if origin is typing.Literal:
        return st.sampled_from(args)
    if origin is list:
        return st.lists(values_of(args[0]), max_size=3)
    if origin is dict:
        return st.dictionaries(TEXT, values_of(args[1]), max_size=3)
    if annotation is typing.Any:
        return JSONISH
    if annotation is type(None):
        return st.none()
    if isinstance(annotation, type):
        if issubclass(annotation, BaseModel):
            return contracts_of(annotation)
        if issubclass(annotation, Enum):
            return st.sampled_from(list(annotation))
        if annotation is AwareDatetime:
            return AWARE
        known: dict[type, st.SearchStrategy[Any]] = {
            bool: st.booleans(),
            int: st.integers(-(2**63), 2**63 - 1),
            str: TEXT,
            datetime: AWARE | MOMENTS,
            date: st.dates(),
            UUID: st.uuids(),
        }
        if annotation in known:
            return known[annotation]
    raise AssertionError(f"no values drawn for {annotation!r}: teach the test this type")


def contracts_of(cls: type[BaseModel]) -> st.SearchStrategy[BaseModel]:
    # Built without validation, as the replay builds them: serializing is what is compared.
    fields = {name: values_of(info.annotation) for name, info in cls.model_fields.items()}
    return st.fixed_dictionaries(fields).map(lambda values: cls.model_construct(**values))


@pytest.mark.parametrize("cls", event_types(), ids=lambda cls: cls.__name__)
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_the_same_text_as_pydantic(cls: type[BaseModel], data: st.DataObject) -> None:
    contract = data.draw(contracts_of(cls))
    assert contract_json(contract) == contract.model_dump_json()
    assert contract_json_bytes(contract) == contract.model_dump_json().encode()


def test_what_orjson_does_not_know_is_written_by_pydantic() -> None:
    class Later(BaseModel):
        wait: timedelta
        big: int

    for contract in (Later(wait=timedelta(hours=1), big=1), Later(wait=timedelta(0), big=2**70)):
        assert contract_json(contract) == contract.model_dump_json()
