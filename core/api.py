"""API plumbing shared by every app: one error body {"message", "code", "extra"} for all errors,
the JSON parser with limits, the role gate, and keyset ("cursor") pages over the same selectors
the pages use."""

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.utils.json import strict_constant
from rest_framework.views import exception_handler as drf_exception_handler

from .errors import ApplicationError, PermissionDenied
from .jsonlimits import MAX_BYTES, JSONLimitError, loads_limited
from .roles import has_role


def exception_handler(exc, context):
    if isinstance(exc, ApplicationError):
        return Response(
            {"message": exc.message, "code": exc.code, "extra": exc.extra}, status=exc.status_code
        )
    response = drf_exception_handler(exc, context)
    if response is not None:
        detail = response.data
        if isinstance(detail, dict) and "detail" in detail:
            message, extra = str(detail["detail"]), {}
        else:
            message, extra = "Invalid input.", {"fields": detail}
        code = getattr(getattr(exc, "detail", None), "code", None) or getattr(
            exc, "default_code", "error"
        )
        response.data = {"message": message, "code": str(code), "extra": extra}
    return response


class LimitedJSONParser(JSONParser):
    """The API's JSON parser (``DEFAULT_PARSER_CLASSES``): a body over ``core.jsonlimits``' size
    or nesting limit is a 400 that says which, where DRF's parser recursed into a 500."""

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = (parser_context or {}).get("encoding") or settings.DEFAULT_CHARSET
        data = stream.read(MAX_BYTES + 1)  # one byte over is enough to refuse
        try:
            return loads_limited(
                data.decode(encoding),
                parse_constant=strict_constant if self.strict else None,
            )
        except JSONLimitError as exc:
            raise ParseError(exc.message, code=exc.code) from exc
        except ValueError as exc:  # malformed JSON or bytes, as DRF's parser says it
            raise ParseError(f"JSON parse error - {exc}") from exc


class HasRole(BasePermission):
    """The one role gate of the API (``role_permission`` makes one per endpoint). A stranger is
    refused as by ``IsAuthenticated``; a signed-in user with none of ``roles`` gets 403 with
    ``message``. A method the endpoint does not answer is left to DRF (405), and OPTIONS to its
    description, as before the gate. Which rows the user may see is the selectors' business."""

    roles: frozenset[str] = frozenset()
    message = "Your account has no role for this."
    code = PermissionDenied.code

    def has_permission(self, request, view) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        if request.method == "OPTIONS" or not hasattr(view, request.method.lower()):
            return True
        return has_role(request.user, *self.roles)


def role_permission(*roles: str, message: str) -> type[HasRole]:
    """``permission_classes = [role_permission(Role.FINANCE, Role.MANAGER, message=...)]``."""
    return type("HasRole", (HasRole,), {"roles": frozenset(roles), "message": message})


def error(
    message: str, *, code: str, status_code: int = status.HTTP_400_BAD_REQUEST, **extra
) -> Response:
    return Response({"message": message, "code": code, "extra": extra}, status=status_code)


#: The cursor and page size every list endpoint takes.
PAGE_PARAMETERS = [
    OpenApiParameter("after", str, description="The `next` cursor of the previous page."),
    OpenApiParameter("size", int, description="Rows per page (1–200, default 50)."),
]


def page_size(request) -> int:
    raw = request.query_params.get("size", "")
    return max(1, min(int(raw), 200)) if raw.isdigit() else settings.O2C_PAGE_SIZE


def paged(request, page, serializer_class) -> Response:
    """One page as {"results": [...], "next": url or null}: follow ``next`` until it is null."""
    next_url = None
    if page.next_cursor:
        query = request.query_params.copy()
        query["after"] = page.next_cursor
        next_url = request.build_absolute_uri(f"{request.path}?{query.urlencode()}")
    return Response(
        {
            "results": serializer_class(page.rows, many=True, context={"request": request}).data,
            "next": next_url,
        }
    )


def page_of(serializer_class, name: str):
    """The schema of a page of ``serializer_class`` rows."""
    return inline_serializer(
        name=name,
        fields={
            "results": serializer_class(many=True),
            "next": serializers.URLField(allow_null=True),
        },
    )


class ReasonSerializer(serializers.Serializer):
    """Every action says why; the reason lands in history."""

    reason = serializers.CharField(max_length=500)

    def validate_reason(self, value: str) -> str:
        if not value.strip():
            raise serializers.ValidationError("A reason is required.")
        return value.strip()
