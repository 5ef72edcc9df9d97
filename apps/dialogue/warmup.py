"""Models loaded before a server process answers anything: the sentence encoder and the NLU
model each workspace's customers are served (champion and canary), so the first customers of a
new process don't wait for them and a readiness probe doesn't pass before they are in memory
(the process answers no request, the probe included, until this has run)."""

import logging
import time

from apps.accounts.models import Workspace
from apps.knowledge.services.runtime import dense_encoder
from apps.nlu.runtime import model_serving

logger = logging.getLogger(__name__)


def serving_models_preload() -> dict[str, float]:
    """Loads the models; returns how many workspace models loaded and the seconds it took. A
    model that fails to load is logged and left to the first turn (which reports it)."""
    started = time.perf_counter()
    dense_encoder().encode(["warm up"])
    loaded = 0
    for workspace in Workspace.objects.order_by("id"):
        try:
            # The champion; a canary is loaded by the first session in its share.
            if model_serving(workspace=workspace) is not None:
                loaded += 1
        except Exception:
            logger.exception("NLU model of workspace %s not preloaded", workspace.pk)
    seconds = round(time.perf_counter() - started, 2)
    logger.info("models preloaded: %s workspace NLU model(s) in %.1f s", loaded, seconds)
    return {"nlu_models": loaded, "seconds": seconds}
