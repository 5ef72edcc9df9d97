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
