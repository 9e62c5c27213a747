"""``{% case_rows cases %}``: the case queue's rows, rendered by Jinja2 from
``templates/cases/case_rows.jinja`` (in the Django template language they were most of the
page's time). A claim re-renders its one row with ``render_case_rows``."""

from django import template
from django.template import engines
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from core.jinja import page_constants

register = template.Library()

ROWS_TEMPLATE = "cases/case_rows.jinja"


def render_case_rows(request, cases, **extra) -> SafeString:
    """The rows of ``cases``; ``extra`` is a re-rendered row's ``row_error``."""
    rows = engines["jinja2"].get_template(ROWS_TEMPLATE)
    context = {"cases": cases, "now": timezone.now(), **extra}
    html = rows.render({**context, **page_constants(request)})
    # Safe: the environment escapes every value it prints (autoescape, see core/jinja.py).
    return mark_safe(html)  # noqa: S308


@register.simple_tag(takes_context=True)
def case_rows(context, cases) -> SafeString:
    return render_case_rows(context["request"], cases)
