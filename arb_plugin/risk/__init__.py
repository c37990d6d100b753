"""
RiskGuard: custom risk rules in front of NautilusTrader's RiskEngine.

- :mod:`arb_plugin.risk.rules`: pure guards (numbers in, allow/deny with a reason out).
- :mod:`arb_plugin.risk.guard`: the hierarchy ``GlobalGuard -> PortfolioGuard -> SymbolGuard[SYMBOL]``.
- :mod:`arb_plugin.risk.exposure`: per-instrument exposure and PnL, summed per currency.
- :mod:`arb_plugin.risk.state`: the state a restart keeps, saved on the message bus and restored from the
  Cache (``GuardStateSnapshot``; the StateBridge persists it).
- :mod:`arb_plugin.risk.gate`: the NautilusTrader wiring, :func:`install_risk_guard`.
"""
