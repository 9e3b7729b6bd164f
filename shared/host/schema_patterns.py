"""Date and date-time rules that the OpenAPI documents state as patterns, so that a request the
schema allows is one the service accepts.

JSON Schema has no minimum for a ``format: date-time`` string, and a generator drawing from the
format alone sends years 1 to 9999; the services accept only a range of years (and, for
date-times, only with an offset). The patterns below say exactly that. They leave out 29
February (valid only in leap years): a pattern narrower than the rule is still true of every
request it allows.
"""

from __future__ import annotations

from pydantic import WithJsonSchema

# month-day, each month with the days it always has
_MONTH_DAY = r"(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1\d|2[0-8])|(?:0[13-9]|1[0-2])-(?:29|30)|(?:0[13578]|1[02])-31)"
# RFC 3339 time with a required offset (a moment without one is refused)
_TIME = r"T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d{1,6})?(?:Z|[+-](?:0\d|1[0-3]):[0-5]\d)"
_YEARS = {(1900, 2199): r"(?:19|2[01])\d\d", (2000, 2100): r"(?:20\d\d|2100)"}


def moment_schema(first_year: int, last_year: int, description: str | None = None) -> WithJsonSchema:
    """A date-time with an offset within ``first_year``..``last_year``, as a pattern."""
    schema = {
        "type": "string",
        "pattern": f"^{_YEARS[first_year, last_year]}-{_MONTH_DAY}{_TIME}$",
        "description": description
        or f"RFC 3339 date-time with an offset, in the years {first_year}–{last_year}",
    }
    return WithJsonSchema(schema)


def day_schema(first_year: int, last_year: int, description: str | None = None) -> WithJsonSchema:
    """A date (yyyy-mm-dd) within ``first_year``..``last_year``, as a pattern."""
    schema = {
        "type": "string",
        "pattern": f"^{_YEARS[first_year, last_year]}-{_MONTH_DAY}$",
        "description": description or f"a date yyyy-mm-dd in the years {first_year}–{last_year}",
    }
    return WithJsonSchema(schema)
