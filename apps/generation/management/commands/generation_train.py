"""Trains a workspace's generator adapter from its published FAQ articles and the replies
customers marked helpful (minutes on 2 cores):

    python manage.py generation_train <workspace-slug> [--config <yaml>]

(default settings: ml/configs/generation_workspace.yaml, GENERATION_ADAPTER_CONFIG).

The adapter lands in GENERATION_ADAPTERS_DIR/<slug>/ and replaces the copy a running vLLM
server holds (VLLM_BASE_URL); in-process engines load the new version on their next request.
"""

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.accounts.models import Workspace
from apps.generation.services import NotEnoughKnowledge, adapter_train


class Command(BaseCommand):
    help = "Train a workspace's generator adapter from its knowledge base and conversations."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("workspace", help="the workspace's slug")
        parser.add_argument("--config", type=Path, help="training settings (YAML)")

    def handle(self, *args: Any, **options: Any) -> None:
        workspace = Workspace.objects.filter(slug=options["workspace"]).first()
        if workspace is None:
            raise CommandError(f"no workspace {options['workspace']!r}")
        try:
            result = adapter_train(
                workspace=workspace, config_path=options["config"], progress=True
            )
        except (NotEnoughKnowledge, FileNotFoundError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"adapter {result.name} in {result.directory}: {result.steps} steps on "
            f"{result.records} records of {result.answers} answers, {result.seconds:.0f} s"
        )
        self.stdout.write(result.served)
        self.stdout.write(json.dumps(result.metrics, indent=1))
