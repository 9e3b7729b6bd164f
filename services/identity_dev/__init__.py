"""The development identity provider started by `make run` (never in production)."""

PORT = 8100
REALM_PATH = "/realms/motcua"
