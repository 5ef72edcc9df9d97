"""Rebuilds the analytics facts and rollups from the raw tables."""

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.accounts.models import Workspace
from apps.analytics.services import analytics_rebuild


class Command(BaseCommand):
    help = "Rebuild analytics facts and rollups from conversations, messages, traces, feedback."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--workspace", help="the workspace's slug (default: every workspace)")

    def handle(self, *args: Any, **options: Any) -> None:
        workspaces = Workspace.objects.order_by("id")
        if options["workspace"]:
            workspaces = workspaces.filter(slug=options["workspace"])
            if not workspaces.exists():
                raise CommandError(f"No workspace {options['workspace']!r}.")
        for workspace in workspaces:
            started = time.perf_counter()
            result = analytics_rebuild(workspace=workspace)
            self.stdout.write(
                f"{workspace.slug}: {result.conversations} conversations, {result.turns} turns "
                f"in {result.hours} hours, {time.perf_counter() - started:.1f}s"
            )
