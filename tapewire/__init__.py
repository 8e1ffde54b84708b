"""Tapewire: CLI, settings, metrics and local runtime."""

__version__ = "0.1.0"
