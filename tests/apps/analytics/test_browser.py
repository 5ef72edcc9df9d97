"""The dashboards in headless Chromium: an analyst signs in, sees the charts, changes the period
and a filter, clicks a chart bucket, opens a conversation with its traces, downloads the CSV
(switching to Chinese on the way). Screenshots go to the artifacts folder; the overview one is
copied to docs/screenshots/analytics.png when CS_UPDATE_SCREENSHOTS=1."""

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import PASSWORD, ROOT, SERVICE_VARS, Server, artifacts, chromium, server

__all__ = ["artifacts", "server"]  # the e2e fixtures, used here


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Module scope: Playwright's sync API keeps an event loop running while it is open. The e2e
    fixture, package-scoped and imported here, stayed open for every later test (each
    ``asyncio.run`` and async consumer test then failed: "another loop is running")."""
    yield from chromium()


SEED = f"""
import django
django.setup()
from apps.accounts.models import Membership, Role, User, Workspace
from apps.analytics.services import analytics_rebuild
from tests.apps.analytics.conftest import build_scenario
workspace = Workspace.objects.get(slug="demo")
build_scenario(workspace)
analyst = User.objects.create_user("analyst", password="{PASSWORD}")
Membership.objects.create(user=analyst, workspace=workspace, role=Role.ANALYST)
analytics_rebuild(workspace=workspace)
"""


def _seed(server: Server) -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in SERVICE_VARS and k != "DJANGO_SETTINGS_MODULE"
    }
    env.update(CS_VAR_DIR=str(server.var_dir), DJANGO_SETTINGS_MODULE="cs_platform.settings.local")
    subprocess.run([sys.executable, "-c", SEED], cwd=ROOT, env=env, check=True)


def _click_bucket(page: Any, index: int) -> None:
    """A real mouse click on the series chart, in one bucket's column (below its point)."""
    page.locator("#an-series-chart").scroll_into_view_if_needed()
    box = page.locator("#an-series-chart").bounding_box()
    x, y = page.evaluate(
        """(index) => {
            const chart = echarts.getInstanceByDom(document.getElementById("an-series-chart"));
            const option = chart.getOption();
            const last = option.series.length - 1;
            const value = option.series[last].data[index];
            return chart.convertToPixel({seriesIndex: last}, [index, value]);
        }""",
        index,
    )
    page.mouse.click(box["x"] + x, box["y"] + y + 40)


def test_analyst_explores_drills_down_and_exports(
    server: Server, browser: Any, artifacts: Path, tmp_path: Path
) -> None:
    _seed(server)
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    server.sign_in(page, "analyst", "/analytics/", lands_on="/analytics/demo/")
    expect(page.locator("nav.staff-nav")).to_contain_text("Analytics")

    page.fill("#f-start", "2025-03-03")
    page.fill("#f-end", "2025-03-09")
    page.select_option("#f-bucket", "day")
    page.click("#an-filters button[type=submit]")
    conversations = page.locator(".an__kpi[data-metric=conversations] .an__kpi-value")
    expect(conversations).to_have_text("11")
    resolution = page.locator(".an__kpi[data-metric=automated_resolution]")
    # Rolled up today, long after: C12 has gone idle too, so 5 of the 11 are resolved.
    expect(resolution).to_contain_text("45.5%")
    expect(resolution).to_contain_text("n=11")
    expect(page.locator("#an-series-chart svg")).to_have_count(1)
    expect(page.get_by_test_id("latency-table")).to_contain_text("total")
    page.screenshot(path=str(artifacts / "analytics-1-overview.png"), full_page=True)
    if os.environ.get("CS_UPDATE_SCREENSHOTS") == "1":  # a test run leaves tracked files alone
        screenshots = ROOT / "docs" / "screenshots"
        screenshots.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(artifacts / "analytics-1-overview.png", screenshots / "analytics.png")

    # A filter: Chinese conversations only.
    page.select_option("#f-language", "zh")
    page.click("#an-filters button[type=submit]")
    expect(conversations).to_have_text("1")
    page.select_option("#f-language", "")
    page.click("#an-filters button[type=submit]")
    expect(conversations).to_have_text("11")

    # The handoff series; a click on the 2025-03-07 bucket lists its two handoffs.
    page.select_option("#an-metric", "handoff")
    expect(page.locator("#an-series-chart[data-metric=handoff]")).to_have_count(1)
    _click_bucket(page, 4)
    drill = page.get_by_test_id("drill-table")
    expect(page.locator("#an-drill-title")).to_contain_text("2025-03-07")
    expect(drill.locator("tbody tr")).to_have_count(2)
    expect(drill).to_contain_text("sensitive_intent")

    # One conversation with its traces.
    drill.locator("tbody tr", has_text="sensitive_intent").get_by_role("button").click()
    conversation = page.get_by_test_id("conversation")
    expect(conversation).to_contain_text("intent report_fraud (0.97) is marked sensitive")
    conversation.locator("details.an__trace summary").first.click()
    expect(conversation).to_contain_text("report_fraud 0.90")
    page.screenshot(path=str(artifacts / "analytics-2-conversation.png"), full_page=True)

    # Keyboard: the bucket table's buttons drill down too.
    page.locator("#an-series-table button[data-bucket]").first.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#an-drill-title")).to_contain_text("2025-03-03")

    # Chinese.
    page.click("[data-lang=zh]")
    expect(page.locator("#an-kpi-title")).to_have_text("总览")
    expect(page.locator(".an__kpi[data-metric=handoff] .an__kpi-name")).to_have_text("转人工率")
    page.screenshot(path=str(artifacts / "analytics-3-zh.png"), full_page=True)

    with page.expect_download() as download:
        page.get_by_test_id("export-conversations").click()
    saved = tmp_path / "conversations.csv"
    download.value.save_as(saved)
    lines = saved.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("conversation_id,started_at")
    assert len(lines) == 12
    assert errors == []
    context.close()
