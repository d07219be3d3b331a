"""Operator commands: ``flask users ...``, ``flask demo seed``, ``flask jobs run-due``."""

from __future__ import annotations

import json
import random
from typing import Any

import click
import sqlalchemy as sa
from flask import Flask
from flask.cli import AppGroup

from vhs.accounts.models import Role, User
from vhs.accounts.services import create_api_token, create_user_by_operator, find_user_by_email
from vhs.db import db, utcnow
from vhs.demo import DEMO_LOGINS, seeders
from vhs.errors import VhsError
from vhs.jobs import registered_jobs, run_due
from vhs.uow import unit_of_work

users_cli = AppGroup("users", help="Manage accounts.")
demo_cli = AppGroup("demo", help="Demo data.")
jobs_cli = AppGroup("jobs", help="Background jobs.")


@users_cli.command("create")
@click.argument("email")
@click.option("--name", required=True, help="Full name.")
@click.option(
    "--role",
    type=click.Choice(["resident", "instructor", "staff", "admin"]),
    default="resident",
    show_default=True,
)
@click.option("--password", default=None, help="Initial password (random if omitted).")
def create_user(email: str, name: str, role: str, password: str | None) -> None:
    """Create a verified account."""
    try:
        with unit_of_work():
            user, generated = create_user_by_operator(email, name, Role(role), password)
    except VhsError as exc:
        detail = "; ".join(
            f"{field}: {' '.join(map(str, msgs if isinstance(msgs, list | tuple) else [msgs]))}"
            for field, msgs in exc.errors.items()
        )
        raise click.ClickException(detail or str(exc.detail)) from exc
    click.echo(f"Created {user.email} ({user.role.value}), id {user.id}.")
    if generated:
        click.echo(f"Password: {generated}")


@users_cli.command("token")
@click.argument("email")
@click.option("--name", default="cli", show_default=True, help="Name of the token.")
def create_token(email: str, name: str) -> None:
    """Create a personal API token; the token is the last line printed."""
    with unit_of_work():
        user = find_user_by_email(email)
        if user is None:
            raise click.ClickException(f"No account with address {email}.")
        if not user.email_verified:
            user.email_verified_at = utcnow()  # operator vouches for the account
        _token, plaintext = create_api_token(user, name)
    click.echo(f"Token for {user.email} ({user.role.value}):")
    click.echo(plaintext)


@demo_cli.command("seed")
@click.option("--scale", type=int, default=1, show_default=True, help="Multiply the data set.")
@click.option("--seed", type=int, default=2027, show_default=True, help="Random seed.")
@click.option("--if-empty", is_flag=True, help="Do nothing when accounts exist already.")
def seed(scale: int, seed: int, if_empty: bool) -> None:
    """Create a realistic German VHS term with demo logins."""
    if if_empty and db.session.scalar(sa.select(sa.func.count(User.id))):
        click.echo("Demo data already present.")
        _print_logins()
        return
    rng = random.Random(seed)
    context: dict[str, Any] = {}
    for func in seeders():
        # One unit per step: a large seed is not held in one transaction, and a failed step
        # leaves the steps before it in place.
        with unit_of_work():
            func(scale=scale, rng=rng, context=context)
    click.echo(f"Seeded demo data (scale {scale}).")
    _print_logins()


def _print_logins() -> None:
    click.echo("Demo logins (password for all: {}):".format(DEMO_LOGINS["password"]))
    for role, email in DEMO_LOGINS["accounts"].items():
        click.echo(f"  {role:<11} {email}")


@jobs_cli.command("run-due")
@click.option("--force", is_flag=True, help="Run every job now, due or not.")
def run_due_cmd(force: bool) -> None:
    """Run every job that is due once (call from cron every minute)."""
    results = run_due(force=force)
    click.echo(json.dumps({k: repr(v) for k, v in results.items()}, ensure_ascii=False))


@jobs_cli.command("list")
def list_jobs() -> None:
    """List the registered jobs."""
    for name, j in sorted(registered_jobs().items()):
        click.echo(f"{name}: every {int(j.every.total_seconds())} s")


def register_cli(app: Flask) -> None:
    """Attach the command groups to the app."""
    app.cli.add_command(users_cli)
    app.cli.add_command(demo_cli)
    app.cli.add_command(jobs_cli)
