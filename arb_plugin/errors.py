"""Errors raised for bad input: each message names what was wrong and what is allowed."""


class ArbPluginError(Exception):
    """Base class of every error arb-plugin raises on purpose."""


class SettingsError(ArbPluginError):
    """A configuration file or ``ARB_*`` environment value is invalid."""


class DataError(ArbPluginError):
    """An input data file (CSV, catalog, payload) is malformed."""
