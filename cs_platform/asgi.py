"""ASGI entry point: HTTP through Django, WebSockets through Channels."""

import logging
import os
import re
import sys
from typing import Any

from django.conf import settings
from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cs_platform.settings.local")

# Django must be set up before anything imports models (the websocket routes do).
django_asgi_app = get_asgi_application()

from apps.core.vectors import VectorStoreRefused, vector_store_claim  # noqa: E402

# The embedded vector store is this process's from its start: a second server on the same folder
# is refused now, before it loads anything, not at a customer's turn. Status 3 is uvicorn's
# "failed to start", on which its supervisor (cs_platform.serve) stops rather than starting the
# worker again and again.
try:
    vector_store_claim()
except VectorStoreRefused as exc:
    sys.stderr.write(f"{exc}\n")
    sys.exit(3)

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from apps.core.db import thread_pool_ensure  # noqa: E402
from apps.core.middleware import StreamedBodyLimit  # noqa: E402
from apps.dialogue.services import turn_recovery_ensure  # noqa: E402
from apps.dialogue.warmup import serving_models_preload  # noqa: E402
from apps.safety.services import models_warm_up  # noqa: E402
from cs_platform.routing import websocket_urlpatterns  # noqa: E402


class SecretQueryScrubber(logging.Filter):
    """Blanks the values of secret-looking query parameters (``?token=...``) in what the server
    logs about requests. No client of ours puts a secret in a URL (the widget's token goes in
    the socket's first event); this keeps an old or foreign client's from reaching the logs."""

    pattern = re.compile(
        r"([?&;][^=&;#\s\"']*(?:token|secret|passw|signature|api[_-]?key|session|auth)"
        r"[^=&;#\s\"']*=)[^&;#\s\"']*",
        re.IGNORECASE,
    )

    def scrub(self, value: Any) -> Any:
        return self.pattern.sub(r"\1[scrubbed]", value) if isinstance(value, str) else value

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self.scrub(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(self.scrub(arg) for arg in record.args)
        return True


# The loggers through which uvicorn (cs_platform.serve) and Django's and Channels' development
# servers write request lines. (daphne writes its access log to a stream of its own, and logs a
# socket's path without its query string.)
SERVER_LOGGERS = ("uvicorn.access", "uvicorn.error", "django.server", "django.channels.server")
for _name in SERVER_LOGGERS:
    logging.getLogger(_name).addFilter(SecretQueryScrubber())

# Load the safety models before serving: the first customer doesn't wait for spaCy, and no two
# threads race to import it (a concurrent first import of spaCy fails).
models_warm_up()
if settings.MODELS_PRELOAD:
    # The encoder and the workspaces' NLU models too: the readiness probe passes only after.
    serving_models_preload()

router = ProtocolTypeRouter(
    {
        # Bodies over the size limit are refused as they arrive, chunked ones included.
        "http": StreamedBodyLimit(django_asgi_app),
        "websocket": URLRouter(websocket_urlpatterns),
    }
)


async def application(scope: dict[str, Any], receive: Any, send: Any) -> None:
    # The first request starts this process's bot-turn recovery loop on the server's event
    # loop (a server that only ever saw REST messages still answers them).
    turn_recovery_ensure()
    thread_pool_ensure()
    await router(scope, receive, send)
