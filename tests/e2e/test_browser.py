"""The customer's and the agent's whole experience, in headless Chromium against a real server."""

import json
import sqlite3
import time
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

from tests.e2e.conftest import Server

BOT = '[data-testid="cs-message"][data-sender="bot"]'


def _query(server: Server, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(server.database) as db:
        return db.execute(sql).fetchall()


def _wait_for_rows(server: Server, sql: str, timeout: float = 10) -> list[tuple[Any, ...]]:
    deadline = time.monotonic() + timeout
    while not (rows := _query(server, sql)):
        assert time.monotonic() < deadline, f"nothing for {sql!r} within {timeout}s"
        time.sleep(0.2)
    return rows


def _open_panel(page: Page) -> None:
    if not page.get_by_test_id("cs-panel").is_visible():
        page.get_by_test_id("cs-bubble").click()
    expect(page.get_by_test_id("cs-panel")).to_be_visible()


def _message_ids(page: Page) -> list[str]:
    return page.locator('[data-testid="cs-message"][data-message-id]').evaluate_all(
        "els => els.map(e => e.dataset.messageId)"
    )


def test_customer_chats_hands_off_and_an_agent_answers(
    server: Server, browser: Any, artifacts: Path
) -> None:
    customer = browser.new_context(viewport={"width": 1280, "height": 860})
    page = customer.new_page()
    frames: list[dict[str, Any]] = []
    page.on(
        "websocket",
        lambda ws: ws.on("framereceived", lambda payload: frames.append(json.loads(payload))),
    )
    page.goto(f"{server.url}/demo/")
    _open_panel(page)
    expect(page.get_by_test_id("cs-input")).to_be_focused()

    page.get_by_test_id("cs-input").fill("Where is my order?")
    page.get_by_test_id("cs-send").click()
    expect(page.locator(BOT)).to_have_count(1)
    # No NLU model or articles in this workspace yet: the engine says it found nothing.
    expect(page.locator(BOT).first).to_contain_text("I couldn't find that in our help articles")
    deadline = time.monotonic() + 10
    while "message.done" not in (types := [frame["type"] for frame in frames]):
        assert time.monotonic() < deadline, f"no message.done in {types}"
        page.wait_for_timeout(50)
    deltas = [i for i, t in enumerate(types) if t == "message.delta"]
    # The output guard releases checked pieces of the reply as it streams.
    assert len(deltas) >= 2, "the reply arrived in one piece, not streamed"
    assert max(deltas) < types.index("message.done")
    page.screenshot(path=str(artifacts / "1-customer-streamed-reply.png"))

    page.locator(BOT).first.get_by_test_id("cs-thumb-down").click()
    page.get_by_test_id("cs-feedback-reason").fill("It did not answer my question")
    page.get_by_test_id("cs-feedback-submit").click()
    feedback = _wait_for_rows(server, "SELECT rating, reason FROM feedback_messagefeedback")
    assert feedback == [("down", "It did not answer my question")]
    page.screenshot(path=str(artifacts / "2-customer-thumbs-down.png"))

    before = _message_ids(page)
    assert len(before) == 2
    page.reload()
    _open_panel(page)
    expect(page.locator('[data-testid="cs-message"][data-message-id]')).to_have_count(2)
    assert _message_ids(page) == before

    page.get_by_test_id("cs-handoff").click()
    expect(page.locator('[data-testid="cs-message"][data-sender="system"]').last).to_contain_text(
        "Connecting you with a person"
    )

    agent_context = browser.new_context(viewport={"width": 1280, "height": 860})
    agent = agent_context.new_page()
    server.sign_in(agent, "agent", "/console/", lands_on="/console/demo/")
    waiting = agent.locator('[data-testid="agent-queue-item"][data-status="waiting_for_agent"]')
    expect(waiting).to_have_count(1)
    waiting.locator("button").click()
    expect(agent.get_by_test_id("agent-notes").first).to_contain_text("faq")
    agent.get_by_test_id("agent-claim").click()
    expect(page.locator('[data-testid="cs-message"][data-sender="system"]').last).to_contain_text(
        "joined the conversation"
    )
    agent.get_by_test_id("agent-input").fill("Hello, this is Ann from support. Let me check.")
    agent.get_by_test_id("agent-send").click()
    reply = page.locator('[data-testid="cs-message"][data-sender="agent"]')
    expect(reply).to_have_count(1)
    expect(reply).to_contain_text("Hello, this is Ann from support.")
    agent.screenshot(path=str(artifacts / "3-agent-console.png"))
    page.screenshot(path=str(artifacts / "4-customer-sees-agent.png"))

    # The agent records the outcome for the learning loop: the bot's answer was wrong.
    outcome = agent.get_by_test_id("agent-outcome")
    expect(outcome).to_be_visible()
    agent.get_by_test_id("agent-outcome-wrong").check()
    agent.get_by_test_id("agent-outcome-save").click()
    expect(outcome).to_contain_text("Saved")
    outcomes = _wait_for_rows(
        server, "SELECT resolved_intent, bot_answer_wrong FROM review_handoffoutcome"
    )
    assert outcomes == [("", 1)]

    rows = _query(server, "SELECT sender, COUNT(*) FROM chat_message GROUP BY sender ORDER BY 1")
    assert dict(rows) == {"agent": 1, "bot": 1, "customer": 1, "system": 2}
    customer.close()
    agent_context.close()


def test_widget_on_a_phone_and_in_chinese(server: Server, browser: Any, artifacts: Path) -> None:
    phone = browser.new_context(viewport={"width": 390, "height": 780}, locale="zh-CN")
    page = phone.new_page()
    page.goto(f"{server.url}/demo/")
    _open_panel(page)
    panel = page.get_by_test_id("cs-panel").bounding_box()
    assert panel is not None
    assert panel["width"] >= 380, "on a phone the panel fills the screen"
    expect(page.get_by_test_id("cs-send")).to_have_text("发送")
    page.keyboard.press("Escape")
    expect(page.get_by_test_id("cs-panel")).to_be_hidden()
    expect(page.get_by_test_id("cs-bubble")).to_be_focused()
    page.screenshot(path=str(artifacts / "5-phone-closed.png"))
    phone.close()
