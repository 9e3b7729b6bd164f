"""Documents that citizens hand in and agencies issue: checked by content, stored by hash.

``kinds`` decides what a file is from its first bytes (never from its name or the type a
browser claims) and refuses the rest; ``store`` keeps the bytes behind a small interface
(``DocumentStore``) whose PostgreSQL implementation is ``PgDocumentStore``. An event records
a document by id, type, size and SHA-256, never its bytes.
"""

from shared.documents.kinds import (
    ALLOWED_TYPES,
    DocumentRefused,
    checked_upload,
    max_document_bytes,
    sniff,
)
from shared.documents.store import (
    DocumentErased,
    DocumentStore,
    DocumentsUnavailable,
    PgDocumentStore,
    StoredDocument,
)

__all__ = [
    "ALLOWED_TYPES",
    "DocumentErased",
    "DocumentRefused",
    "DocumentStore",
    "DocumentsUnavailable",
    "PgDocumentStore",
    "StoredDocument",
    "checked_upload",
    "max_document_bytes",
    "sniff",
]
