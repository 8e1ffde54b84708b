"""Deployment: the TOML file every role reads, the roles, and the supervisor of ``run all``.

An entry-point layer package (under ``tapewire.cli``, beside ``tapewire.testing``): may
import every layer below it.
"""
