"""The signals operators run the system by: Prometheus metrics, OpenTelemetry traces, JSON logs.

Everything here is an adapter at the edge: the domain never imports it. See
docs/deploy/observability.md for what is measured and why.
"""
