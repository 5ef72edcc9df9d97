"""Answer variables through the API: operators name and fill them, names match whatever their
spelling, each workspace sees only its own, and the variables that published knowledge uses
without a value are listed with the articles that use them."""

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from apps.accounts.models import Role
from apps.knowledge.models import AnswerVariable

pytestmark = pytest.mark.django_db


def _url(name: str, slug: str, **kwargs: Any) -> str:
    return reverse(f"v1:knowledge-{name}", kwargs={"workspace_slug": slug, **kwargs})


@pytest.fixture
def operator_a(api: Any, member_of: Any, workspace_a: Any) -> Any:
    user = member_of(workspace_a, Role.OPERATOR)
    api.force_authenticate(user)
    return user


def _create(api: Any, slug: str, name: str, value: str) -> Any:
    return api.post(_url("variable-list", slug), {"name": name, "value": value}, format="json")


def test_operator_names_fills_edits_and_deletes_a_variable(api: Any, operator_a: Any) -> None:
    created = _create(api, "acme", "  Customer Support Phone Number ", "+1 800 555 0199")
    assert created.status_code == 201, created.content
    body = created.json()
    assert {k: body[k] for k in ("name", "key", "value")} == {
        "name": "Customer Support Phone Number",
        "key": "customersupportphonenumber",
        "value": "+1 800 555 0199",
    }
    # The same name spelt another way is the same variable.
    again = _create(api, "acme", "customer_support_phone_NUMBER", "x")
    assert again.status_code == 400
    assert again.json()["error"]["code"] == "variable_exists"

    patched = api.patch(
        _url("variable-detail", "acme", variable_id=body["id"]),
        {"value": "0800 123 4567"},
        format="json",
    )
    assert patched.status_code == 200
    assert patched.json()["value"] == "0800 123 4567"
    listed = api.get(_url("variable-list", "acme")).json()
    assert [(v["name"], v["value"]) for v in listed["results"]] == [
        ("Customer Support Phone Number", "0800 123 4567")
    ]
    deleted = api.delete(_url("variable-detail", "acme", variable_id=body["id"]))
    assert deleted.status_code == 204
    assert api.get(_url("variable-list", "acme")).json()["results"] == []


@pytest.mark.parametrize("name", ["", "   ", "{{Live Chat}}", "a" * 101, "Live\nChat"])
def test_a_name_the_answers_could_not_use_is_refused(api: Any, operator_a: Any, name: str) -> None:
    assert _create(api, "acme", name, "x").status_code == 400


def test_workspace_a_cannot_read_or_write_workspace_b_variables(
    api: Any, operator_a: Any, workspace_b: Any
) -> None:
    theirs = AnswerVariable.objects.create(
        workspace=workspace_b, name="Live Chat", key="livechat", value="https://globex/chat"
    )
    # Another company's workspace is not there for A's operator (no hint that it exists).
    assert api.get(_url("variable-list", "globex")).status_code == 404
    assert _create(api, "globex", "Live Chat", "https://evil/chat").status_code == 404
    assert api.get(_url("variable-unfilled", "globex")).status_code == 404
    # Through A's own address, B's variable does not exist.
    detail = _url("variable-detail", "acme", variable_id=theirs.pk)
    assert api.patch(detail, {"value": "https://evil/chat"}, format="json").status_code == 404
    assert api.delete(detail).status_code == 404
    assert api.get(_url("variable-list", "acme")).json()["results"] == []
    theirs.refresh_from_db()
    assert theirs.value == "https://globex/chat"


def test_an_agent_reads_nothing_and_changes_nothing(
    api: Any, member_of: Any, workspace_a: Any
) -> None:
    api.force_authenticate(member_of(workspace_a, Role.AGENT))
    assert api.get(_url("variable-list", "acme")).status_code == 403
    assert _create(api, "acme", "Live Chat", "x").status_code == 403


def test_unfilled_variables_of_published_knowledge_are_listed_with_their_articles(
    api: Any, operator_a: Any, workspace_a: Any, workspace_b: Any
) -> None:
    def publish(title: str, body: str, publish: bool = True) -> int:
        response = api.post(
            _url("article-list", "acme"),
            {"title": title, "body": body, "publish": publish},
            format="json",
        )
        assert response.status_code == 201, response.content
        return int(response.json()["id"])

    phone = publish("Call us", "Call {{Customer Support Phone Number}} or use {{Live Chat}}.")
    site = publish("Where to log in", "Log in on {{Website URL}}; then call {{support_phone}}.")
    publish("Refunds", "See {{customer support phone number}} and {{Website_URL}}.")
    publish("A draft", "Use {{Draft Only}}.", publish=False)
    _create(api, "acme", "Live Chat", "https://acme.example.com/chat")
    _create(api, "acme", "Support Phone", "")  # named, but no value yet
    AnswerVariable.objects.create(
        workspace=workspace_b, name="Website URL", key="websiteurl", value="https://globex"
    )

    response = api.get(_url("variable-unfilled", "acme"))
    assert response.status_code == 200
    rows = response.json()["results"]
    summary = [
        (row["name"], row["key"], row["uses"], sorted(a["title"] for a in row["articles"]))
        for row in rows
    ]
    assert summary == [
        (
            "Customer Support Phone Number",
            "customersupportphonenumber",
            2,
            ["Call us", "Refunds"],
        ),
        ("Website URL", "websiteurl", 2, ["Refunds", "Where to log in"]),
        ("Support Phone", "supportphone", 1, ["Where to log in"]),
    ]
    assert {a["id"] for a in rows[0]["articles"]} >= {phone}
    assert rows[2]["articles"] == [{"id": site, "title": "Where to log in"}]


def test_the_knowledge_page_has_the_variables_section(member_of: Any, workspace_a: Any) -> None:
    client = Client()
    client.force_login(member_of(workspace_a, Role.OPERATOR))
    html = client.get("/knowledge/acme/").content.decode()
    assert 'data-tab="variables"' in html
    assert 'id="variable-form"' in html
    assert 'id="variable-unfilled"' in html
