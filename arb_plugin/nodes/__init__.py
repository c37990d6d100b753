"""
Node builders: the only place that knows the mode (backtest, paper, live).

Every node runs the same :class:`arb_plugin.strategy.ArbitrageStrategy`, configured from the settings by
:func:`arb_plugin.nodes.common.strategy_config`.
"""
