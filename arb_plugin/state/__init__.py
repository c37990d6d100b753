"""
Application state: the Redis keyspace, PostgreSQL snapshots, sessions, and resume after a crash.

Modules
-------
- :mod:`~arb_plugin.state.keys`: ``Domain`` (with the SPEC's TTLs) and ``KeyBuilder``, the only code that
  builds ``arbitrage:{env}:{session_id}:{domain}:{symbol}:{field}`` keys.
- :mod:`~arb_plugin.state.store`: ``StateStore``, the one interface: Redis primary (one pool, one
  ``EVALSHA`` per batch, ``MGET``), PostgreSQL snapshots (asyncpg, ``COPY``), an in-memory latest value per
  key, fallback to PostgreSQL while Redis is unreachable and re-seeding when it returns.
- :mod:`~arb_plugin.state.bridge`: ``StateBridge`` / ``StateBridgeConfig``, the NautilusTrader Actor
  (``ImportableActorConfig``: ``arb_plugin.state.bridge:StateBridge``) that mirrors fills, positions,
  accounts, risk events and pair state into the store, and hands resume state to the strategy.
- :mod:`~arb_plugin.state.writer`: the store's own thread and event loop (the trading loop never waits).
- :mod:`~arb_plugin.state.sessions`, :mod:`~arb_plugin.state.retention`, :mod:`~arb_plugin.state.migrate`:
  session lifecycle (heartbeat, crashed), ``arb db cleanup``, ``arb db migrate``.

Resume hand-off (strategy)
--------------------------
On start, before any strategy starts (NautilusTrader's ``Trader._start`` starts every actor, then every
strategy), the bridge loads the newest valid ``PairSnapshot`` per symbol of its session (Redis, else
PostgreSQL; the newer ``ts_event`` wins) and puts its JSON in the Cache under
``RESUME_CACHE_KEY.format(symbol=...)``. If the bridge cannot start (PostgreSQL unreachable, the session
active in another process), its ``on_start`` raises and NautilusTrader starts no strategy: nothing trades
without its state.

Risk guard interface
--------------------
The risk guard persists and restores its state without holding a store:

- **Save**: publish a :class:`arb_plugin.events.GuardStateSnapshot` on ``GUARD_STATE_TOPIC`` whenever the
  guard's state changes::

      msgbus.publish(GUARD_STATE_TOPIC, GuardStateSnapshot(
          state={"daily_pnl_krw": "-150000", "peak_equity_krw": "250000000", "trading_day": "2025-01-02",
                 "halted": False},                      # any JSON-able dict; money as decimal strings
          cooldowns={"GLOBAL": expiry_ns, "BTCUSDT": expiry_ns},   # scope -> expiry (guard's clock, ns)
          ts_event=clock.timestamp_ns(),
      ))

  The bridge writes the whole snapshot under ``GUARD`` (TTL 7,200 s) and one ``COOLDOWN:{scope}`` key per
  active cooldown that expires with it (at most 3,600 s), plus a ``risk_guard_snapshots`` row (JSONB).
- **Restore**: in ``on_start`` (actors start first, so it is there), read
  ``cache.get(GUARD_RESUME_CACHE_KEY)`` and decode it with ``GuardStateSnapshot.from_json``; drop the
  cooldowns whose expiry has passed on your clock.
- From async code (tools, tests), the same through a store: ``await store.save_guard_state(snapshot)``
  and ``await store.load_guard_state()`` (Redis, else the newest valid ``risk_guard_snapshots`` row).
"""
