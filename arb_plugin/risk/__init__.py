"""
RiskGuard: custom risk rules in front of NautilusTrader's RiskEngine.

- :mod:`arb_plugin.risk.rules`: pure guards (numbers in, allow/deny with a reason out).
- :mod:`arb_plugin.risk.guard`: the hierarchy ``GlobalGuard -> PortfolioGuard -> SymbolGuard[SYMBOL]``.
- :mod:`arb_plugin.risk.exposure`: per-instrument exposure and PnL, summed per currency.
- :mod:`arb_plugin.risk.state`: guard state payloads and the ``GuardStateStore`` interface.
- :mod:`arb_plugin.risk.gate`: the NautilusTrader wiring, :func:`install_risk_guard`.
"""
