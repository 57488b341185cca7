"""Money: the exact cost of a request, and how an amount is shown.

Arithmetic is Decimal and unrounded; rounding happens only in format_money, for display.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Protocol

MILLION = Decimal(1_000_000)


class Priced(Protocol):
    """What cost_of needs from a model (chatpro.models.ModelInfo fits)."""

    @property
    def input_per_mtok(self) -> Decimal | None: ...

    @property
    def output_per_mtok(self) -> Decimal | None: ...


def cost_of(model: Priced, prompt_tokens: int, completion_tokens: int) -> Decimal | None:
    """prompt tokens × input price + completion tokens × output price, per million, exactly;
    None when the model has no price (a model with only one price counts the other as 0)."""
    if model.input_per_mtok is None and model.output_per_mtok is None:
        return None
    input_price = model.input_per_mtok or Decimal(0)
    output_price = model.output_per_mtok or Decimal(0)
    return (prompt_tokens * input_price + completion_tokens * output_price) / MILLION


def format_money(amount: Decimal, currency: str) -> str:
    """`1.23 USD`; amounts under a cent keep four places (`0.0004 USD`) so they do not read as 0."""
    cents = amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    if cents == 0 and amount != 0:
        small = amount.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)
        shown = f"{small}" if small != 0 else ("<0.0001" if amount > 0 else "-0.0000")
        return f"{shown} {currency}"
    return f"{cents:,} {currency}"


def money_number(amount: Decimal | None) -> float | None:
    """AMOUNT for JSON (the log, --json): a number whose shortest repr is the exact decimal, so
    readers recover it with Decimal(repr(value)); None stays None."""
    return None if amount is None else float(amount)


def money_from_json(value: object) -> Decimal | None:
    """The exact amount a JSON number written by money_number stands for (None if it is none)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    amount = Decimal(repr(value))
    return amount if amount.is_finite() and amount >= 0 else None
