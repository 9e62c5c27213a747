"""API plumbing shared by every app: one error body {"message", "code", "extra"} for all errors."""

from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from .errors import ApplicationError


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


def error(
    message: str, *, code: str, status_code: int = status.HTTP_400_BAD_REQUEST, **extra
) -> Response:
    return Response({"message": message, "code": code, "extra": extra}, status=status_code)
