"""What a file is, from its content: PDF and the common image formats, and nothing else.

A browser's Content-Type and a file's extension are what the sender says; the magic bytes are
what the file is. A document whose content is not one of ``ALLOWED_TYPES``, or disagrees with the
type it was sent as, is refused before it is stored. No I/O here.
"""

from __future__ import annotations

import os

from shared.refusal import Refusal

# media type -> the byte strings a file of that type starts with
MAGIC: dict[str, tuple[bytes, ...]] = {
    "application/pdf": (b"%PDF-",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
}
ALLOWED_TYPES = tuple(MAGIC)
# a type some clients send for the same content
ALIASES = {"image/jpg": "image/jpeg", "image/pjpeg": "image/jpeg", "application/x-pdf": "application/pdf"}
DEFAULT_MAX_BYTES = 5 * 1024 * 1024


def max_document_bytes() -> int:
    """``MOTCUA_DOCUMENT_MAX_BYTES``: a scanned page is well under 1 MiB, a whole dossier a few."""
    return int(os.environ.get("MOTCUA_DOCUMENT_MAX_BYTES", str(DEFAULT_MAX_BYTES)))


class DocumentRefused(Refusal):
    """A document that is not kept: its status, code and both messages."""

    def __init__(self, status: int, code: str, vi: str, en: str) -> None:
        super().__init__(code, vi, en, status=status)


def sniff(content: bytes) -> str | None:
    """The media type the content's first bytes prove, or None."""
    for media_type, starts in MAGIC.items():
        if any(content.startswith(start) for start in starts):
            return media_type
    return None


def checked_upload(content: bytes, declared: str | None, max_bytes: int | None = None) -> str:
    """The media type of an acceptable upload, or ``DocumentRefused``.

    ``declared`` is the Content-Type it came with; a generic one (``application/octet-stream``
    or none) is left to the content, a specific one must agree with it."""
    limit = max_document_bytes() if max_bytes is None else max_bytes
    if not content:
        raise DocumentRefused(422, "document_empty", "Tệp tải lên rỗng", "The uploaded file is empty")
    if len(content) > limit:
        raise DocumentRefused(
            413,
            "document_too_large",
            f"Tệp vượt quá {limit // 1024} KB",
            f"The file is larger than {limit // 1024} KiB",
        )
    found = sniff(content)
    if found is None:
        raise DocumentRefused(
            415,
            "document_type_not_allowed",
            "Chỉ nhận tệp PDF, PNG hoặc JPEG",
            "Only PDF, PNG or JPEG files are accepted",
        )
    claimed = (declared or "").split(";")[0].strip().lower()
    claimed = ALIASES.get(claimed, claimed)
    if claimed and claimed != "application/octet-stream" and claimed != found:
        raise DocumentRefused(
            415,
            "document_type_mismatch",
            f"Nội dung tệp là {found}, không phải {claimed} như đã khai",
            f"The file's content is {found}, not {claimed} as declared",
        )
    return found
