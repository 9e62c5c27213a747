"""The one application error that services raise and views and the API turn into a clear message."""

from typing import Any


class ApplicationError(Exception):
    """A business rule refused the request; ``message`` is safe to show to the user."""

    #: HTTP-ish status the views and API map this error to.
    status_code = 400
    code = "invalid"

    def __init__(self, message: str, extra: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra or {}


class PermissionDenied(ApplicationError):
    """The actor lacks the role or row access for this action."""

    status_code = 403
    code = "forbidden"


class Conflict(ApplicationError):
    """Someone else changed the row first (already released, concurrent edit)."""

    status_code = 409
    code = "conflict"


class TransientError(Exception):
    """A retryable failure (timeout, connection refused, 429/5xx): tasks retry these with backoff."""


def require_reason(reason: str | None) -> str:
    """Every state change records why; an empty reason is a field error, not a silent default."""
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError("A reason is required.", {"field": "reason"})
    return reason
