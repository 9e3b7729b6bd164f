"""The Markdown table: each figure beside its reference from the same run, and the target."""

from __future__ import annotations

from typing import Any

from bench.stats import ratio


def _f(value: Any, unit: str = "") -> str:
    return "—" if value is None else f"{value:,}{unit}" if isinstance(value, int) else f"{value:,.1f}{unit}"


def intake_cpu_ms(r: dict[str, Any]) -> float | None:
    """Intake's own CPU ms per dossier at the most clients (the batching regime)."""
    runs = [row for row in r["intake"]["runs"] if (row.get("cpu_ms_per_dossier") or {}).get("intake")]
    return runs[-1]["cpu_ms_per_dossier"]["intake"] if runs else None


def share_pct(us: float, ms: float | None) -> str:
    return "—" if not ms else f"{us / (ms * 1000) * 100:.2f} %"


def markdown(r: dict[str, Any]) -> str:
    m = r.get("machine", {})
    lines = [
        f"# motcua benchmark, {r.get('started', '')[:16]} UTC",
        "",
        f"Machine: {m.get('nproc')} cores, {m.get('mem_total')} RAM, Python {m.get('python')};"
        f" load average at the end {m.get('load_avg_at_end')}. Whole run: {_f(r.get('wall_seconds'), ' s')}.",
        "",
        "| workload | measured | reference (same run) | ratio | target |",
        "| --- | --- | --- | --- | --- |",
    ]
    for row in r["intake"]["runs"]:
        raw, es = row["raw_asyncpg"], row["eventsourcing_default"]
        lines.append(
            f"| intake, {row['clients']} clients | {_f(row['per_s'])}/s stored+published;"
            f" p50 {_f(row['p50_ms'])} / p99 {_f(row['p99_ms'])} ms |"
            f" raw asyncpg insert {_f(raw['per_s'])}/s (p99 {_f(raw['p99_ms'])} ms);"
            f" eventsourcing 1 aggregate/tx {_f(es['per_s'])}/s (p99 {_f(es['p99_ms'])} ms) |"
            f" {ratio(row['per_s'], raw['per_s'])} of raw, {ratio(row['per_s'], es['per_s'])} of es |"
            " >= 1,000/s, p99 < 100 ms |"
        )
    for row in r["intake"]["runs"]:
        spent = row.get("cpu_ms_per_dossier") or {}
        if spent:
            parts = ", ".join(f"{k} {v:.2f}" for k, v in spent.items() if k != "total")
            lines.append(
                f"| CPU per dossier, intake at {row['clients']} clients |"
                f" {spent['total']:.2f} ms in all: {parts} | 2 cores = 2,000 ms/s |"
                f" ceiling {2000 / spent['total']:,.0f} dossiers/s | <= 2 ms for 1,000/s |"
            )
    token = r.get("token_check")
    if token:
        lines.append(
            f"| bearer token check ({token['algorithm']}, {token['token_bytes']} bytes), CPU per request |"
            f" cached (same session token) {_f(token['cached_us'])} µs;"
            f" uncached (new token) {_f(token['uncached_us'])} µs;"
            f" the guard as FastAPI runs it (cached) {_f(token.get('guard_us'))} µs |"
            f" PyJWT decode + signature alone {_f(token['jwt_decode_us'])} µs |"
            f" cached = {share_pct(token['cached_us'], intake_cpu_ms(r))} of intake's CPU per dossier |"
            " intake CPU per dossier +15 % at most |"
        )
    sealing = r.get("encryption_us")
    if sealing:
        new = sealing["total per new dossier"]
        parts = ", ".join(f"{k} {v:.1f}" for k, v in sealing.items() if k != "total per new dossier")
        lines.append(
            f"| personal data sealed at intake (AES-GCM, wrapped data key), CPU per new dossier |"
            f" {new:.1f} µs ({parts} µs) | — |"
            f" {share_pct(new, intake_cpu_ms(r))} of intake's CPU per dossier |"
            " intake CPU per dossier +15 % at most |"
        )
    for row in r["end_to_end"]:
        rt = row["jetstream_round_trip"]
        lines.append(
            f"| end to end at {_f(row['offered_per_s'])}/s offered ({_f(row['achieved_per_s'])}/s taken) |"
            f" p50 {_f(row['p50_ms'])} / p99 {_f(row['p99_ms'])} ms ({row['not_visible']} not seen) |"
            f" JetStream publish->consume p50 {_f(rt['p50_ms'])} / p99 {_f(rt['p99_ms'])} ms |"
            f" p99 x{ratio(row['p99_ms'], rt['p99_ms'])} | p99 < 250 ms at 200/s |"
        )
    for stage in r["stages"]:
        rp = stage["replay"]
        label = f"{stage['dossiers']:,} dossiers / {stage['events']:,} events"
        lines.append(
            f"| replay scoring, {label} | {_f(rp['per_s'])} events/s ({_f(rp['seconds'])} s) |"
            f" nats-py read {_f(rp['nats_read']['per_s'])}/s; asyncpg read {_f(rp['pg_read']['per_s'])}/s |"
            f" {ratio(rp['per_s'], rp['nats_read']['per_s'])} of nats, {ratio(rp['per_s'], rp['pg_read']['per_s'])} of pg |"  # noqa: E501
            " >= 50,000/s |"
        )
        q = stage["queries"]
        pk = q["pk_select"]
        for name in ("history", "dashboard", "ranking"):
            lines.append(
                f"| {name}, {label} | p50 {_f(q[name]['p50_ms'])} / p99 {_f(q[name]['p99_ms'])} ms"
                f" (HTTP {q[name]['statuses']}) | PK SELECT p99 {_f(pk['p99_ms'])} ms |"
                f" x{ratio(q[name]['p99_ms'], pk['p99_ms'])} | p99 < 20 ms at 1 M |"
            )
        w = stage["write"]
        lines.append(
            f"| bulk write, {label} | {_f(w['first_batch_us_per_event'])} µs/dossier first batch,"
            f" {_f(w['last_batch_us_per_event'])} last; stage loaded in {_f(stage['load_seconds'])} s | — |"
            f" growth x{ratio(w['last_batch_us_per_event'], w['first_batch_us_per_event'])} | flat |"
        )
        if "memory_peak_rss_mb" in stage:
            mem = ", ".join(f"{k} {v} MB" for k, v in stage["memory_peak_rss_mb"].items())
            lines.append(f"| memory: peak RSS by {label} | {mem} | — | — | < 150 MB per service at 1 M |")
        if "verify" in stage:
            v = stage["verify"]
            found = v.get("error") or f"{v['differences']} differences"
            lines.append(
                f"| verify after the replay (the audit), {label} | {found} ({_f(v['seconds'])} s) | — | — |"
                " 0 differences |"
            )
        if "children_max_rss_mb" in rp:
            lines.append(
                f"| replay's largest process, {label} | {_f(rp['children_max_rss_mb'])} MB |"
                " — | — | bounded |"
            )
    if len(r["stages"]) > 1:
        a, b = r["stages"][0], r["stages"][-1]
        cost_a, cost_b = 1e6 / a["replay"]["per_s"], 1e6 / b["replay"]["per_s"]
        lines.append(
            f"| growth: replay cost per event | {_f(cost_a)} µs at {a['events']:,} -> {_f(cost_b)} µs at"
            f" {b['events']:,} | — | x{ratio(cost_b, cost_a)} | flat |"
        )
    mem = ", ".join(f"{k} {v} MB" for k, v in r["memory_peak_rss_mb"].items())
    lines += [f"| memory: peak RSS under intake load | {mem} | — | — | — |", ""]
    return "\n".join(lines)
