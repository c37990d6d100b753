"""Upbit REST: the signed HTTP client, one API class per endpoint group, error mapping, rate metering."""
