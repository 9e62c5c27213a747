"""The one place where a refusal a page or HTMX view lets through becomes its response (the API's
is ``core.api.exception_handler``), how a view tells a page request from a fragment one, and the
time zone a request's pages show times in."""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.handlers.exception import response_for_exception
from django.shortcuts import render
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django_htmx.middleware import HtmxDetails
from rest_framework.views import APIView

from .errors import ApplicationError, PermissionDenied
from .timezones import zone_for_request

#: The request headers that decide between a page and a fragment.
FRAGMENT_HEADERS = ("HX-Request", "HX-History-Restore-Request")


class FragmentRequest(HtmxDetails):
    """``request.htmx`` as views and templates read it: true when the response may be a fragment.

    A history-restore request (htmx found no snapshot of the page the user went back to) is an
    htmx request that needs the whole page, so it is false here. Reading it marks the response
    as depending on the headers, as reading ``request.session`` adds ``Vary: Cookie``."""

    consulted = False

    def __bool__(self) -> bool:
        self.consulted = True
        return super().__bool__() and not self.history_restore_request


class HtmxMiddleware:
    """django-htmx's middleware with ``FragmentRequest``: a view that serves both a page and a
    fragment (it reads ``request.htmx``, or its template does) sends ``Vary: HX-Request,
    HX-History-Restore-Request``, so a cache or the browser never hands a fragment out as the
    page, whichever view it is and whether or not it remembered to say so."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.htmx = details = FragmentRequest(request)
        response = self.get_response(request)
        if details.consulted:
            patch_vary_headers(response, FRAGMENT_HEADERS)
        return response


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


class TimeZoneMiddleware:
    """Pages, fragments and CSV exports show times in the signed-in person's zone
    (``core.timezones``): Django templates and forms convert aware datetimes to the active zone.

    The API is left in the server's zone: its datetimes are ISO 8601 with an offset, the same
    whoever asks (DRF would otherwise render them in the caller's zone)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        timezone.activate(zone_for_request(request))
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()

    def process_view(self, request, view_func, view_args, view_kwargs):
        view_class = getattr(view_func, "cls", None)
        if isinstance(view_class, type) and issubclass(view_class, APIView):
            timezone.deactivate()
