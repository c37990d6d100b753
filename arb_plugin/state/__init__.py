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
The risk guard (:mod:`arb_plugin.risk`) holds no store; it talks to the bridge through the message bus and
the Cache (:mod:`arb_plugin.risk.state` describes its side):

- **Save**: the guard publishes a :class:`arb_plugin.events.GuardStateSnapshot` on ``GUARD_STATE_TOPIC``
  whenever its state changes: ``state`` (global level), ``symbols`` (the symbols that changed),
  ``cooldowns`` (every running one: ``"GLOBAL"`` or a symbol -> expiry, ns on the guard's clock). The
  bridge writes, through :meth:`StateStore.guard_state_writes`:

  ========================================= ========== ==============================================
  key                                       TTL (s)    value
  ========================================= ========== ==============================================
  ``...:GUARD``                             7 200      global state + every running cooldown
  ``...:GUARD:{symbol}``                    7 200      that symbol's state + its cooldown
  ``...:COOLDOWN`` / ``...:COOLDOWN:{sym}`` remaining  ``{"scope", "expires_ns"}``; gone when it expires
                                            (<= 3 600)
  ========================================= ========== ==============================================

  Every GUARD value is also a ``risk_guard_snapshots`` row (JSONB; ``symbol`` NULL for the global level).
- **Restore**: on start the bridge loads every GUARD key (:meth:`StateStore.load_guard_state`: per key
  the newer of Redis and PostgreSQL, so keys Redis lost come from the rows), puts the assembled snapshot
  in the Cache under ``GUARD_RESUME_CACHE_KEY`` and publishes it on ``GUARD_RESUME_TOPIC``: the RiskEngine
  started before the actors, so the guard takes it from the message (from the Cache key when it was put
  there before the engine started), before any strategy starts.
- From async code (tools, tests), the same through a store: ``await store.save_guard_state(snapshot)``
  and ``await store.load_guard_state()``.
"""
