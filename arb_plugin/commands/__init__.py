"""Sub-commands of ``arb``: one module each, every one exposing ``register(subparsers)``."""
