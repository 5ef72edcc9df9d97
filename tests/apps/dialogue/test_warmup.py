import asyncio
from typing import Any

import pytest

from apps.dialogue.warmup import serving_models_preload
from apps.nlu import runtime as nlu_runtime


@pytest.mark.django_db(transaction=True)
def test_the_served_nlu_models_are_loaded_before_the_first_turn(
    bank: Any, workspace_b: Any
) -> None:
    nlu_runtime._loaded.clear()

    async def server_import() -> dict[str, float]:
        # A server imports the application inside its running event loop.
        return serving_models_preload()

    loaded = asyncio.run(server_import())
    assert loaded["nlu_models"] == 1  # workspace B has no model yet
    assert str(bank.pk) in nlu_runtime._loaded
