"""Frontline: the domain package shared by every Lambda, the tests and the local runtime."""

__version__ = "0.1.0"
