"""One way to write a number for people: counts, amounts of money, rates.

Pages, emails and messages all go through these functions (templates through
the `numbers` filters of icpsite.templatetags.numbers, built into every
template), so "20000" never stands beside "20,000". Pure Python, in the
house's English: thousands grouped with commas, no locale database.

- `count`: whole things (accounts, deals, rows): "20,000".
- `money`: an amount and its currency: "14,800 EUR"; cents only when there
  are some ("14,800.50 EUR"); a blank currency is the reporting currency and
  is not written.
- `average`: an average of counts, one decimal below ten: "0.4", "2", "19".
- `percent`: a rate (0.35) as "35%".
- `ratio`: a multiple (1.8) as "1.80" and a multiplication sign.
A missing figure (None) is an en dash everywhere, never "0" or "None".
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

MISSING = "\u2013"


def _decimal(value: object) -> Decimal | None:
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def count(value: object) -> str:
    """A whole number with its thousands grouped: 20000 is "20,000"."""
    number = _decimal(value)
    if number is None:
        return MISSING if value is None or value == "" else str(value)
    return f"{number.quantize(Decimal(1), rounding=ROUND_HALF_UP):,f}"


def money(amount: object, currency: str | None = "") -> str:
    """An amount with its currency code after it, grouped like counts."""
    number = _decimal(amount)
    if number is None:
        return MISSING
    cents = number.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    if cents == cents.to_integral_value():
        text = f"{cents.quantize(Decimal(1)):,f}"
    else:
        text = f"{cents:,f}"
    return f"{text} {currency}" if currency else text


def average(value: object) -> str:
    """An average of counts: a decimal below ten ("0.4"), else whole ("2", "19")."""
    number = _decimal(value)
    if number is None:
        return MISSING
    tenths = number.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    if abs(number) < 10 and tenths != tenths.to_integral_value():
        return f"{tenths:f}"
    return count(number)


def percent(rate: object) -> str:
    """A rate between 0 and 1 as a whole percentage: 0.35 is "35%"."""
    number = _decimal(rate)
    if number is None:
        return MISSING
    return f"{count(number * 100)}%"


def ratio(value: object) -> str:
    """A multiple with two decimals: 1.8 is "1.80" and a multiplication sign."""
    number = _decimal(value)
    if number is None:
        return MISSING
    return f"{number.quantize(Decimal('0.01'), rounding=ROUND_HALF_UP):,f}\u00d7"


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """A count and its noun, in the plural unless it is one: "1,200 accounts"."""
    return f"{count(n)} {noun if n == 1 else plural or noun + 's'}"
