"""
NautilusTrader adapter for Upbit (Korea): market data, execution and instruments.

``adapters`` is a namespace package; this package is importable as ``adapters.upbit``.
"""
