"""Small HTTP helpers every app's views share: the role gate, refusals shown in place, and safe
redirects (this module imports no app)."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme

from .errors import ApplicationError, PermissionDenied
from .roles import has_role


def next_url(request: HttpRequest, default: str) -> str:
    """Where a plain form post returns to: its ``next`` if it stays on this site, else ``default``
    (never an open redirect)."""
    candidate = request.POST.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return default


def role_required(*roles: str, message: str) -> Callable:
    """The one role gate of a page: a stranger is sent to log in, and a signed-in user with none
    of ``roles`` gets the 403 page (``message`` goes to the 403 handler and the log).

    Place it under ``@login_required`` and the method decorator: a stranger is sent to log in
    whatever the method (they learn nothing about the route), and a signed-in user learns a wrong
    method as 405 before the role is looked at. Used alone it still sends strangers to log in.
    Which rows the user may see is the selectors' business, not this gate's."""
    allowed = frozenset(roles)

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def gated(request: HttpRequest, *args, **kwargs):
            if not has_role(request.user, *allowed):
                raise DjangoPermissionDenied(message)
            return view(request, *args, **kwargs)

        gated.roles = allowed
        return login_required(gated)

    return decorator


@dataclass
class Refusal:
    """What a business rule refused inside ``with refused(...)``; falsy when nothing was."""

    error: ApplicationError | None = None

    def __bool__(self) -> bool:
        return self.error is not None

    @property
    def message(self) -> str:
        return self.error.message if self.error else ""

    @property
    def status(self) -> int:
        """The response's status: the error's (400, 403, 409), or 200 when nothing was refused."""
        return self.error.status_code if self.error else 200


@contextmanager
def refused(*, forbidden_too: bool = False) -> Iterator[Refusal]:
    """Keep a refusal of the service calls inside to show it in place (a form error, a row, a
    message after a redirect) with its status, instead of the generic response:

        with refused() as refusal:
            services.order_transition(...)
        if refusal:
            messages.error(request, refusal.message)

    A permission refusal still goes on to ``core.middleware.ApplicationErrorMiddleware`` (the
    403 page), unless ``forbidden_too``: where the response shows it like any other refusal (a
    hold row saying someone else must approve, each row of a bulk action, a form)."""
    refusal = Refusal()
    try:
        yield refusal
    except ApplicationError as exc:
        if isinstance(exc, PermissionDenied) and not forbidden_too:
            raise
        refusal.error = exc
