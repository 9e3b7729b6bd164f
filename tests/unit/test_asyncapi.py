"""The AsyncAPI document covers every contract in shared/contracts, and every reference resolves."""

from __future__ import annotations

import inspect
import re
from typing import Any

from faststream.specification.asyncapi.v3_0_0.schema import ApplicationSchema

from shared.contracts import base, catalogue, intake, payments, postal, processing
from shared.contracts.base import EventBase
from shared.eventlog.asyncapi import asyncapi_document
from shared.eventlog.topology import CONSUMERS, SUBJECT_ROOT


def published_contracts() -> dict[str, type[EventBase]]:
    """Found by reading the contract modules, not the registry, so a forgotten entry shows."""
    found: dict[str, type[EventBase]] = {}
    for module in (base, catalogue, intake, processing, postal, payments):
        for _, cls in inspect.getmembers(module, inspect.isclass):
            default = cls.model_fields["event_type"].default if issubclass(cls, EventBase) else None
            if isinstance(default, str) and re.fullmatch(r"\w+\.\w+\.v\d+", default):
                found[default] = cls
    return found


def _resolve(doc: dict[str, Any], ref: str) -> Any:
    node: Any = doc
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return node


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return own + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


def test_every_contract_and_version_is_a_channel_with_its_schema() -> None:
    doc = asyncapi_document()
    contracts = published_contracts()
    assert len(contracts) >= 20
    messages = {m["name"]: m for m in doc["components"]["messages"].values()}
    addresses = {c["address"] for c in doc["channels"].values()}
    for event_type, cls in contracts.items():
        assert event_type in messages, f"{event_type} ({cls.__name__}) is missing from the AsyncAPI document"
        payload = _resolve(doc, messages[event_type]["payload"]["$ref"])
        assert set(payload["properties"]) == set(cls.model_fields), event_type
        service, _, rest = event_type.partition(".")
        assert f"{SUBJECT_ROOT}.{service}.{{dossier_id}}.{rest}" in addresses
    assert set(messages) == set(contracts), "the document lists exactly the contracts"


def test_references_resolve_operations_cover_consumers_and_the_shape_is_asyncapi_3() -> None:
    doc = asyncapi_document()
    for ref in _refs(doc):
        assert _resolve(doc, ref) is not None, ref
    receivers = {op["summary"] for op in doc["operations"].values() if op["action"] == "receive"}
    for spec in CONSUMERS:
        assert any(f"durable {spec.durable})" in s for s in receivers), spec.durable
    sends = [op for op in doc["operations"].values() if op["action"] == "send"]
    assert len(sends) == len(doc["channels"])
    parsed = ApplicationSchema.model_validate(doc)
    assert parsed.asyncapi == "3.0.0" and len(parsed.channels or {}) == len(doc["channels"])
