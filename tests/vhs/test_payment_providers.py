"""The payment provider registry: keyed by ``Provider``, loud about unknown or unoffered ones."""

from __future__ import annotations

import pytest

from vhs.errors import Invalid
from vhs.payments.models import Provider
from vhs.payments.providers import base
from vhs.payments.providers.manual import ManualProvider
from vhs.payments.providers.stripe import StripeProvider


@pytest.fixture
def stripe_keys(app):
    """Stripe configured (keys only: nothing here talks to Stripe)."""
    settings = app.config["VHS"]
    saved = settings.stripe_secret_key, settings.stripe_webhook_secret
    settings.stripe_secret_key, settings.stripe_webhook_secret = "sk_test_x", "whsec_x"
    try:
        yield
    finally:
        settings.stripe_secret_key, settings.stripe_webhook_secret = saved


def test_every_provider_enum_value_has_a_registered_provider(app):
    with app.app_context():
        assert isinstance(base.provider_for(Provider.MANUAL), ManualProvider)
        assert isinstance(base.provider_for("stripe"), StripeProvider)
        assert {base.provider_for(key).key for key in Provider} == set(Provider)


@pytest.mark.parametrize("key", ["paypal", "", None])
def test_an_unknown_provider_fails_loudly(app, key):
    with app.app_context(), pytest.raises(LookupError, match="no payment provider"):
        base.provider_for(key)


def test_without_stripe_keys_only_manual_is_offered(app):
    with app.app_context():
        assert [p.key for p in base.offered_providers()] == [Provider.MANUAL]
        assert not base.is_offered(Provider.STRIPE)
        with pytest.raises(Invalid) as refused:
            base.offered_provider(Provider.STRIPE)
        assert refused.value.code == "provider_unavailable"
        assert set(refused.value.errors) == {"provider"}


def test_half_configured_stripe_is_not_offered(app):
    settings = app.config["VHS"]
    settings.stripe_secret_key = "sk_test_x"  # no webhook secret: payments would never confirm
    try:
        with app.app_context():
            assert not base.is_offered(Provider.STRIPE)
    finally:
        settings.stripe_secret_key = ""


def test_with_stripe_keys_stripe_is_offered_first(app, stripe_keys):
    with app.app_context():
        assert [p.key for p in base.offered_providers()] == [Provider.STRIPE, Provider.MANUAL]
        assert base.offered_provider("stripe").key is Provider.STRIPE


def test_an_empty_registry_offers_nothing_loudly(app, monkeypatch):
    monkeypatch.setattr(base, "_registry", {})
    with app.app_context(), pytest.raises(LookupError, match="no payment provider is offered"):
        base.offered_providers()


def test_a_second_provider_for_the_same_key_is_refused():
    class Impostor(ManualProvider):
        """Another manual provider."""

    with pytest.raises(RuntimeError, match="two payment providers"):
        base.register(Impostor)
    assert type(base.provider_for(Provider.MANUAL)) is ManualProvider
