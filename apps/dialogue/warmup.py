"""Models loaded before a server process answers anything: the sentence encoder and the NLU
model each workspace's customers are served (champion and canary), so the first customers of a
new process don't wait for them and a readiness probe doesn't pass before they are in memory
(the process answers no request, the probe included, until this has run)."""

import logging
import threading
import time

from django.db import connections

from apps.accounts.models import Workspace
from apps.knowledge.services.runtime import dense_encoder
from apps.nlu.runtime import model_serving

logger = logging.getLogger(__name__)


def serving_models_preload() -> dict[str, float]:
    """Loads the models; returns how many workspace models loaded and the seconds it took. A
    model that fails to load is logged and left to the first turn (which reports it).

    Runs in a thread of its own, waited for: a server imports the application inside its event
    loop, where Django allows no database query."""
    loaded: dict[str, float] = {}

    def run() -> None:
        try:
            loaded.update(_preload())
        except Exception:
            logger.exception("models not preloaded: the first turns load them")
        finally:
            connections.close_all()

    thread = threading.Thread(target=run, name="models-preload")
    thread.start()
    thread.join()
    return loaded


def _preload() -> dict[str, float]:
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
