"""
arb-plugin: Binance x Upbit cross-exchange arbitrage as a NautilusTrader plugin.

Importable pieces for other NautilusTrader deployments:

- ``arb_plugin.strategy:ArbitrageStrategy`` / ``ArbitrageStrategyConfig`` (``ImportableStrategyConfig``)
- ``arb_plugin.spread`` pure spread math
- ``adapters.upbit`` the Upbit data/execution adapter
"""

__version__ = "0.1.0"
