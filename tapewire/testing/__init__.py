"""Test support: the fake exchange (websocket + REST on loopback), frame fixtures and the
fault-injection hooks. Never imported by production code.

May import: every other ``tapewire`` package except :mod:`tapewire.cli` (its sibling at the
top layer).
"""
