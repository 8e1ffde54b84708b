"""Importers: other recorders' raw captures -> Tapewire capture files.

    stats = import_cryptofeed([Path("BINANCE.0"), Path("BINANCE.ws.1.0")], out)

Each importer keeps every received payload byte-for-byte and converts the recorder's
receive time exactly to UTC integer nanoseconds (docs/offline.md).
"""

from tapewire.connectors.capture.importers.common import ImportFileError, ImportStats
from tapewire.connectors.capture.importers.cryptofeed import CRYPTOFEED_VENUES, import_cryptofeed

__all__ = ["CRYPTOFEED_VENUES", "ImportFileError", "ImportStats", "import_cryptofeed"]
