from typing import Any

import pytest

from apps.dialogue.warmup import serving_models_preload
from apps.nlu import runtime as nlu_runtime


@pytest.mark.django_db
def test_the_served_nlu_models_are_loaded_before_the_first_turn(
    bank: Any, workspace_b: Any
) -> None:
    nlu_runtime._loaded.clear()
    loaded = serving_models_preload()
    assert loaded["nlu_models"] == 1  # workspace B has no model yet
    assert str(bank.pk) in nlu_runtime._loaded
