"""``platekeeper users ...``: add, list, approve, deactivate, reactivate, unlock, reset-mfa, reset-password, role,
suspend-inactive, and ``users training add|list``: one Typer group, which ``platekeeper.cli`` attaches as ``users``.

The operator at the console has the database in hand, so these commands act as the system; an approval still names
the approving account (``--approver``), which must hold ``users.approve`` and not be the requester.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from typing import Annotated, Any

import typer
from sqlalchemy.orm import Session

from platekeeper.access import lifecycle
from platekeeper.access.models import User
from platekeeper.access.principal import Principal
from platekeeper.access.service import (
    NewAccount,
    UserError,
    create_user,
    generate_password,
    list_users,
    principal_for,
    user_by_name,
)
from platekeeper.access.training import TrainingError, add_training_record, training_status
from platekeeper.audit.work import Work
from platekeeper.cli_support import fail, out, runtime

__all__ = ["users_app"]

users_app = typer.Typer(help="User accounts.", no_args_is_help=True)
training_app = typer.Typer(help="Training records (policy 462.10).", no_args_is_help=True)
users_app.add_typer(training_app, name="training")
RULES = (lifecycle.AccountError, UserError, TrainingError)


@contextmanager
def _transaction() -> Iterator[Work]:
    """One transaction, as the system at the console; a rule error exits 2 with its message (the transaction keeps
    its audit)."""
    rt = runtime()
    try:
        with rt.work() as work:
            try:
                yield work
            except RULES as exc:
                work.session.commit()  # keep audit events of refusals (e.g. users.approve_refused)
                raise fail(str(exc)) from None
    finally:
        rt.database.dispose()


def _user_id(session: Session, username: str) -> int:
    user = user_by_name(session, username)
    if user is None:
        raise fail(f"username: no account named {username!r}")
    return user.id


def _say(message: str) -> None:
    out.print(message, highlight=False)


def _run(username: str, action: Callable[[Work, int], Any], done: str) -> None:
    with _transaction() as work:
        action(work, _user_id(work.session, username))
    _say(done)


def _approver(work: Work, approver: str) -> User:
    """The active account named as approving (it must hold ``users.approve``, which the service checks)."""
    boss = user_by_name(work.session, approver)
    if boss is None or boss.status != "active":
        raise lifecycle.AccountError(f"approver: no active account named {approver!r}")
    return boss


def _as_approver(username: str, approver: str, action: Callable[[Work, Principal, int], User]) -> None:
    """Run an approver's action (approve, reactivate) on the account, done by and checked against the approver."""
    with _transaction() as work:
        boss = _approver(work, approver)
        principal = principal_for(boss, work.settings)
        action(work.by(boss), principal, _user_id(work.session, username))


@users_app.command("add")
def users_add(
    username: str,
    role: Annotated[str, typer.Option(help="Role from the config (e.g. sworn_officer, auditor)")],
    name: Annotated[str, typer.Option(help="Full name")] = "",
    password_stdin: Annotated[bool, typer.Option(help="Read the password from standard input")] = False,
) -> None:
    """Request a user account (it signs in once approved: `users approve`); without --password-stdin a random
    password is generated and printed once."""
    rt = runtime()
    password = sys.stdin.readline().rstrip("\n") if password_stdin else generate_password()
    with rt.work_or_exit(UserError) as work:
        create_user(work, NewAccount(username, name or username, role, password))
    out.print(
        f"created {username.lower()} ({role}), waiting for approval: "
        f"platekeeper users approve {username.lower()} --approver SUPERVISOR"
    )
    if not password_stdin:
        out.print(f"password: {password}", highlight=False)


@users_app.command("list")
def users_list() -> None:
    """List user accounts."""
    rt = runtime()
    with rt.database.session() as session:
        for user in list_users(session):
            state = user.status + (" (locked)" if user.locked_until else "")
            out.print(f"{user.username:20} {user.role:24} {state:11} {user.display_name}", highlight=False)


@users_app.command("approve")
def users_approve(
    username: str,
    approver: Annotated[str, typer.Option(help="The supervisor or administrator approving (not the requester)")],
) -> None:
    """Approve a requested account so that it can sign in."""
    _as_approver(username, approver, lifecycle.approve_account)
    _say(f"{username.lower()} approved by {approver.lower()}: active")


@users_app.command("deactivate")
def users_deactivate(username: str, reason: Annotated[str, typer.Option(help="Why (separation, misuse...)")]) -> None:
    """Deactivate an account at once: its sessions end and its API tokens are revoked."""
    _run(
        username,
        lambda work, uid: lifecycle.deactivate_account(work, uid, reason),
        f"{username.lower()} deactivated; open sessions ended",
    )


@users_app.command("reactivate")
def users_reactivate(
    username: str, approver: Annotated[str, typer.Option(help="The supervisor or administrator reactivating")]
) -> None:
    """Return a suspended or deactivated account to service."""
    _as_approver(username, approver, lifecycle.reactivate_account)
    _say(f"{username.lower()} reactivated")


@users_app.command("unlock")
def users_unlock(username: str) -> None:
    """Lift a lockout after too many failed sign-ins."""
    _run(username, lifecycle.unlock_account, "unlocked")


@users_app.command("reset-mfa")
def users_reset_mfa(username: str) -> None:
    """Forget an account's authenticator app (lost phone); it enrols again at the next sign-in."""
    _run(
        username,
        lifecycle.reset_mfa,
        f"{username.lower()}: MFA reset; enrols again at the next sign-in",
    )


@users_app.command("reset-password")
def users_reset_password(username: str) -> None:
    """Give an account that forgot its password a new random one (printed once); its sessions end."""
    box: dict[str, str] = {}

    def reset(work: Work, uid: int) -> None:
        box["password"] = lifecycle.reset_password(work, uid)

    _run(username, reset, f"{username.lower()}: new password set; its sessions ended")
    _say(f"password: {box['password']}")


@users_app.command("role")
def users_role(username: str, role: Annotated[str, typer.Option(help="The new role")]) -> None:
    """Change an account's role; a role with more rights sends it back for approval."""
    _run(
        username,
        lambda work, uid: lifecycle.change_role(work, uid, role),
        f"{username.lower()} now has the role {role}",
    )


@users_app.command("suspend-inactive")
def users_suspend_inactive() -> None:
    """Suspend accounts without activity for access.accounts.inactive_suspend_days (run daily, e.g. from cron)."""
    with _transaction() as work:
        names = lifecycle.suspend_inactive_accounts(work)
    _say(f"{len(names)} account(s) suspended" + (f": {', '.join(names)}" if names else ""))


@training_app.command("add")
def training_add(
    username: str,
    course: Annotated[str, typer.Option(help="Course code from the config (e.g. policy_review)")],
    completed_on: Annotated[str, typer.Option(help="Completion date, YYYY-MM-DD")],
    instructor: Annotated[str, typer.Option(help="Who gave the training")],
    evidence: Annotated[str, typer.Option(help="Sign-in sheet, certificate number, test score...")],
) -> None:
    """Record a completed course for an account."""
    try:
        when = date.fromisoformat(completed_on)
    except ValueError:
        raise fail("completed_on: not a date (use YYYY-MM-DD)") from None
    with _transaction() as work:
        add_training_record(
            work, _user_id(work.session, username),
            course=course, completed_on=when, instructor=instructor, evidence=evidence,
        )  # fmt: skip
    _say(f"{username.lower()}: {course} completed on {when} recorded")


@training_app.command("list")
def training_list(username: str) -> None:
    """Show an account's courses: completed, refresher due, and whether they are current."""
    with _transaction() as work:
        user = user_by_name(work.session, username)
        if user is None:
            raise lifecycle.AccountError(f"username: no account named {username!r}")
        for c in training_status(work.session, work.settings, user):
            required = "required" if c.required else "optional"
            demo = "  DEMO record: no real training took place" if c.demo else ""
            _say(
                f"{c.code:24} {required:9} {c.state:9} completed {c.completed_on or '-'}  due {c.expires_on or '-'}"
                + demo
            )
