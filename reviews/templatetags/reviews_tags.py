"""The reviews figures' old filter names, kept for templates that still load
them: each is the built-in number filter of the same rule (icpsite.numbers).
New templates use `count`, `money`, `percent` and `ratio` without a load."""

from __future__ import annotations

from django import template

from icpsite import numbers

register = template.Library()

register.filter("pct", numbers.percent)
register.filter("lift", numbers.ratio)


@register.filter
def money(amount: object, currency: str | None = "") -> str:
    return numbers.money(amount, currency)
