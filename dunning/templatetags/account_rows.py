"""``{% account_rows accounts %}``: the collections worklist's rows, rendered by Jinja2 from
``templates/dunning/account_rows.jinja`` (in the Django template language they were most of the
page's time)."""

from django import template
from django.template import engines
from django.utils.safestring import SafeString, mark_safe

from core.jinja import page_constants

register = template.Library()


@register.simple_tag(takes_context=True)
def account_rows(context, accounts) -> SafeString:
    rows = engines["jinja2"].get_template("dunning/account_rows.jinja")
    html = rows.render({"accounts": accounts, **page_constants(context["request"])})
    # Safe: the environment escapes every value it prints (autoescape, see core/jinja.py).
    return mark_safe(html)  # noqa: S308
