"""What every ``platekeeper`` command shares: the consoles, the usage-error exit, and the runtime (settings,
database, keys) with clear errors for a bad config or an unmigrated database.

The command groups (``cli.py``, ``access/cli.py``, ``hotlists/cli.py``, ``storage/cli.py``) import it; it imports no
command group, so there is no cycle among them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import typer
from rich.console import Console

from platekeeper.access.principal import PermissionDenied, Principal
from platekeeper.access.service import console_principal, record_permission_refusal
from platekeeper.audit.service import Actor, load_or_create_key
from platekeeper.audit.signing import InstallationKey, SigningKeyError
from platekeeper.audit.work import Work
from platekeeper.config import ConfigError, Settings, load_settings
from platekeeper.db import MAX_ROW_ID, Database
from platekeeper.files import start_up_warning
from platekeeper.storage.keys import env_key

__all__ = [
    "EXIT_USAGE",
    "NoSuchAccount",
    "Runtime",
    "as_principal",
    "err",
    "fail",
    "out",
    "row_id",
    "run_step",
    "runtime",
]

T = TypeVar("T")

out = Console()
err = Console(stderr=True)
EXIT_USAGE = 2


def row_id(help: str) -> typer.models.ArgumentInfo:
    """A command's row id argument: 1 to MAX_ROW_ID, else exit 2 naming the argument (never a traceback)."""
    return typer.Argument(min=1, max=MAX_ROW_ID, help=help)


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


def run_step(step: Callable[[Work], T], refusals: tuple[type[Exception], ...], rt: Runtime | None = None) -> T:
    """Run one step of a command in its own transaction. A refusal (one of ``refusals``, such as an unknown id, a
    permission or training refusal, an unknown ``--as``) is caught inside the transaction, so the audit record the
    service wrote for it (and, for a permission the role lacks, ``auth.permission_refused``) commits, then exits 2
    with its message. ``rt`` is the command's runtime when it has one."""
    caught: tuple[type[Exception], ...] = (*refusals, PermissionDenied, NoSuchAccount)
    with (rt or runtime()).work() as work:
        try:
            return step(work)
        except caught as exc:
            problem = exc
            if isinstance(exc, PermissionDenied):
                record_permission_refusal(work, exc, "command line")
    raise fail(str(problem))


def output_file(path: Path, option: str) -> Path:
    """A file a command was asked to write, checked before it does any work (or writes any audit record): exit 2
    naming ``option`` when it is a folder, or its folder is missing or not writable."""
    if path.is_dir():
        raise fail(f"{option}: {path} is a folder; name a file in it")
    folder = path.parent
    if not folder.is_dir():
        raise fail(f"{option}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise fail(f"{option}: cannot write in the folder {folder}")
    return path


def fail(message: str, code: int = EXIT_USAGE) -> typer.Exit:
    """Print an error and return the exit to raise."""
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)  # a path or an id never breaks
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
