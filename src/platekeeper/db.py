"""Engine and session factory for SQLite (WAL, the embedded default) and PostgreSQL, plus Alembic upgrades.

SQLite transactions start with ``BEGIN IMMEDIATE`` so that concurrent writers queue instead of failing halfway;
the audit chain relies on that (PostgreSQL uses an advisory lock instead, see ``audit.service``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import (
    BindParameter,
    Connection,
    DateTime,
    Engine,
    MetaData,
    bindparam,
    create_engine,
    event,
    inspect,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from platekeeper.files import create_private_file

__all__ = [
    "MAX_ROW_ID",
    "Base",
    "Database",
    "UTCDateTime",
    "utcnow",
]

MAX_ROW_ID = 2**31 - 1
"""The largest id an INTEGER id column holds: a larger number is no row's (PostgreSQL refuses to compare one,
SQLite cannot even bind it), so every door refuses it as bad input."""

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
MIGRATIONS = Path(__file__).parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 30_000
READ_ONLY = "platekeeper_read_only"  # execution option: a snapshot that only reads (SQLite: deferred BEGIN)


T = TypeVar("T")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def utcnow() -> datetime:
    """Now, in UTC, timezone-aware."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always returned timezone-aware; naive values are refused."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # let SQLAlchemy's begin event issue BEGIN IMMEDIATE
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_begin(conn: Any) -> None:
    conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get(READ_ONLY) else "BEGIN IMMEDIATE")


DEFAULT_BATCH_SIZE = 500
BATCH_SIZE = "platekeeper_batch_size"  # the key in a session's (or read connection's) info


def in_batches(handle: Session | Connection, items: Sequence[T]) -> Iterator[Sequence[T]]:
    """``items`` in consecutive slices of the database's query batch size (``query_batch_size``): one query each,
    so that an IN list never outgrows what the database binds in one statement."""
    size = handle.info.get(BATCH_SIZE, DEFAULT_BATCH_SIZE)
    for start in range(0, len(items), size):
        yield items[start : start + size]


def in_list(name: str = "values") -> BindParameter[Any]:
    """An IN list bound at execution (``column.in_(in_list())``, then ``execute(stmt, {"values": batch})``): the
    statement compiles once and is cached, where a literal list is coerced value by value and compiled again for
    every batch (a tenth of a large purge's time went to that)."""
    return bindparam(name, expanding=True)


def json_value(value: Any) -> Any:
    """A stored value as JSON: dates and times in ISO 8601, the rest as it is."""
    return value.isoformat() if isinstance(value, date | datetime) else value


def json_fields(record: object, *names: str, **computed: Any) -> dict[str, Any]:
    """The named attributes of a record (a row, a summary) as a JSON object, then the computed ones: what every
    ``*_json`` answer of the API is made of, so dates are written one way everywhere."""
    return {name: json_value(getattr(record, name)) for name in names} | {
        name: json_value(value) for name, value in computed.items()
    }


class Database:
    """One database: its engine, sessions and migrations."""

    def __init__(self, url: str, *, echo: bool = False, batch_size: int = DEFAULT_BATCH_SIZE) -> None:
        self.url = url
        self.batch_size = batch_size  # Settings.query_batch_size: values one query names in an IN list
        if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
            # 0600 before SQLite opens it: its -wal and -shm journals take the database file's mode.
            create_private_file(Path(url.removeprefix("sqlite:///")))
        self.engine: Engine = create_engine(url, echo=echo, pool_pre_ping=True)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
            event.listen(self.engine, "begin", _sqlite_begin)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False, info={BATCH_SIZE: batch_size})

    @property
    def dialect(self) -> str:
        """'sqlite' or 'postgresql'."""
        return self.engine.dialect.name

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in one transaction: committed on success, rolled back on any error."""
        with self._sessions() as session, session.begin():
            yield session

    @contextmanager
    def read_connection(self) -> Iterator[Connection]:
        """A connection in one read-only snapshot, rolled back at the end.

        On SQLite it begins with a deferred ``BEGIN``: it takes no write lock, so ingest goes on while a long scan
        (a historical-hit search, the live alert poll) reads. Nothing written through it is kept.
        """
        with self.engine.connect() as conn:
            conn.execution_options(**{READ_ONLY: True})
            conn.info[BATCH_SIZE] = self.batch_size
            with conn.begin() as transaction:
                try:
                    yield conn
                finally:
                    transaction.rollback()

    def upgrade(self, revision: str = "heads") -> None:
        """Apply Alembic migrations up to ``revision`` (every head by default)."""
        command.upgrade(self._alembic_config(), revision)

    def downgrade(self, revision: str) -> None:
        """Revert Alembic migrations down to ``revision``."""
        command.downgrade(self._alembic_config(), revision)

    def is_migrated(self) -> bool:
        """Whether the schema exists (the Alembic version table is present)."""
        return inspect(self.engine).has_table("alembic_version")

    def current_revision(self) -> str | None:
        """The Alembic revision(s) the database is at, comma-separated; None before the first migration."""
        with self.engine.connect() as conn:
            if not inspect(conn).has_table("alembic_version"):
                return None
            rows = conn.exec_driver_sql("SELECT version_num FROM alembic_version ORDER BY version_num").scalars()
            return ",".join(rows) or None

    @staticmethod
    def session_revision(session: Session) -> str | None:
        """The Alembic revision, read inside an open session (a second connection would wait on SQLite's lock)."""
        rows = session.execute(text("SELECT version_num FROM alembic_version ORDER BY version_num")).scalars()
        return ",".join(rows) or None

    def _alembic_config(self) -> AlembicConfig:
        config = AlembicConfig()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.attributes["engine"] = self.engine
        return config

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()
