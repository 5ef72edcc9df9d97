"""Where the public datasets are: ``$CS_DATASETS_DIR``, else ``../shared/datasets`` beside the
repository (each folder there has a SOURCE.md with its licence)."""

import os
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def datasets_dir() -> Path:
    configured = os.environ.get("CS_DATASETS_DIR")
    path = Path(configured) if configured else REPO.parent / "shared" / "datasets"
    if not path.is_dir():
        raise FileNotFoundError(
            f"datasets folder {path} not found; set CS_DATASETS_DIR to the folder that holds "
            "banking77/, clinc150/, bitext-customer-support/ ..."
        )
    return path
