"""An admin's review queue in headless Chromium: the next unsure turn is shown with its reasons
and suggestions, "1" picks the first suggestion, Enter submits, the item is done in the database
and the next one comes up; "o" labels it out of scope."""

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from tests.e2e.conftest import ROOT, Server

# Two unsure turns of the demo workspace, as the harvest stores them (the harvest itself is
# tested in tests/apps/review; this test is about the page).
_SEED = """
from django.utils import timezone
from apps.accounts.models import Workspace
from apps.nlu.models import Intent
from apps.review.models import ReviewItem
ws = Workspace.objects.get(slug="demo")
for name in ("card_lost", "refund_status"):
    Intent.objects.get_or_create(workspace=ws, name=name)
# The first is the more uncertain (a margin of 0.03 between its top two intents, against 0.85).
for text, top, second in (
    ("my card is gone i think", 0.41, 0.38),
    ("what is the meaning of life", 0.9, 0.05),
):
    ReviewItem.objects.create(
        workspace=ws, text=text, reasons=["low_confidence"], predicted_intent="card_lost",
        suggestions=[
            {"name": "card_lost", "score": top}, {"name": "refund_status", "score": second}
        ],
        uncertainty=1 - (top - second), turn_at=timezone.now(),
    )
"""

_READ = """
import json
from apps.review.models import ReviewItem
print(json.dumps([[i.text, i.status, i.final_intent, i.final_out_of_scope]
                  for i in ReviewItem.objects.order_by("id")]))
"""


def _shell(server: Server, code: str) -> str:
    env = {
        "CS_VAR_DIR": str(server.var_dir),
        "DJANGO_SETTINGS_MODULE": "cs_platform.settings.local",
        "PATH": "/usr/bin:/bin",
    }
    done = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout


def test_admin_labels_the_queue_by_keyboard(server: Server, browser: Any, artifacts: Path) -> None:
    _shell(server, _SEED)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    server.sign_in(page, "admin", "/review/demo/", lands_on="/review/demo/")

    item = page.get_by_test_id("review-item")
    expect(item).to_be_visible()
    expect(page.locator("#rv-text")).to_have_text("my card is gone i think")
    expect(page.locator("#rv-reasons")).to_contain_text("low confidence")
    page.screenshot(path=str(artifacts / "8-review-queue.png"))
    page.keyboard.press("1")
    expect(page.locator("#rv-selected")).to_have_text("card_lost")
    page.keyboard.press("Enter")

    expect(page.locator("#rv-text")).to_have_text("what is the meaning of life")
    page.keyboard.press("o")
    expect(page.locator("#rv-empty")).to_be_visible()

    rows = json.loads(_shell(server, _READ).strip().splitlines()[-1])
    assert rows == [
        ["my card is gone i think", "done", "card_lost", False],
        ["what is the meaning of life", "done", "", True],
    ]
    context.close()
