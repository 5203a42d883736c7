"""CLI commands for people: accounts and roles, personal access tokens, the audit trail and
the separation-of-duties setting."""

from __future__ import annotations

import sys
from typing import Any

import click

from app.cli.group import Column, StudioContext, cli, emit, emit_list, studio_command, table
from core.auth import ROLES, duties, tokens, trail
from core.auth import accounts as accounts_core
from core.words import when

ROLE_CHOICE = click.Choice(list(ROLES), case_sensitive=False)
PASSWORD_STDIN_EMPTY = "No password came on standard input."


@cli.group()
def users() -> None:
    """Accounts: who may sign in, and with which role."""


def _password(from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\n")
        if not password:
            raise ValueError(PASSWORD_STDIN_EMPTY)
        return password
    return str(click.prompt("Password", hide_input=True, confirmation_prompt=True, err=True))


@users.command("add")
@click.argument("name")
@click.option("--role", required=True, type=ROLE_CHOICE, help="What they may do.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@studio_command
def users_add(
    ctx: StudioContext, *, as_json: bool, name: str, role: str, password_stdin: bool
) -> None:
    """Add an account (the first one must be an admin)."""
    account = accounts_core.add_user(ctx.home, name, role=role, password=_password(password_stdin))
    emit(account.to_dict(), as_json, lambda p: f"Added {p['name']} ({p['role']}).")


@users.command("list")
@studio_command
def users_list(ctx: StudioContext, *, as_json: bool) -> None:
    """List the accounts and their roles."""
    found = [account.to_dict() for account in accounts_core.list_users(ctx.home)]
    columns = (Column("NAME", 24, cut=True), Column("ROLE", 16), Column("ADDED"))
    emit_list(
        "users", found, as_json,
        empty="No accounts: the studio runs as you, the local admin. "
        "`mlops-studio users add NAME --role admin` starts a team.",
        lines=lambda items: table(
            columns, [(i["name"], i["role"], when(i["created_at"])) for i in items]
        ),
    )  # fmt: skip


@users.command("remove")
@click.argument("name")
@studio_command
def users_remove(ctx: StudioContext, *, as_json: bool, name: str) -> None:
    """Remove an account with its tokens and sessions (the audit trail keeps its name)."""
    accounts_core.remove_user(ctx.home, name)
    emit({"removed": name}, as_json, lambda p: f"Removed {p['removed']}.")


@users.command("role")
@click.argument("name")
@click.argument("role", type=ROLE_CHOICE)
@studio_command
def users_role(ctx: StudioContext, *, as_json: bool, name: str, role: str) -> None:
    """Change someone's role."""
    account = accounts_core.set_role(ctx.home, name, role)
    emit(account.to_dict(), as_json, lambda p: f"{p['name']} is now {p['role']}.")


@cli.group()
def token() -> None:
    """Personal access tokens for the CLI and automation ($MLOPS_STUDIO_TOKEN)."""


@token.command("create")
@click.option("--label", default="", help="What the token is for, to recognise it later.")
@click.option("--days", default=tokens.DEFAULT_DAYS, show_default=True, type=int)
@click.option("--user", "user", default=None, help="Whose token (admins only; default: yours).")
@studio_command
def token_create(
    ctx: StudioContext, *, as_json: bool, label: str, days: int, user: str | None
) -> None:
    """Create a token; it is shown this once (the studio keeps only its hash)."""
    new = tokens.create_token(ctx.home, label, days=days, user=user)
    emit(
        new.to_dict(), as_json,
        lambda p: f"{p['token']}\nToken {p['id']} for {p['user_name']}, valid until "
        f"{when(p['expires_at'])}. Copy it now: it is not shown again.\n"
        f"Use it with: export {tokens.TOKEN_ENV}=<token>",
    )  # fmt: skip


def _token_lines(items: list[dict[str, Any]]) -> list[str]:
    columns = (Column("ID", 5, ">"), Column("USER", 20, cut=True), Column("STATE", 9),
               Column("EXPIRES", 18), Column("LABEL"))  # fmt: skip
    rows = [
        (i["id"], i["user_name"], "revoked" if i["revoked_at"] else "active",
         when(i["expires_at"]) if i["expires_at"] else "never", i["label"])
        for i in items
    ]  # fmt: skip
    return table(columns, rows)


@token.command("list")
@studio_command
def token_list(ctx: StudioContext, *, as_json: bool) -> None:
    """List your tokens (an admin sees everyone's); never their secrets."""
    found = [t.to_dict() for t in tokens.list_tokens(ctx.home)]
    emit_list("tokens", found, as_json, empty="No tokens yet.", lines=_token_lines)


@token.command("revoke")
@click.argument("token_id", type=int)
@studio_command
def token_revoke(ctx: StudioContext, *, as_json: bool, token_id: int) -> None:
    """Revoke a token: it stops working at once."""
    found = tokens.revoke_token(ctx.home, token_id)
    emit(found.to_dict(), as_json, lambda p: f"Token {p['id']} revoked.")


@cli.group()
def audit() -> None:
    """The audit trail: who did what, with which role, hash-chained."""


@audit.command("verify")
@studio_command
def audit_verify(ctx: StudioContext, *, as_json: bool) -> None:
    """Check every event's hash and link; exits 1 and says where when a row was edited,
    inserted or deleted."""
    check = trail.verify_chain(ctx.home)
    emit(
        check.to_dict(), as_json,
        lambda p: f"The audit trail is intact ({p['checked']:,} events checked)."
        if p["intact"] else "The audit trail was tampered with:\n"
        + "\n".join(f"  {problem['what']}" for problem in p["problems"]),
    )  # fmt: skip
    if not check.intact:
        sys.exit(1)


@audit.command("list")
@click.option("--person", default=None, help="Only what this person did.")
@click.option("--action", default=None, help="Only this action, e.g. model.review.approve.")
@click.option("--entity", default=None, help="Only about this kind of thing, e.g. deployment.")
@click.option("--since", default=None, help="From this time (ISO-8601, e.g. 2026-12-01).")
@click.option("--until", default=None, help="Before this time (ISO-8601).")
@click.option("--limit", default=100, show_default=True, type=int)
@studio_command
def audit_list(
    ctx: StudioContext, *, as_json: bool, person: str | None, action: str | None,
    entity: str | None, since: str | None, until: str | None, limit: int,
) -> None:  # fmt: skip
    """The newest events, filtered (admins and reviewers)."""
    found = trail.audit_events(
        ctx.home, actor=person, action=action, entity_type=entity, since=since, until=until,
        limit=limit,
    )  # fmt: skip
    columns = (Column("WHEN", 18), Column("WHO", 20, cut=True), Column("ROLE", 15),
               Column("ACTION", 30), Column("ABOUT"))  # fmt: skip
    emit_list(
        "events", [event.to_dict() for event in found], as_json, empty="No events match.",
        lines=lambda items: table(columns, [
            (when(i["at"]), i["actor"], i["role"], i["action"],
             f"{i['entity_type']} {i['entity_id'] or ''}".strip()) for i in items
        ]),
    )  # fmt: skip


@cli.group(name="settings")
def studio_settings() -> None:
    """Studio-wide settings (admins)."""


@studio_settings.command("separation-of-duties")
@click.argument("state", type=click.Choice(["on", "off", "show"]))
@click.option("--reason", default="", help="Why (recorded in the audit trail).")
@studio_command
def separation(ctx: StudioContext, *, as_json: bool, state: str, reason: str) -> None:
    """Whether the maker of a version may approve it, and an approver deploy their override."""
    if state != "show":
        duties.set_separation_of_duties(ctx.home, state == "on", reason=reason)
    on = duties.separation_of_duties(ctx.home)
    emit(
        {"separation_of_duties": on}, as_json,
        lambda p: "Separation of duties is " + ("on." if on else "off."),
    )  # fmt: skip
