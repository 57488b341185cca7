"""The model catalog: built-ins, prices, aliases of aliases, server models; money arithmetic."""

from __future__ import annotations

from decimal import Decimal

import pytest

from chatpro.config import Settings, reference_problems
from chatpro.errors import InputError
from chatpro.models import PRICES_READ, build_catalog
from chatpro.money import cost_of, format_money

PUBLISHED = {
    "gpt-4o": ("2.50", "10.00", 128_000),
    "gpt-4o-mini": ("0.15", "0.60", 128_000),
    "gpt-3.5-turbo": ("0.50", "1.50", 16_385),
    "gpt-4.1": ("2.00", "8.00", 1_047_576),
    "gpt-4.1-mini": ("0.40", "1.60", 1_047_576),
    "gpt-4.1-nano": ("0.10", "0.40", 1_047_576),
}


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_built_ins_carry_published_prices_and_windows(name):
    info = build_catalog(Settings()).resolve(name)
    inp, out, window = PUBLISHED[name]
    assert (info.input_per_mtok, info.output_per_mtok) == (Decimal(inp), Decimal(out))
    assert info.prices_read == PRICES_READ
    assert info.context_window == window
    if name not in ("gpt-4o", "gpt-3.5-turbo"):
        assert info.encoding == "o200k_base"
        assert info.takes_files and info.monthly_messages == 0 and info.fallback is None


def test_config_overrides_a_price_and_drops_the_published_date():
    settings = Settings(models={"gpt-4o": {"output_per_mtok": Decimal("12")}})
    info = build_catalog(settings).resolve("powerful")
    assert info.output_per_mtok == Decimal("12") and info.input_per_mtok == Decimal("2.50")
    assert info.prices_read is None


def test_cost_is_exact_and_unrounded():
    info = build_catalog(Settings()).resolve("gpt-4o-mini")
    assert cost_of(info, 1_000, 500) == Decimal("0.00045")
    assert cost_of(info, 3, 0) == Decimal("0.00000045")  # 0.15 × 3 / 10^6, no float noise
    total = sum((cost_of(info, 1, 1) or Decimal(0) for _ in range(10_000)), Decimal(0))
    assert total == Decimal("0.0075")
    local = build_catalog(Settings(models={"llama3.1": {}})).resolve("llama3.1")
    assert cost_of(local, 1_000, 1_000) is None


def test_money_is_rounded_only_when_shown():
    assert format_money(Decimal("1234.565"), "USD") == "1,234.57 USD"
    assert format_money(Decimal("0.00045"), "USD") == "0.0005 USD"
    assert format_money(Decimal("0.00000045"), "EUR") == "<0.0001 EUR"
    assert format_money(Decimal(0), "USD") == "0.00 USD"


def test_aliases_of_aliases_resolve_and_cycles_are_named():
    settings = Settings(aliases={"quick": "fast", "tiny": "quick"})
    catalog = build_catalog(settings)
    assert catalog.resolve("tiny").name == "gpt-3.5-turbo"
    cyclic = Settings(aliases={"a": "b", "b": "a"})
    problems = reference_problems(cyclic)
    assert [p.message for p in problems if p.cycle] == ["alias cycle: a → b → a"]
    with pytest.raises(InputError) as err:
        build_catalog(cyclic).resolve("a")
    assert "cycle" in err.value.message and "did you mean" not in (err.value.hint or "")


def test_an_alias_to_an_unknown_model_is_named_as_such():
    catalog = build_catalog(Settings(aliases={"quick": "gpt-9"}))
    assert catalog.target_name("quick") == "gpt-9"
    with pytest.raises(InputError) as err:
        catalog.resolve("quick")
    assert "alias 'quick' names unknown model 'gpt-9'" in err.value.message


def test_a_server_model_gets_an_assumed_window():
    catalog = build_catalog(Settings(aliases={"local": "qwen2.5"}))
    info = catalog.with_server_model("local")
    assert (info.name, info.context_window, info.assumed_window) == ("qwen2.5", 8192, True)
    assert info.monthly_messages == 0 and info.input_per_mtok is None
    assert catalog.with_server_model("gpt-4o").assumed_window is False
