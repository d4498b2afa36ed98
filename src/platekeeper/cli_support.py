"""What every ``platekeeper`` command shares: the consoles, the usage-error exit, and the runtime (settings,
database, keys) with clear errors for a bad config or an unmigrated database.

The command groups (``cli.py``, ``access/cli.py``, ``hotlists/cli.py``, ``storage/cli.py``) import it; it imports no
command group, so there is no cycle among them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar

import typer
from rich.console import Console

from platekeeper.access.principal import PermissionDenied, Principal
from platekeeper.access.service import console_principal
from platekeeper.audit.service import Actor, load_or_create_key
from platekeeper.audit.signing import InstallationKey, SigningKeyError
from platekeeper.audit.work import Work
from platekeeper.config import ConfigError, Settings, load_settings
from platekeeper.db import Database
from platekeeper.files import start_up_warning
from platekeeper.storage.keys import env_key

__all__ = ["EXIT_USAGE", "NoSuchAccount", "Runtime", "as_principal", "err", "fail", "out", "run_step", "runtime"]

T = TypeVar("T")

out = Console()
err = Console(stderr=True)
EXIT_USAGE = 2


@dataclass
class Runtime:
    """What a command runs with: the settings, the database, the keys, and a :class:`Work` per transaction."""

    settings: Settings
    database: Database

    @property
    def audit_key(self) -> bytes:
        return load_or_create_key(self.settings.data_dir / self.settings.audit.key_file)

    @contextmanager
    def work(self, actor: Actor | None = None) -> Iterator[Work]:
        """One command's unit of audited work: a transaction (committed when the block ends, rolled back if it
        raises) done by ``actor``, by default the system at the console (audited as ``system:cli``)."""
        with self.database.session() as session:
            yield Work(session, self.settings, self.audit_key, actor or Actor.system("cli"))

    @contextmanager
    def work_or_exit(self, *refusals: type[Exception]) -> Iterator[Work]:
        """:meth:`work`, where a refusal (one of ``refusals``: a rule the service upholds) rolls the transaction back
        and exits 2 with its message."""
        try:
            with self.work() as work:
                yield work
        except refusals as exc:
            raise fail(str(exc)) from None

    @property
    def signing_key(self) -> InstallationKey:
        try:
            return InstallationKey.load_or_create(self.settings.data_path(self.settings.signing.key_file))
        except SigningKeyError as exc:
            raise fail(str(exc)) from None


class NoSuchAccount(Exception):
    """``--as`` names no active account."""


def as_principal(work: Work, username: str) -> Principal:
    """The account a command acts as (``--as``), held to its training like a page's user (a refusal is recorded
    in ``work``, then raised); :class:`NoSuchAccount` when no active account has that name."""
    principal = console_principal(work, username)
    if principal is None:
        raise NoSuchAccount(f"--as: no active account named {username!r}")
    return principal


def run_step(
    step: Callable[[Work], T],
    refusals: tuple[type[Exception], ...],
    not_found: tuple[type[Exception], ...] = (),
    rt: Runtime | None = None,
) -> T:
    """Run one step of a command in its own transaction. A refusal (one of ``refusals``, a permission or training
    refusal, an unknown ``--as``) is caught inside the transaction, so the audit record the service wrote for it
    commits, then exits 2; what ``not_found`` names exits 1. ``rt`` is the command's runtime when it has one."""
    caught: tuple[type[Exception], ...] = (*refusals, *not_found, PermissionDenied, NoSuchAccount)
    with (rt or runtime()).work() as work:
        try:
            return step(work)
        except caught as exc:
            problem = exc
    raise fail(str(problem), 1 if isinstance(problem, not_found) else EXIT_USAGE)


def fail(message: str, code: int = EXIT_USAGE) -> typer.Exit:
    """Print an error and return the exit to raise."""
    err.print(f"[bold red]error:[/] {message}", highlight=False)
    return typer.Exit(code)


def runtime(*, migrated: bool = True) -> Runtime:
    """Settings and database, or a clear error: a bad config or a database that is not migrated yet."""
    try:
        settings = load_settings()
        env_key()  # a bad PLATEKEEPER_STORAGE_KEY is a config error, before anything is read or sealed
    except ConfigError as exc:
        raise fail(str(exc)) from None
    warning = start_up_warning(settings)
    if warning:
        err.print(f"[bold yellow]warning:[/] {warning}", highlight=False)
    database = Database(settings.resolved_database_url, batch_size=settings.query_batch_size)
    if migrated and not database.is_migrated():
        raise fail(
            f"the database at {settings.resolved_database_url} has no schema yet; run `platekeeper db upgrade` first"
        )
    return Runtime(settings, database)
