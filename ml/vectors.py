"""Opening the Qdrant vector store: a server when a URL is given, else local mode on a path.

Local mode keeps everything in one folder and allows one process only; a server allows many.
"""

from dataclasses import dataclass

from qdrant_client import QdrantClient


@dataclass(frozen=True)
class QdrantLocation:
    url: str | None = None
    path: str | None = None
    api_key: str | None = None
    timeout_s: float = 5.0

    def __post_init__(self) -> None:
        if not self.url and not self.path:
            raise ValueError("QdrantLocation needs a server url or a local path")


def qdrant_open(location: QdrantLocation) -> QdrantClient:
    if location.url:
        return QdrantClient(
            url=location.url, api_key=location.api_key or None, timeout=int(location.timeout_s)
        )
    return QdrantClient(path=location.path)


def local_fast_writes(client: QdrantClient, collection: str) -> None:
    """Qdrant's local mode commits every point to SQLite on its own, with an fsync each time
    (about 90 points/s on this machine's disk). Write-ahead logging without a sync per commit
    takes that to thousands per second; a power cut may lose the last writes, which an index
    rebuilt from the database (a full re-index) restores. Nothing to do on a server."""
    from qdrant_client.local.qdrant_local import QdrantLocal

    local = getattr(client, "_client", None)
    if not isinstance(local, QdrantLocal):
        return
    storage = getattr(local.collections.get(collection), "storage", None)
    connection = getattr(storage, "storage", None)
    if connection is not None:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
