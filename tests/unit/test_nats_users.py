"""The NATS users' permissions follow the topology: one source of truth, least privilege."""

from __future__ import annotations

from shared.eventlog.nats_users import ADMIN_USER, authorization_block, permissions
from shared.eventlog.topology import CONSUMERS, SERVICES


def test_every_consumer_belongs_to_a_service_and_only_its_owner_may_fetch_it() -> None:
    for spec in CONSUMERS:
        assert spec.owner in SERVICES, spec.durable
        for service in SERVICES:
            allowed = permissions(service, stream="S", subject_root="r.evt")["publish"]["allow"]
            fetch = f"$JS.API.CONSUMER.MSG.NEXT.S.{spec.durable}"
            assert (fetch in allowed) == (service == spec.owner), (service, spec.durable)


def test_a_service_publishes_under_its_own_subjects_only() -> None:
    for service in SERVICES:
        perms = permissions(service, stream="S", subject_root="r.evt")
        events = [s for s in perms["publish"]["allow"] if s.startswith("r.evt.")]
        assert events == [f"r.evt.{service}.>"]
        assert not any(s in {">", "$JS.API.>", "r.evt.>"} for s in perms["publish"]["allow"])
        # Declaring, deleting or purging is the ops user's job.
        assert not any(
            "STREAM.CREATE" in s or "DELETE" in s or "PURGE" in s for s in perms["publish"]["allow"]
        )
        assert perms["subscribe"]["allow"][0] == f"_INBOX_{service}.>"


def test_the_stream_name_and_subject_root_are_respected() -> None:
    block = authorization_block(
        {u: f"pw-{u}" for u in (*SERVICES, ADMIN_USER)}, stream="STG", subject_root="stg.evt"
    )
    assert '"stg.evt.intake.>"' in block and "$JS.ACK.STG.intake-postal.>" in block
    assert "MOTCUA" not in block and '"password": "pw-ops"' in block


def test_each_relay_may_read_the_stream_and_its_audiences_progress_but_declare_nothing() -> None:
    from shared.eventlog.topology import STREAM, consumers_reading, sources_of

    audience = {c.durable for c in consumers_reading("intake")}
    assert audience == {"processing-intake", "postal-intake", "scoring", "payments-intake", "notify-intake"}
    assert consumers_reading("scoring") == ()
    assert consumers_reading("notify") == ()  # notify publishes nothing: no relay, no audience
    assert {c.durable for c in consumers_reading("payments")} == {"scoring"}
    for spec in CONSUMERS:
        assert spec.owner in {"intake", "processing", "postal", "scoring", "payments", "notify"}
        for source in sources_of(spec):
            allowed = permissions(source)["publish"]["allow"]
            assert f"$JS.API.CONSUMER.INFO.{STREAM}.{spec.durable}" in allowed
            assert f"$JS.API.STREAM.INFO.{STREAM}" in allowed
            assert not any("CREATE" in a or "UPDATE" in a or "DELETE" in a for a in allowed)
