"""Typed settings from VHS_* variables; production refuses an unsafe setup and says what to set."""

from __future__ import annotations

import os
from dataclasses import fields

import pytest

from vhs import create_app
from vhs.config import DEFAULT_SECRET_KEY, ConfigError, Settings, flask_config

SAFE_PRODUCTION = {
    "VHS_ENV": "production",
    "VHS_SECRET_KEY": "k" * 48,
    "VHS_DATABASE_URL": "postgresql+psycopg://vhs@db.internal/vhs",
    "VHS_PUBLIC_BASE_URL": "https://vhs.example",
}


@pytest.fixture
def clean_env(monkeypatch, tmp_path, own_apps_allowed):
    """No VHS_* setting in the environment; the instance folder is a temp directory."""
    names = {f"VHS_{f.name.upper()}" for f in fields(Settings)}
    for key in list(os.environ):
        if key in names:
            monkeypatch.delenv(key)
    monkeypatch.setenv("VHS_INSTANCE_PATH", str(tmp_path))
    return monkeypatch


def refusal(env):
    with pytest.raises(ConfigError) as info:
        Settings.from_env(env).validate()
    return str(info.value)


def test_safe_production_setup_starts():
    settings = Settings.from_env(SAFE_PRODUCTION)
    settings.validate()
    assert settings.production


def test_production_refuses_the_default_secret_key():
    message = refusal({k: v for k, v in SAFE_PRODUCTION.items() if k != "VHS_SECRET_KEY"})
    assert "VHS_SECRET_KEY" in message
    assert "VHS_ENV=production" in message
    assert "VHS_SECRET_KEY" in refusal({**SAFE_PRODUCTION, "VHS_SECRET_KEY": DEFAULT_SECRET_KEY})
    assert "VHS_SECRET_KEY" in refusal({**SAFE_PRODUCTION, "VHS_SECRET_KEY": "short"})


def test_production_refuses_sqlite():
    message = refusal({**SAFE_PRODUCTION, "VHS_DATABASE_URL": "sqlite:////srv/vhs.sqlite3"})
    assert "VHS_DATABASE_URL" in message
    assert "VHS_SECRET_KEY" not in message  # only what is wrong is named
    assert "VHS_DATABASE_URL" in refusal(
        {k: v for k, v in SAFE_PRODUCTION.items() if k != "VHS_DATABASE_URL"}
    )


def test_production_refuses_stripe_without_webhook_secret():
    message = refusal({**SAFE_PRODUCTION, "VHS_STRIPE_SECRET_KEY": "sk_live_abc"})
    assert "VHS_STRIPE_WEBHOOK_SECRET" in message
    Settings.from_env(
        {
            **SAFE_PRODUCTION,
            "VHS_STRIPE_SECRET_KEY": "sk_live_abc",
            "VHS_STRIPE_WEBHOOK_SECRET": "whsec_x",
        }
    ).validate()


def test_production_refuses_plain_http_base_url():
    assert "VHS_PUBLIC_BASE_URL" in refusal(
        {**SAFE_PRODUCTION, "VHS_PUBLIC_BASE_URL": "http://vhs.example"}
    )


def test_every_problem_is_named_at_once():
    message = refusal({"VHS_ENV": "production", "VHS_STRIPE_SECRET_KEY": "sk_live_abc"})
    for name in (
        "VHS_SECRET_KEY",
        "VHS_DATABASE_URL",
        "VHS_STRIPE_WEBHOOK_SECRET",
        "VHS_PUBLIC_BASE_URL",
    ):
        assert name in message


def test_create_app_refuses_unsafe_production(clean_env):
    clean_env.setenv("VHS_ENV", "production")
    with pytest.raises(ConfigError, match="VHS_SECRET_KEY"):
        create_app()


def test_defaults_need_nothing(clean_env, tmp_path):
    settings = Settings.from_env({})
    settings.validate()
    assert not settings.production
    assert settings.mail_url == "" and not settings.stripe_enabled
    app = create_app()
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'vhs.sqlite3'}"
    assert app.config["RATELIMIT_STORAGE_URI"] == "memory://"
    assert app.config["SESSION_COOKIE_SECURE"] is False
    assert app.test_client().get("/healthz").status_code == 200


def test_values_are_converted_to_their_types():
    settings = Settings.from_env(
        {
            "VHS_MAIL_MAX_ATTEMPTS": "3",
            "VHS_SESSION_COOKIE_SECURE": "yes",
            "VHS_JITSI_DOMAIN": "meet.example",
        }
    )
    assert settings.mail_max_attempts == 3
    assert settings.session_cookie_secure is True
    assert settings.jitsi_domain == "meet.example"
    assert Settings.from_env({"VHS_SESSION_COOKIE_SECURE": "0"}).session_cookie_secure is False


def test_a_badly_typed_value_names_the_variable():
    with pytest.raises(ConfigError, match="VHS_MAIL_MAX_ATTEMPTS"):
        Settings.from_env({"VHS_MAIL_MAX_ATTEMPTS": "viele"})


def test_environment_is_read_by_create_app(clean_env, tmp_path):
    clean_env.setenv("VHS_MAIL_FROM", "Volkshochschule <post@vhs.example>")
    clean_env.setenv("VHS_DATABASE_URL", f"sqlite:///{tmp_path / 'other.sqlite3'}")
    app = create_app({"TESTING": True})
    assert app.config["VHS"].mail_from == "Volkshochschule <post@vhs.example>"
    assert app.config["SQLALCHEMY_DATABASE_URI"].endswith("other.sqlite3")


def test_flask_config_uses_redis_for_rate_limits_when_configured():
    cfg = flask_config(Settings(redis_url="redis://127.0.0.1:6379/0"), "/tmp")
    assert cfg["RATELIMIT_STORAGE_URI"] == "redis://127.0.0.1:6379/0"
