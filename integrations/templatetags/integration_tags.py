"""Template helpers for the integration console."""

import json

from django import template

register = template.Library()


@register.filter
def pretty_json(value) -> str:
    """Indented JSON, as the upstream system sent it (escaped by the template engine)."""
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)
