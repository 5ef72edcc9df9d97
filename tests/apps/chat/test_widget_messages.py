from typing import Any

import pytest

from apps.chat.models import Message


@pytest.mark.django_db
def test_resend_is_acknowledged_not_stored_twice(widget: Any) -> None:
    body = {"text": "Where is my order?", "client_message_id": "m-1"}
    first = widget.post(widget.url, body, format="json")
    resend = widget.post(widget.url, body, format="json")
    assert (first.status_code, resend.status_code) == (201, 200)
    assert resend.json()["id"] == first.json()["id"]
    assert Message.objects.count() == 1


@pytest.mark.django_db
def test_history_resumes_after_a_message_id(widget: Any) -> None:
    ids = [
        widget.post(
            widget.url, {"text": f"m{i}", "client_message_id": f"m-{i}"}, format="json"
        ).json()["id"]
        for i in range(3)
    ]
    history = widget.get(widget.url).json()
    assert [m["text"] for m in history["messages"]] == ["m0", "m1", "m2"]
    assert history["conversation"]["status"] == "bot"
    gap = widget.get(widget.url, {"after": ids[0]}).json()
    assert [m["id"] for m in gap["messages"]] == ids[1:]
