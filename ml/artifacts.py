"""SHA-256 manifests for model artifact folders: written after training, checked before loading,
so a file changed on disk (by accident or on purpose) is refused with a clear error."""

import hashlib
import json
from pathlib import Path

MANIFEST = "manifest.json"


class TamperedModelError(RuntimeError):
    pass


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def digests_of(directory: Path) -> dict[str, str]:
    """SHA-256 of every file under ``directory`` but the manifest itself, by relative path."""
    return {
        path.relative_to(directory).as_posix(): sha256_of(path)
        for path in sorted(directory.rglob("*"))
        if path.is_file() and path.name != MANIFEST
    }


def manifest_write(directory: Path) -> dict[str, str]:
    """Hash every file under ``directory`` (but the manifest itself) into manifest.json."""
    digests = digests_of(directory)
    (directory / MANIFEST).write_text(json.dumps({"sha256": digests}, indent=1) + "\n")
    return digests


def manifest_verify(directory: Path, how_to_rebuild: str) -> dict[str, str]:
    manifest = directory / MANIFEST
    if not manifest.is_file():
        raise TamperedModelError(
            f"{directory} has no {MANIFEST}; refusing to load it ({how_to_rebuild})."
        )
    digests: dict[str, str] = json.loads(manifest.read_text())["sha256"]
    return digests_verify(directory, digests, how_to_rebuild, where=MANIFEST)


def digests_verify(
    directory: Path, digests: dict[str, str], how_to_rebuild: str, *, where: str
) -> dict[str, str]:
    """Checks every file ``digests`` names against its SHA-256 (``where`` says whose record
    it is: the folder's manifest.json, or a copy kept elsewhere, such as a model registry)."""
    for name, expected in digests.items():
        path = directory / name
        if not path.is_file() or sha256_of(path) != expected:
            raise TamperedModelError(
                f"{path} does not match its SHA-256 in {where}; refusing to load it "
                f"({how_to_rebuild})."
            )
    return digests
