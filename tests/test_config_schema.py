"""The settings schema: one declaration per key, read by loading, the CLI and the docs."""

from __future__ import annotations

from decimal import Decimal

import pytest

from chatpro import config, settings_schema
from chatpro.config import Settings, effective_values, load_settings, validate
from chatpro.errors import ConfigError
from tests.conftest import REPO


def test_every_settings_field_is_declared_once_with_key_check_default_and_doc():
    declared = {s.attr: s for s in settings_schema.SETTINGS}
    bookkeeping = {"aliases", "models", "warnings", "path", "file_keys"}
    for name in settings_schema.FIELDS:
        if name in bookkeeping:
            continue
        s = declared[name]
        assert s.doc and callable(s.check)
        assert getattr(Settings(), name) == s.default  # loading's default is the declared one
    assert set(settings_schema.FIELDS) == set(declared) | bookkeeping
    # the views other modules read are the same table, not copies
    assert list(config.TOP_LEVEL) == [s.key for s in settings_schema.SETTINGS]
    assert config.MAX_RETENTION_DAYS is settings_schema.MAX_RETENTION_DAYS
    from chatpro.chatlog import MAX_RETENTION_DAYS

    assert MAX_RETENTION_DAYS == settings_schema.MAX_RETENTION_DAYS


def test_every_declared_key_loads_from_a_file(tmp_path):
    doc = {
        "default_model": "fast",
        "api": {"base_url": "https://x.example/v1", "timeout": 5, "max_retries": 0},
        "profile": {"skills": ["a"], "bio": "b"},
        "history": {"retention_days": 7},
        "usage": {"warn_at": [90, 50]},
        "privacy": {"on_secret": "block"},
        "money": {"currency": "EUR", "monthly_budget": Decimal("12.50")},
    }
    settings = validate(doc, tmp_path / "c.toml")
    assert settings.timeout == 5.0 and settings.warn_at == (50, 90)
    assert settings.currency == "EUR" and settings.monthly_budget == Decimal("12.50")
    assert settings.file_keys == {
        s.key for s in settings_schema.SETTINGS if s.key not in {"api.allow_insecure"}
    }


def test_prices_and_budget_stay_exact(tmp_path):
    cfg = tmp_path / "config.toml"
    cfg.write_text('[money]\nmonthly_budget = 0.1\n[models."gpt-4o"]\ninput_per_mtok = 0.3\n')
    settings = load_settings(cfg)
    assert settings.monthly_budget == Decimal("0.1")
    assert settings.models["gpt-4o"]["input_per_mtok"] == Decimal("0.3")


@pytest.mark.parametrize("value", [Decimal("NaN"), Decimal("Infinity"), float("inf"), True, "60"])
def test_timeout_refuses_what_is_not_a_finite_number(tmp_path, value):
    with pytest.raises(ConfigError) as err:
        validate({"api": {"timeout": value}}, tmp_path / "c.toml")
    assert "api.timeout" in err.value.message


def test_effective_values_env_over_file_over_default(tmp_path):
    settings = validate({"api": {"base_url": "https://file.example/v1"}}, tmp_path / "c.toml")
    entries = {
        e.key.plain: e
        for e in effective_values(
            settings, {"OPENAI_BASE_URL": "http://localhost:1/v1"}, {"fast": "gpt-3.5-turbo"}
        )
    }
    assert (entries["api.base_url"].value, entries["api.base_url"].source) == (
        "http://localhost:1/v1",
        "env",
    )
    assert entries["api.timeout"].source == "default"
    assert entries["aliases.fast"].source == "default"
    file_only = {e.key.plain: e for e in effective_values(settings, {}, {})}
    assert file_only["api.base_url"].source == "file"


def test_the_guide_shows_the_generated_key_table():
    guide = (REPO / "docs" / "guide.md").read_text()
    table = settings_schema.reference_table()
    assert table in guide, (
        "docs/guide.md: paste settings_schema.reference_table() output:\n" + table
    )
