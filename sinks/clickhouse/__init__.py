"""ClickHouse access: one client factory from a URL, versioned migrations.

A shell. May import: :mod:`tapewire.runtime`, :mod:`tapewire.schemas`, :mod:`tapewire.core`.
"""
