"""msgspec schemas of every Upbit REST and WebSocket payload the adapter uses."""
