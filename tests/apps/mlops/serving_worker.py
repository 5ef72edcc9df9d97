"""A second worker process for the registry tests (``test_serving``): it answers each
``<workspace id> <session key>`` line on stdin with the NLU versions that serve that session,
as JSON, from its own per-process cache, until stdin closes.

    DATABASE_URL=... python -m tests.apps.mlops.serving_worker
"""

import json
import os
import sys

import django


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cs_platform.settings.test")
    django.setup()
    from apps.nlu import hooks

    print("ready", flush=True)
    for line in sys.stdin:
        workspace_id, session_key = line.split()
        runs = hooks.serving_runs(int(workspace_id), session_key)
        print(json.dumps([[run.version_number, run.arm] for run in runs]), flush=True)


if __name__ == "__main__":
    main()
