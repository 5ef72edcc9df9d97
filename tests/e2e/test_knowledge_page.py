"""An operator's knowledge page in headless Chromium: write and publish an article, find it in
the hit test with each channel's score, see a broken upload reported, add an entity."""

from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from tests.e2e.conftest import Server


def test_operator_publishes_tests_uploads_and_curates(
    server: Server, browser: Any, artifacts: Path, tmp_path: Path
) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    server.sign_in(page, "admin", "/knowledge/", lands_on="/knowledge/demo/")

    page.click("#article-new")
    page.fill("#article-form [name=title]", "How long does a refund take?")
    page.fill("#article-form [name=body]", "Refunds reach your card within five working days.")
    page.click("#article-form button[type=submit]")
    expect(page.locator("#article-form-title")).to_contain_text("v1, draft")
    page.click("#article-publish")
    expect(page.locator("#article-form-title")).to_contain_text("published")
    expect(page.get_by_test_id("article-rows")).to_contain_text("published")

    page.click("[data-tab=hittest]")
    page.fill("#hit-q", "when will I get my money back")
    page.click("#hit-form button[type=submit]")
    first = page.get_by_test_id("hit-results").locator("li").first
    expect(first).to_contain_text("How long does a refund take?")
    expect(first).to_contain_text("dense #1")
    page.screenshot(path=str(artifacts / "6-knowledge-hit-test.png"))

    page.click("[data-tab=documents]")
    broken = tmp_path / "manual.pdf"
    broken.write_bytes(b"%PDF-1.7 not really a pdf")
    page.set_input_files("#upload-files", str(broken))
    page.click("#upload-form button[type=submit]")
    expect(page.get_by_test_id("upload-list")).to_contain_text("manual.pdf: failed")
    expect(page.locator("#document-rows")).to_contain_text("the PDF could not be read")
    page.screenshot(path=str(artifacts / "7-knowledge-documents.png"))

    page.click("[data-tab=entities]")
    page.fill("#entity-form [name=name]", "Refund Policy")
    page.fill("#entity-form [name=aliases]", "money back")
    page.click("#entity-form button[type=submit]")
    page.locator("#entity-list li", has_text="Refund Policy").click()
    expect(page.locator("#entity-name")).to_contain_text("Refund Policy (thing) — money back")
    expect(page.locator("#entity-graph circle")).to_have_count(1)
    page.screenshot(path=str(artifacts / "8-knowledge-entities.png"))
    context.close()
