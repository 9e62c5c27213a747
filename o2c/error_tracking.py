"""Error tracking with sentry-sdk: on only when SENTRY_DSN is set (settings/base.py calls init), and
what leaves the process carries no personal data, credentials or bank account numbers."""

import os
import re

import sentry_sdk
from sentry_sdk.integrations.celery import CeleryIntegration
from sentry_sdk.integrations.django import DjangoIntegration
from sentry_sdk.scrubber import DEFAULT_DENYLIST, DEFAULT_PII_DENYLIST, EventScrubber

from core.logs import redact

#: Keys whose values are dropped wherever they appear (request data, extra, breadcrumbs), on top
#: of sentry-sdk's own list (passwords, tokens, cookies, sessions, authorization).
DENYLIST = [
    *DEFAULT_DENYLIST,
    "bank_account",
    "payer_account",
    "account_number",
    "iban",
    "credentials_ref",
    "signature",
    "x_o2c_signature",
    "email_url",
    "database_url",
    "celery_broker_url",
    "cache_url",
]

# A run of eight or more digits, spaces or dashes allowed between them, optionally behind an IBAN's
# country and check digits: a bank account number until proved otherwise. It becomes ••••1234,
# the mask people see on pages (receivables.accounts.mask_account).
_ACCOUNT = re.compile(r"\b(?:[A-Z]{2}\d{2} ?)?\d(?:[ -]?\d){7,}\b")

# Identifiers sentry-sdk puts on events (event, trace, span, thread and task ids) are not masked.
_KEEP = {
    "event_id",
    "trace_id",
    "span_id",
    "parent_span_id",
    "timestamp",
    "start_timestamp",
    "thread.id",
    "celery_task_id",
}


def _mask_account(match: re.Match) -> str:
    digits = re.sub(r"\D", "", match.group(0))
    return "••••" + digits[-4:]


def scrub_text(text: str) -> str:
    """Credentials (core.logs.redact) and account-like digit runs out of one string."""
    return _ACCOUNT.sub(_mask_account, redact(text))


def _scrub(value):
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, dict):
        return {key: v if key in _KEEP else _scrub(v) for key, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(item) for item in value]
    return value


def before_send(event: dict, hint: dict) -> dict:
    """Every string of the event (exception values, messages, breadcrumbs, request URL and query,
    task arguments) goes through scrub_text before it is sent."""
    return _scrub(event)


def init(dsn: str) -> None:
    sentry_sdk.init(
        dsn=dsn,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        environment=os.environ.get("SENTRY_ENVIRONMENT", "production"),
        release=os.environ.get("SENTRY_RELEASE") or None,
        # No user ids, e-mail addresses, IP addresses or cookies.
        send_default_pii=False,
        # A form's body or a frame's local variables may hold a remittance or a bank account:
        # neither is sent; the stack trace and the scrubbed message say where and what failed.
        max_request_body_size="never",
        include_local_variables=False,
        event_scrubber=EventScrubber(
            denylist=DENYLIST, pii_denylist=DEFAULT_PII_DENYLIST, recursive=True
        ),
        before_send=before_send,
        before_send_transaction=before_send,
        # Errors only unless asked: tracing sends every request's spans.
        traces_sample_rate=float(os.environ.get("SENTRY_TRACES_SAMPLE_RATE", "0")),
    )
