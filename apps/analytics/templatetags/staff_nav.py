"""``{% staff_links as links %}``: the links of the staff pages' navigation bar (``base.html``)
that the signed-in user's roles may use: the console for agents, knowledge and the review queue
for operators, analytics for analysts (admins get all four), the admin site for staff users, the
API docs for every member. (It serves every staff page; its home would be ``apps.core``.)"""

from typing import Any

from django import template

from apps.accounts.models import Membership, Role, User
from apps.analytics.permissions import ANALYTICS_ROLES

register = template.Library()

_LINKS = (
    ("console", "/console/", frozenset({Role.ADMIN, Role.AGENT})),
    ("knowledge", "/knowledge/", frozenset({Role.ADMIN, Role.OPERATOR})),
    ("analytics", "/analytics/", ANALYTICS_ROLES),
    ("review", "/review/", frozenset({Role.ADMIN, Role.OPERATOR})),
)
_LABELS = {
    "console": "Console",
    "knowledge": "Knowledge",
    "analytics": "Analytics",
    "review": "Review",
}


@register.simple_tag(takes_context=True)
def staff_links(context: dict[str, Any]) -> list[dict[str, Any]]:
    request = context.get("request")
    user = getattr(request, "user", None)
    if not isinstance(user, User):
        return []
    roles = set(Membership.objects.filter(user=user).values_list("role", flat=True))
    path = request.path if request is not None else ""
    links = [
        {"key": key, "label": _LABELS[key], "href": href, "current": path.startswith(href)}
        for key, href, allowed in _LINKS
        if roles & allowed
    ]
    if user.is_staff:
        links.append({"key": "admin", "label": "Admin", "href": "/admin/", "current": False})
    if roles:
        links.append({"key": "api", "label": "API docs", "href": "/api/docs/", "current": False})
    return links
