"""Typed settings from VHS_* variables; production refuses an unsafe setup and says what to set."""

from __future__ import annotations

import os
from zoneinfo import ZoneInfo

import pytest

from vhs import create_app
from vhs.config import DEFAULT_SECRET_KEY, ConfigError, Settings, flask_config
from vhs.urls import external_url

SAFE_PRODUCTION = {
    "VHS_ENV": "production",
    "VHS_SECRET_KEY": "k" * 48,
    "VHS_DATABASE_URL": "postgresql+psycopg://vhs@db.internal/vhs",
    "VHS_PUBLIC_BASE_URL": "https://vhs.example",
}


@pytest.fixture
def clean_env(monkeypatch, tmp_path, own_apps_allowed):
    """No VHS_* setting (nor flask run address) in the environment; a temp instance folder."""
    names = set(Settings.env_names()) | {"FLASK_RUN_HOST", "FLASK_RUN_PORT"}
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


# --- the time zone -------------------------------------------------------------------------


def test_timezone_is_a_zoneinfo_read_from_vhs_timezone():
    assert Settings.from_env({}).timezone == ZoneInfo("Europe/Berlin")
    vienna = Settings.from_env({"VHS_TIMEZONE": "Europe/Vienna"})
    assert vienna.timezone == ZoneInfo("Europe/Vienna")
    assert flask_config(vienna, "/tmp")["BABEL_DEFAULT_TIMEZONE"] == "Europe/Vienna"


@pytest.mark.parametrize(
    "name", ["Europe/Iserlohn", "europe/vienna", "Europe", "../etc/passwd", "CET+1"]
)
def test_an_unknown_time_zone_is_refused_naming_the_variable(name):
    with pytest.raises(ConfigError, match="VHS_TIMEZONE must be an IANA time zone") as info:
        Settings.from_env({"VHS_TIMEZONE": name})
    assert repr(name) in str(info.value)


def test_create_app_refuses_an_unknown_time_zone(clean_env):
    clean_env.setenv("VHS_TIMEZONE", "Mitteleuropa/Sauerland")
    with pytest.raises(ConfigError, match="VHS_TIMEZONE"):
        create_app({"TESTING": True})


def test_create_app_converts_a_zone_given_in_code_like_one_from_the_environment(clean_env):
    assert create_app({"timezone": "Europe/Vienna"}).config["VHS"].timezone == ZoneInfo(
        "Europe/Vienna"
    )
    with pytest.raises(ConfigError, match="VHS_TIMEZONE"):
        create_app({"timezone": "Mars/Olympus_Mons"})


# --- the public address follows `flask run` (make run HOST=... PORT=...) when unset ---------


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "http://127.0.0.1:5000"),
        ({"FLASK_RUN_PORT": "5101"}, "http://127.0.0.1:5101"),
        ({"FLASK_RUN_HOST": "localhost", "FLASK_RUN_PORT": "8080"}, "http://localhost:8080"),
        # Listening everywhere: this machine reaches it on loopback; others need the variable.
        ({"FLASK_RUN_HOST": "0.0.0.0", "FLASK_RUN_PORT": "8080"}, "http://127.0.0.1:8080"),
        ({"FLASK_RUN_HOST": "::"}, "http://127.0.0.1:5000"),
        ({"FLASK_RUN_HOST": "::1", "FLASK_RUN_PORT": "5101"}, "http://[::1]:5101"),
        (
            {"FLASK_RUN_PORT": "5101", "VHS_PUBLIC_BASE_URL": "https://vhs.example"},
            "https://vhs.example",
        ),
    ],
)
def test_public_base_url_follows_flask_run_when_unset(env, expected):
    assert Settings.from_env(env).public_base_url == expected


def test_a_bad_flask_run_port_is_refused_by_name():
    with pytest.raises(ConfigError, match="FLASK_RUN_PORT"):
        Settings.from_env({"FLASK_RUN_PORT": "fünftausend"})


def test_production_still_refuses_a_derived_address():
    env = {k: v for k, v in SAFE_PRODUCTION.items() if k != "VHS_PUBLIC_BASE_URL"}
    assert "VHS_PUBLIC_BASE_URL" in refusal({**env, "FLASK_RUN_PORT": "8000"})


def test_mail_links_point_at_the_port_being_served(clean_env):
    clean_env.setenv("FLASK_RUN_PORT", "5101")
    app = create_app({"TESTING": True})
    with app.app_context():
        assert external_url("accounts.forgot") == "http://127.0.0.1:5101/account/forgot"
