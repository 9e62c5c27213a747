"""The one place where a refusal a page or HTMX view lets through becomes its response (the API's
is ``core.api.exception_handler``)."""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.handlers.exception import response_for_exception
from django.shortcuts import render

from .errors import ApplicationError, PermissionDenied


class ApplicationErrorMiddleware:
    """Maps ``ApplicationError`` for pages and HTMX fragments, so views carry no try/except:

    - ``PermissionDenied`` (no row access, a role the action needs): the 403 page, exactly as
      Django answers its own PermissionDenied (the 403 handler, its log line), for HTMX too;
    - any other refusal (conflict 409, invalid 400): its message with its status, as a fragment
      for HTMX (swapped in place: base.html swaps 4xx bodies) or as a page.

    A view that shows a refusal in its own response (a form error, a hold row, a message after a
    redirect) keeps it with ``core.http.refused``."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, ApplicationError):
            return None
        if isinstance(exception, PermissionDenied):
            forbidden = DjangoPermissionDenied(exception.message)
            forbidden.__cause__ = exception
            return response_for_exception(request, forbidden)
        return render(
            request,
            "partials/error.html",
            {"message": exception.message, "error": exception},
            status=exception.status_code,
        )
