"""Payments: Payment, Refund, WebhookEvent, providers (manual default, Stripe)."""
