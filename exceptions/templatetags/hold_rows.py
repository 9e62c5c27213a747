"""``{% hold_rows holds %}``: a queue's rows, rendered by Jinja2 from
``templates/exceptions/hold_rows.jinja`` (the queue page's rows were most of its time in the
Django template language). A row action re-renders its one row with ``render_hold_rows``."""

from django import template
from django.template import engines
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from core.jinja import page_constants

register = template.Library()

ROWS_TEMPLATE = "exceptions/hold_rows.jinja"
ACTIONS_TEMPLATE = "exceptions/hold_actions.jinja"


def render_hold_rows(request, holds, *, next_path: str, **extra) -> SafeString:
    """The rows of ``holds``; ``next_path`` is the page they sit on (where a form posted without
    JavaScript returns), ``extra`` a re-rendered row's ``row_error`` or ``row_done``."""
    rows = engines["jinja2"].get_template(ROWS_TEMPLATE)
    context = {
        "holds": holds,
        "now": timezone.now(),
        "next_path": next_path,
        "me": request.user.pk,
        **extra,
    }
    html = rows.render({**context, **page_constants(request)})
    # Safe: the environment escapes every value it prints (autoescape, see o2c/jinja.py).
    return mark_safe(html)  # noqa: S308


@register.simple_tag(takes_context=True)
def hold_rows(context, holds) -> SafeString:
    request = context["request"]
    return render_hold_rows(request, holds, next_path=request.get_full_path())


#: Renders hold_actions.jinja's macro with a context (its CSRF field): once per drawer or page.
_ACTIONS = (
    '{% from "' + ACTIONS_TEMPLATE + '" import hold_actions with context %}'
    "{{ hold_actions(hold, hold_url, next_path, me, target) }}"
)


def render_hold_actions(request, hold, *, next_path: str, target: str | None) -> SafeString:
    """A hold's actions as its row shows them (``hold`` a HoldRow), for its drawer (``target``
    the row, ``#hold-<id>``) or its full page (``target`` None: plain forms)."""
    template = engines["jinja2"].env.from_string(_ACTIONS)
    context = {
        "hold": hold,
        "hold_url": reverse("exceptions:hold", args=[hold.id]),
        "next_path": next_path,
        "me": request.user.pk,
        "target": target,
        **page_constants(request),
    }
    return mark_safe(template.render(context))  # noqa: S308 (autoescaped, as above)
