"""The published language as an AsyncAPI 3.0 document, built from the contracts themselves.

Every event a service publishes is a channel (its subject pattern, with the dossier id as a
parameter) carrying one message whose payload schema is the pydantic contract's JSON schema. The
``send`` operations say which service publishes each event; the ``receive`` operations come from the
durable consumers declared in ``topology``. Nothing here is written by hand per event: a new
contract, a new version or a changed field (the applicant part, for instance) appears in the
document as soon as it is in ``shared.contracts``' registry.

Served as ``GET /asyncapi.json`` by every service (``shared.host.app_factory``).
"""

from __future__ import annotations

from functools import cache
from typing import Any, get_args

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from shared.contracts.registry import AnyEvent
from shared.eventlog.topology import CONSUMERS, STREAM, SUBJECT_ROOT

SCHEMAS = "#/components/schemas/{model}"


def contract_classes() -> list[type[BaseModel]]:
    """Every event contract in the registry's union, in declaration order."""
    union = get_args(AnyEvent)[0]
    return list(get_args(union))


def event_type_of(contract: type[BaseModel]) -> str:
    value = contract.model_fields["event_type"].default
    assert isinstance(value, str), contract
    return value


def channel_id(event_type: str) -> str:
    return event_type.replace(".", "_")


def address_of(event_type: str) -> str:
    service, _, rest = event_type.partition(".")
    return f"{SUBJECT_ROOT}.{service}.{{dossier_id}}.{rest}"


@cache
def asyncapi_document() -> dict[str, Any]:
    contracts = contract_classes()
    _, schema = models_json_schema(
        [(c, "validation") for c in contracts], ref_template=SCHEMAS, title="motcua contracts"
    )
    channels: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for contract in contracts:
        event_type = event_type_of(contract)
        cid = channel_id(event_type)
        service = event_type.partition(".")[0]
        messages[cid] = {
            "name": event_type,
            "title": contract.__name__,
            "summary": (contract.__doc__ or "").strip().split("\n\n")[0],
            "contentType": "application/json",
            "headers": {"$ref": "#/components/schemas/NatsHeaders"},
            "payload": {"$ref": SCHEMAS.format(model=contract.__name__)},
        }
        address = address_of(event_type)
        channels[cid] = {
            "address": address,
            "title": event_type,
            "description": f"Published by {service} on stream {STREAM}; the version is part of the subject.",
            "parameters": {
                "dossier_id": {"description": "the dossier's UUID (one dossier = one subject tree)"}
            },
            "messages": {cid: {"$ref": f"#/components/messages/{cid}"}},
        }
        message_ref = [{"$ref": f"#/channels/{cid}/messages/{cid}"}]
        operations[f"{service}_sends_{cid}"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{cid}"},
            "summary": f"{service} publishes {event_type} through its outbox relay",
            "messages": message_ref,
        }
        for spec in CONSUMERS:
            # ``{dossier_id}`` is one token, as a dossier's id is in a real subject
            if spec.receives(address):
                operations[f"{spec.durable}_receives_{cid}"] = {
                    "action": "receive",
                    "channel": {"$ref": f"#/channels/{cid}"},
                    "summary": f"{spec.owner}: {spec.description} (durable {spec.durable})",
                    "messages": message_ref,
                }
    schemas = dict(schema.get("$defs", {}))
    schemas["NatsHeaders"] = {
        "type": "object",
        "properties": {
            "Nats-Msg-Id": {
                "type": "string",
                "description": "the event_id; JetStream drops a re-publish within the duplicate window",
            }
        },
        "required": ["Nats-Msg-Id"],
    }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "motcua events",
            "version": "1",
            "description": (
                "Every event the motcua services publish on NATS JetStream, one channel per event type"
                " and version (the version is the event_type's .vN suffix and the subject's last token)."
                " Payloads are JSON; times carry their offset; personal data appears only in `applicant`."
            ),
        },
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": schemas},
    }
