"""Template helpers for the integration console."""

import json

from django import template

from receivables.accounts import mask_account, mask_accounts_in

register = template.Library()


@register.filter
def pretty_json(value) -> str:
    """Indented JSON, as the upstream system sent it (escaped by the template engine)."""
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)


@register.filter
def shown_payload(message) -> str:
    """A message's payload as ``pretty_json`` shows it, a bank file's account numbers masked:
    the inbox keeps the file as the bank sent it (a dead letter is replayed from it), and people
    see only the last four digits of an account, as everywhere else."""
    payload = message.payload
    if message.stream == "statements" and isinstance(payload, dict):
        payload = dict(payload)
        if isinstance(payload.get("content"), str):
            payload["content"] = mask_accounts_in(payload["content"], micr=True)
        if isinstance(payload.get("bank_account"), str):
            payload["bank_account"] = mask_account(payload["bank_account"])
    return pretty_json(payload)
