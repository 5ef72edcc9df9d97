"""Builds the demo bots, a bank and a shop (idempotent; the first run trains two models, a few
minutes on 2 cores).

    python manage.py demo_bots [--epochs 2] [--host 127.0.0.1 --port 8000]
"""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.accounts.models import User
from apps.dialogue.demo import demo_bot_build, demo_origins
from apps.dialogue.management.commands.demo_seed import DEMO_HOST, DEMO_PORT


class Command(BaseCommand):
    help = "Build the demo bank and shop bots (intents, knowledge, flows, trained models)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--admin", default="admin", help="The demo admin (from demo_seed).")
        parser.add_argument("--epochs", type=int, default=2, help="NLU training epochs.")
        parser.add_argument("--only", choices=("bank", "retail"), default=None)
        parser.add_argument("--host", default=DEMO_HOST, help="Where the demo serves.")
        parser.add_argument("--port", type=int, default=DEMO_PORT, help="Where the demo serves.")

    def handle(self, *args: Any, **options: Any) -> None:
        admin = User.objects.filter(username=options["admin"]).first()
        if admin is None:
            raise CommandError(f"no user {options['admin']!r}: run manage.py demo_seed first")
        for name in [options["only"]] if options["only"] else ["retail", "bank"]:
            workspace = demo_bot_build(
                name=name,
                admin=admin,
                origins=demo_origins(host=options["host"], port=options["port"]),
                epochs=options["epochs"],
                say=lambda line: self.stdout.write(line),
            )
            self.stdout.write(
                self.style.SUCCESS(f"{workspace.name}: ready at /demo/{workspace.slug}/")
            )
