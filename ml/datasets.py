"""Where the public datasets are: ``$CS_DATASETS_DIR`` when set, else the first
``shared/datasets`` folder found in the repository or any folder above it (a clone beside the
shared folder finds ``../shared/datasets`` wherever it is). Each dataset folder there has a
SOURCE.md with its licence."""

import os
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def datasets_dir() -> Path:
    configured = os.environ.get("CS_DATASETS_DIR")
    if configured:
        if not Path(configured).is_dir():
            raise FileNotFoundError(f"CS_DATASETS_DIR={configured} is not a folder")
        return Path(configured)
    looked = [folder / "shared" / "datasets" for folder in (REPO, *REPO.parents)]
    for path in looked:
        if path.is_dir():
            return path
    raise FileNotFoundError(
        "the shared datasets folder was not found; looked in "
        + ", ".join(str(path) for path in looked)
        + ". Put it at one of those places or set CS_DATASETS_DIR to the folder that holds "
        "banking77/, clinc150/, bitext-customer-support/ ..."
    )
