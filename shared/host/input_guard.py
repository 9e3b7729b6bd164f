"""Limits every service puts on raw input before any route sees it.

Two properties of the platform make some input impossible to keep, whatever the route:

* PostgreSQL ``text`` and ``jsonb`` cannot hold the character U+0000. A NUL in a path, a query
  or a JSON string would reach a query (an error at the database) or an event (a consumer that
  can never store it, redelivered for ever). It is refused at the door: 400 ``nul_character``.
* An event travels as one NATS message (1 MiB by default) and every request becomes at most a
  few events. A body larger than ``MOTCUA_MAX_BODY_BYTES`` (256 KiB) has no legitimate use here,
  and is refused before it is read into memory: 413 ``body_too_large``.

Upload routes (``uploads``: exact path -> limit) take binary files: their bodies have their own
limit and no NUL check (a PDF is full of zero bytes; it is stored as bytes, never as text).
"""

from __future__ import annotations

import json
import os
import re
import unicodedata
from typing import Any
from urllib.parse import parse_qsl, urlencode

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.host.errors import ApiError

MAX_BODY_BYTES = int(os.environ.get("MOTCUA_MAX_BODY_BYTES", str(256 * 1024)))
MAX_JSON_DEPTH = 32


def _too_large(limit: int) -> ApiError:
    return ApiError(
        413,
        "body_too_large",
        f"Nội dung yêu cầu vượt quá {limit} byte",
        f"The request body is larger than {limit} bytes",
        limit_bytes=limit,
    )


_PLACES = {"path": "đường dẫn", "query": "tham số truy vấn", "body": "nội dung yêu cầu"}


def _nul(where: str) -> ApiError:
    return ApiError(
        400,
        "nul_character",
        f"Ký tự NUL (U+0000) không được phép trong {_PLACES[where]}",
        f"The NUL character (U+0000) is not allowed in the {where}",
        location=where,
    )


def _too_deep(limit: int) -> ApiError:
    return ApiError(
        422,
        "too_deeply_nested",
        f"Nội dung JSON lồng nhau quá {limit} cấp",
        f"The JSON body is nested more than {limit} levels deep",
        limit_levels=limit,
    )


# A JSON string token, escapes included (brackets inside strings are text, not nesting), up to
# its closing quote or the end: a match never fails once begun, so one scan is linear in size.
_STRING = rb'"(?:[^"\\]|\\.)*+(?:"|\Z)'
_JSON_STRING = re.compile(_STRING, re.DOTALL)
_TOKENS = re.compile(_STRING + rb"|[\[\]{}]", re.DOTALL)


def json_depth_exceeds(body: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether ``body`` nests arrays and objects deeper than ``limit`` (not a full parse)."""
    if body.count(b"[") + body.count(b"{") <= limit:  # the usual case: two scans in C
        return False
    depth = 0
    for token in _TOKENS.finditer(body):
        first = token.group()[0]
        if first in b"[{":
            depth += 1
            if depth > limit:
                return True
        elif first in b"]}":
            depth -= 1
    return False


def nfc(text: str) -> str:
    return text if text.isascii() else unicodedata.normalize("NFC", text)


def _nfc_token(match: re.Match[bytes]) -> bytes:
    token = match.group()
    if token.isascii() and b"\\u" not in token:
        return token
    try:
        value = json.loads(token)
    except ValueError:
        return token  # not a JSON string after all: the route reports what it cannot read
    normal = nfc(value)
    # ASCII-escaped when rewritten: a lone surrogate, kept as an escape, still reaches the model
    return token if normal == value else json.dumps(normal).encode()


def nfc_json(body: bytes) -> bytes:
    """``body`` with every JSON string (keys too) in NFC; numbers and layout kept byte for byte."""
    if body.isascii() and b"\\u" not in body:
        return body
    try:
        # Escaped text (``\\u1ec5``, as clients that write ASCII-only JSON send it) is read by
        # the C parser; either way one check in C says whether anything needs rewriting.
        text = json.dumps(json.loads(body), ensure_ascii=False) if b"\\u" in body else body.decode()
    except (ValueError, RecursionError):
        return body  # not JSON or not UTF-8: the route reports what it cannot read
    if unicodedata.is_normalized("NFC", text):
        return body
    normal = _JSON_STRING.sub(_nfc_token, body)
    return body if normal == body else normal


def nfc_query(query: bytes) -> bytes:
    """The query string with every name and value in NFC (unchanged if they already were)."""
    if b"%" not in query and query.isascii():
        return query
    pairs = parse_qsl(query.decode("utf-8", "replace"), keep_blank_values=True)
    normal = [(nfc(k), nfc(v)) for k, v in pairs]
    return query if normal == pairs else urlencode(normal).encode()


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def body_has_nul(body: bytes) -> bool:
    """A NUL byte, or a JSON string that decodes to one (``\\u0000``)."""
    if b"\x00" in body:
        return True
    if b"\\u0000" not in body:  # the fast path: one scan, no parse
        return False
    try:
        return _has_nul(json.loads(body))
    except ValueError:
        return False  # not JSON: the route reports what it cannot read


class InputGuard:
    """Pure ASGI middleware: refuses NUL characters and oversized bodies with explained errors."""

    def __init__(
        self,
        app: ASGIApp,
        max_body_bytes: int = MAX_BODY_BYTES,
        max_json_depth: int = MAX_JSON_DEPTH,
        uploads: dict[str, int] | None = None,
        signed_paths: tuple[str, ...] = (),
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_json_depth = max_json_depth
        # Binary upload paths and their own size limits: not JSON, so not scanned as JSON. A path
        # may name a segment as a route does ("/dossiers/{code}/result-document").
        self.uploads = dict(uploads or {})
        self._upload_patterns = [
            (re.compile("^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(path)) + "$"), limit)
            for path, limit in self.uploads.items()
            if "{" in path
        ]
        # Paths (prefixes) whose body is signed: checked like any other, never rewritten.
        self.signed_paths = signed_paths

    def _upload_limit(self, path: str) -> int | None:
        if path in self.uploads:
            return self.uploads[path]
        return next((limit for pattern, limit in self._upload_patterns if pattern.match(path)), None)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        query: bytes = scope.get("query_string", b"")
        if "\x00" in scope.get("path", ""):
            await _reject(_nul("path"), send)
            return
        if b"\x00" in query or b"%00" in query:
            await _reject(_nul("query"), send)
            return
        path: str = scope.get("path", "")
        normal_query = nfc_query(query)
        if normal_query is not query or not path.isascii():
            scope = {**scope, "path": nfc(path), "query_string": normal_query}
        declared = _content_length(scope)
        upload_limit = self._upload_limit(scope.get("path", "")) if scope.get("method") == "POST" else None
        limit = self.max_body_bytes if upload_limit is None else upload_limit
        if declared is not None and declared > limit:
            await _reject(_too_large(limit), send)
            return
        if scope.get("method") in ("GET", "HEAD", "DELETE", "OPTIONS") and not declared:
            await self.app(scope, receive, send)
            return
        body, more = await self._read(receive, limit)
        if more is None:
            await _reject(_too_large(limit), send)
            return
        if upload_limit is not None:  # a document's bytes: any byte may occur, nothing to normalise
            await self.app(scope, _replay(body, more, receive), send)
            return
        if json_depth_exceeds(body, self.max_json_depth):
            await _reject(_too_deep(self.max_json_depth), send)
            return
        if body_has_nul(body):
            await _reject(_nul("body"), send)
            return
        if not (self.signed_paths and path.startswith(self.signed_paths)):
            normal = nfc_json(body)
            if normal is not body:
                body, scope = normal, _with_length(scope, len(normal))
        await self.app(scope, _replay(body, more, receive), send)

    async def _read(self, receive: Receive, limit: int) -> tuple[bytes, Message | None]:
        """The whole body, and the message that ended it (None if the body was too large)."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return b"".join(chunks), message  # the client went away: let the app see it
            chunk: bytes = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                return b"", None
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks), {"type": "http.request", "body": b"", "more_body": False}


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _with_length(scope: Scope, length: int) -> Scope:
    headers = [(k, v) for k, v in scope.get("headers", ()) if k != b"content-length"]
    return {**scope, "headers": [*headers, (b"content-length", str(length).encode())]}


def _replay(body: bytes, last: Message, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            if last["type"] == "http.request":
                return {"type": "http.request", "body": body, "more_body": False}
            return last
        return await receive()

    return replay


async def _reject(error: ApiError, send: Send) -> None:
    payload = json.dumps(error.body(), ensure_ascii=False).encode()
    await send(
        {
            "type": "http.response.start",
            "status": error.status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
