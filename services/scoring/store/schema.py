"""Scoring's tables: the events it has seen, one row of facts per dossier, the figures.

``scoring.events`` keeps every published event with both its times, so any figure can be
recomputed as of a past date and every figure drills down to event histories without asking
another service.
"""

from __future__ import annotations

from services.scoring.domain.catalogue import CATALOGUE_TYPES_SQL
from services.scoring.domain.dossier_facts import COLUMNS
from services.scoring.domain.figures import ADDED_COUNTERS, COUNTERS

_FACT_TYPES = {
    "dossier_id": "uuid PRIMARY KEY",
    "dossier_code": "text NOT NULL",
    "postal_return": "boolean NOT NULL",
    "paid_online": "boolean NOT NULL",
    "documents_scanned": "boolean NOT NULL",
    "electronic_result": "boolean NOT NULL",
    "approved": "boolean",
    "late": "boolean NOT NULL",
    "paused": "boolean NOT NULL",
    "overdue_marked": "boolean NOT NULL",
    "rating": "smallint",
    "national_status": "smallint NOT NULL",
}
_COUNTS = (
    "fee_vnd",
    "obligations_vnd",
    "obligations_due",
    "escalations",
    "apologies",
    "transfers",
    "postal_failures",
    "complaints",
)


def _fact_type(name: str) -> str:
    if name in _FACT_TYPES:
        return _FACT_TYPES[name]
    if name.endswith("_at"):
        return "timestamptz"
    if name in _COUNTS or name.endswith(("_minutes", "_requests", "_entries", "_count")):
        return "bigint NOT NULL"
    return "text"


TABLES = ("events", "dossier_facts", "figures", "fold_state")
_ADDED_FIGURES = "".join(
    f"ALTER TABLE scoring.figures ADD COLUMN IF NOT EXISTS {c} bigint NOT NULL DEFAULT 0;\n"
    for c in ADDED_COUNTERS
)

DDL = f"""
CREATE SCHEMA IF NOT EXISTS scoring;
CREATE TABLE IF NOT EXISTS scoring.events (
    event_id text PRIMARY KEY,
    dossier_id uuid NOT NULL,
    event_type text NOT NULL,
    occurred_at timestamptz NOT NULL,
    recorded_at timestamptz NOT NULL,
    payload jsonb NOT NULL
);
CREATE INDEX IF NOT EXISTS events_dossier ON scoring.events (dossier_id, occurred_at);
CREATE INDEX IF NOT EXISTS events_recorded ON scoring.events (recorded_at);
-- the catalogue's few events, read by every /index766 without scanning the dossiers' events
CREATE INDEX IF NOT EXISTS events_catalogue ON scoring.events (event_type)
    WHERE event_type IN ({CATALOGUE_TYPES_SQL});
CREATE TABLE IF NOT EXISTS scoring.dossier_facts (
    {", ".join(f"{c} {_fact_type(c)}" for c in COLUMNS)}
);
-- Added after the first release: data folders made before them get the columns here.
ALTER TABLE scoring.dossier_facts ADD COLUMN IF NOT EXISTS late_reason text;
ALTER TABLE scoring.dossier_facts ADD COLUMN IF NOT EXISTS late_reason_vi text;
ALTER TABLE scoring.dossier_facts ADD COLUMN IF NOT EXISTS result_issued_at timestamptz;
ALTER TABLE scoring.dossier_facts ADD COLUMN IF NOT EXISTS rated_at timestamptz;
ALTER TABLE scoring.dossier_facts ADD COLUMN IF NOT EXISTS complaints bigint NOT NULL DEFAULT 0;
ALTER TABLE scoring.dossier_facts ADD COLUMN IF NOT EXISTS complained_at timestamptz;
ALTER TABLE scoring.dossier_facts ADD COLUMN IF NOT EXISTS pickup_reference text;
ALTER TABLE scoring.dossier_facts ADD COLUMN IF NOT EXISTS obligations_vnd bigint NOT NULL DEFAULT 0;
ALTER TABLE scoring.dossier_facts ADD COLUMN IF NOT EXISTS obligations_due bigint NOT NULL DEFAULT 0;
CREATE INDEX IF NOT EXISTS facts_code ON scoring.dossier_facts (dossier_code);
CREATE INDEX IF NOT EXISTS facts_department ON scoring.dossier_facts (department_code, registered_at);
CREATE INDEX IF NOT EXISTS facts_point ON scoring.dossier_facts (receiving_point, registered_at);
CREATE TABLE IF NOT EXISTS scoring.figures (
    dimension text NOT NULL,
    unit text NOT NULL,
    procedure_code text NOT NULL,
    period_kind text NOT NULL,
    period_start date NOT NULL,
    {", ".join(f"{c} bigint NOT NULL DEFAULT 0" for c in COUNTERS)},
    PRIMARY KEY (dimension, period_kind, period_start, unit, procedure_code)
);
{_ADDED_FIGURES}
-- Each dossier's fold so far (services.scoring.store.fold_states); a replay leaves it empty and
-- the consumer folds a dossier's history once when its next event comes.
CREATE TABLE IF NOT EXISTS scoring.fold_state (
    dossier_id uuid PRIMARY KEY,
    state jsonb NOT NULL
);
"""

DROP = "DROP TABLE IF EXISTS " + ", ".join(f"scoring.{t}" for t in TABLES) + " CASCADE;"
