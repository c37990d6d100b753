"""
Observability: structured logs with four backends, rolling metrics, the health check and the monitor.

- :mod:`arb_plugin.observability.logging`: ``LoggingManager`` (file, console, Redis Stream, PostgreSQL
  ``system_logs``), categories, per-environment policy, secret redaction, NautilusTrader's log routed in.
- :mod:`arb_plugin.observability.metrics`: ``RollingMetrics`` (pure), ``MetricsCollector`` actor and the
  ``METRICS`` flush.
- :mod:`arb_plugin.observability.health`: ``/health`` and ``/metrics`` over HTTP.
- :mod:`arb_plugin.observability.monitor`: what ``arb monitor`` reads and renders.
"""
