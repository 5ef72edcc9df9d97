"""Creates the demo workspace with its admin and an agent user (idempotent).

    python manage.py demo_seed [--password PW] [--host 127.0.0.1 --port 8000]

New users get the given password, or a random one that is printed and kept in
``var/demo-credentials.txt``; both the admin and the agent ("agent") sign in with it. The demo
pages on ``--host``/``--port`` (``make demo PORT=8010`` passes its own) may open the widget: a
re-run on another port adds that port's origins to every demo workspace. The demo shop's answer
variables (support phone, live chat, opening hours ...) are filled.
"""

import secrets
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from apps.accounts.services import demo_workspace_ensure
from apps.dialogue.demo import demo_origins, demo_origins_allow, demo_spec, demo_variables_ensure

DEMO_HOST = "127.0.0.1"
DEMO_PORT = 8000


class Command(BaseCommand):
    help = "Create the demo workspace with an admin user."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", default="admin")
        parser.add_argument("--password", default=None, help="Default: random, printed once.")
        parser.add_argument("--slug", default="demo")
        parser.add_argument("--name", default="Demo Shop")
        parser.add_argument("--host", default=DEMO_HOST, help="Where the demo serves.")
        parser.add_argument("--port", type=int, default=DEMO_PORT, help="Where the demo serves.")
        parser.add_argument(
            "--origin",
            action="append",
            default=[],
            help="Another origin allowed to open the widget (repeatable).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        password = options["password"] or secrets.token_urlsafe(12)
        origins = [*demo_origins(host=options["host"], port=options["port"]), *options["origin"]]
        workspace, user, created, agent = demo_workspace_ensure(
            slug=options["slug"],
            name=options["name"],
            admin_username=options["username"],
            admin_password=password,
            origins=origins,
        )
        demo_origins_allow(origins)
        shop = demo_spec("retail")
        if workspace.slug == shop["slug"]:
            demo_variables_ensure(workspace, shop)
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
