"""The bottom layer: what every other package uses.

Errors (:mod:`~tapewire.core.errors`), settings, exact decimals
(:mod:`~tapewire.core.exact`), the record types (:mod:`~tapewire.core.records`), instrument
ids, the Prometheus metrics registry and the Kafka client config.

May import: the standard library and third-party packages only (no other ``tapewire``
package).
"""
