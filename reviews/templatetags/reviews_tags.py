"""Figures as people read them: rates as percent, money without cents."""

from __future__ import annotations

from decimal import Decimal

from django import template

register = template.Library()


@register.filter
def pct(rate: float | None) -> str:
    return "\u2013" if rate is None else f"{round(rate * 100)}%"


@register.filter
def money(amount: Decimal | None) -> str:
    return "\u2013" if amount is None else f"{amount:,.0f}"


@register.filter
def lift(value: float | None) -> str:
    return "\u2013" if value is None else f"{value:.2f}\u00d7"
