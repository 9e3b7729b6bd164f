"""Who is calling: bearer tokens (OpenID Connect JWTs), roles per agency, one policy table.

The actor recorded on every event comes from the verified token, never from a request body.
"""

from shared.auth.principal import Principal, Role

__all__ = ["Principal", "Role"]
