"""Opening the vector store: one process per local folder, any number on a server."""

import os
import subprocess
import sys
import uuid
from pathlib import Path

import numpy as np
import pytest

from ml.retrieval.contracts import Chunk
from ml.retrieval.encoder import DIMENSION
from ml.retrieval.index import ChunkIndex, is_local
from ml.retrieval.sparse import Bm25Encoder
from ml.vectors import LocalStoreInUse, QdrantLocation, local_store_claim, qdrant_open

ROOT = Path(__file__).resolve().parents[2]

HOLDER = """
import sys
from ml.vectors import QdrantLocation, qdrant_open
client = qdrant_open(QdrantLocation(path=sys.argv[1]))
print("ready", flush=True)
input()
print(len(client.get_collections().collections), flush=True)
"""


def test_a_local_folder_is_refused_to_a_second_process_with_the_holders_pid(
    tmp_path: Path,
) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(tmp_path)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "ready"
        with pytest.raises(LocalStoreInUse) as refused:
            qdrant_open(QdrantLocation(path=str(tmp_path)))
        assert refused.value.folder == os.path.realpath(tmp_path)
        assert refused.value.owner.startswith(f"{holder.pid} (")
        out, _ = holder.communicate("go\n", timeout=30)
        assert out.strip() == "0"  # the holder still reads its store
    finally:
        holder.kill()
        holder.wait()
    # Its lock went with it: this process may open the folder now.
    client = qdrant_open(QdrantLocation(path=str(tmp_path)))
    assert client.get_collections().collections == []
    client.close()


def test_claiming_twice_in_one_process_is_one_claim(tmp_path: Path) -> None:
    local_store_claim(str(tmp_path))
    local_store_claim(str(tmp_path))
    assert (tmp_path / ".owner").read_text().startswith(f"{os.getpid()} (")


@pytest.mark.skipif(not os.environ.get("QDRANT_URL"), reason="QDRANT_URL names no Qdrant server")
def test_the_chunk_index_on_the_server_in_qdrant_url() -> None:
    """The server path: the same client calls, searched by Qdrant itself (no local mirror)."""
    client = qdrant_open(
        QdrantLocation(
            url=os.environ["QDRANT_URL"], api_key=os.environ.get("QDRANT_API_KEY") or None
        )
    )
    assert not is_local(client)
    index = ChunkIndex(client, f"kb_test_{uuid.uuid4().hex[:8]}")
    try:
        chunks = [
            Chunk(chunk_id=str(uuid.UUID(int=i + 1)), doc_id=f"doc:{i}", text=f"refund number {i}")
            for i in range(3)
        ]
        dense = np.eye(3, DIMENSION, dtype=np.float32)
        sparse = [Bm25Encoder().encode_document(c.text) for c in chunks]
        index.upsert(chunks, dense, sparse)
        snapshot = index.snapshot()
        assert snapshot is not None
        assert [h.chunk_id for h in snapshot.search_dense(dense[1], 1)] == [chunks[1].chunk_id]
        index.delete_doc("doc:1")
        assert index.count() == 2
    finally:
        index.drop()
