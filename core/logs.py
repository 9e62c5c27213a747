"""Structured logs: JSON lines, each carrying the correlation id of the message or request at hand."""

import json
import logging
import re
import uuid
from contextlib import contextmanager
from contextvars import ContextVar

correlation_id: ContextVar[str] = ContextVar("correlation_id", default="-")


@contextmanager
def correlated(value) -> None:
    """Tag every log line inside the block with ``value`` (an inbound message's correlation id)."""
    token = correlation_id.set(str(value))
    try:
        yield
    finally:
        correlation_id.reset(token)


# Defence in depth: whatever a library or an exception puts in a message, credentials never reach
# the log. "Bearer abc" → "Bearer ***"; "password=abc", "secret: abc", "sha256=abc" → "…=***".
_BEARER = re.compile(r"(?i)\b(bearer|token|basic)(\s+)[A-Za-z0-9._~+/=-]{6,}")
_KEY_VALUE = re.compile(
    r"(?i)\b(password|passwd|secret|api[_-]?key|access[_-]?token|signature|sha256|sessionid|csrftoken)"
    r"([\"']?\s*[:=]\s*[\"']?)([^\s\"',;&}]+)"
)


def redact(text: str) -> str:
    return _KEY_VALUE.sub(r"\1\2***", _BEARER.sub(r"\1\2***", text))


class CorrelationFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.correlation_id = correlation_id.get()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
            "correlation_id": getattr(record, "correlation_id", correlation_id.get()),
        }
        if record.exc_info:
            entry["exc"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, default=str)


class PlainFormatter(logging.Formatter):
    """Human-readable lines (LOG_FORMAT=plain), redacted like the JSON ones."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


class CorrelationMiddleware:
    """Take X-Correlation-ID from the caller (or make one) for the request's logs and response."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        value = request.headers.get("X-Correlation-ID") or str(uuid.uuid4())
        with correlated(value[:64]):
            response = self.get_response(request)
        response["X-Correlation-ID"] = value[:64]
        return response
