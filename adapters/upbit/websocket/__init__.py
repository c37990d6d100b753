"""Upbit WebSocket streams: one multiplexed connection per stream (public market data, private orders)."""
