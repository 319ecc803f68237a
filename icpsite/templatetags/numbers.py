"""The number filters every template has (built in through settings):
`{{ n|count }}`, `{{ amount|money:currency }}`, `{{ rate|percent }}`,
`{{ lift|ratio }}`. The rules are in icpsite.numbers, shared with the Python
that writes numbers into messages and emails."""

from __future__ import annotations

from django import template

from icpsite import numbers

register = template.Library()

register.filter("count", numbers.count)
register.filter("percent", numbers.percent)
register.filter("ratio", numbers.ratio)


@register.filter
def money(amount: object, currency: str | None = "") -> str:
    return numbers.money(amount, currency)
