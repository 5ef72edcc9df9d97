"""Pagination of API lists: ``?limit=&offset=``, answered as
``{"count": n, "next": url|null, "previous": url|null, "results": [...]}``."""

from drf_spectacular.utils import OpenApiParameter, inline_serializer
from rest_framework import serializers
from rest_framework.pagination import LimitOffsetPagination


class DefaultPagination(LimitOffsetPagination):
    default_limit = 50
    max_limit = 200


PAGE_PARAMETERS = [
    OpenApiParameter("limit", int, description="Items per page (at most 200; 50 if not given)."),
    OpenApiParameter("offset", int, description="Items to skip."),
]


def paginated(item: type[serializers.BaseSerializer]) -> serializers.Serializer:  # type: ignore[type-arg]
    """The schema of a page of ``item``s (APIViews paginate by hand, so drf-spectacular can't
    tell by itself that the answer is a page and not a list)."""
    return inline_serializer(
        f"Paginated{item.__name__.removesuffix('Output')}List",
        {
            "count": serializers.IntegerField(min_value=0),
            "next": serializers.URLField(allow_null=True),
            "previous": serializers.URLField(allow_null=True),
            "results": item(many=True),
        },
    )
