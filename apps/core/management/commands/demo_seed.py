"""Creates the demo workspace with its admin and an agent user (idempotent).

    python manage.py demo_seed [--password PW]

New users get the given password, or a random one that is printed and kept in
``var/demo-credentials.txt``; both the admin and the agent ("agent") sign in with it.
"""

import secrets
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from apps.accounts.services import demo_workspace_ensure

DEMO_ORIGINS = ["http://127.0.0.1:8000", "http://localhost:8000"]


class Command(BaseCommand):
    help = "Create the demo workspace with an admin user."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", default="admin")
        parser.add_argument("--password", default=None, help="Default: random, printed once.")
        parser.add_argument("--slug", default="demo")
        parser.add_argument("--name", default="Demo Shop")
        parser.add_argument(
            "--origin",
            action="append",
            default=[],
            help="Another origin allowed to open the widget (repeatable).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        password = options["password"] or secrets.token_urlsafe(12)
        workspace, user, created, agent = demo_workspace_ensure(
            slug=options["slug"],
            name=options["name"],
            admin_username=options["username"],
            admin_password=password,
            origins=[*DEMO_ORIGINS, *options["origin"]],
        )
        credentials = settings.VAR_DIR / "demo-credentials.txt"
        if created:
            credentials.parent.mkdir(parents=True, exist_ok=True)
            credentials.write_text(
                f"username: {user.username}\nagent: {agent.username}\npassword: {password}\n"
            )
            credentials.chmod(0o600)
        self.stdout.write(
            self.style.SUCCESS(f"Demo workspace '{workspace.name}' ({workspace.slug})")
        )
        self.stdout.write(f"  widget key: {workspace.public_key}")
        if created:
            self.stdout.write(f"  admin: {user.username} / {password}  (saved in {credentials})")
            self.stdout.write(f"  agent: {agent.username} / {password}")
        elif credentials.exists():
            self.stdout.write(f"  admin: {user.username} (password in {credentials})")
        else:
            self.stdout.write(f"  admin: {user.username} (existing user; password unchanged)")
