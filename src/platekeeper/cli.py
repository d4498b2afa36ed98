"""The ``platekeeper`` command: database, server, users, cameras, audit, demo data."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Annotated

import typer
from rich.console import Console

from platekeeper.access.service import (
    UserError,
    create_user,
    ensure_initial_admin,
    generate_password,
    list_users,
)
from platekeeper.audit.service import Actor, load_or_create_key, verify_and_record
from platekeeper.cameras.service import (
    CameraError,
    create_camera,
    deactivate_camera,
    list_cameras,
    rotate_camera_key,
)
from platekeeper.config import ConfigError, Settings, load_settings
from platekeeper.db import Database

__all__ = ["app"]

app = typer.Typer(
    help="platekeeper: an ALPR platform that enforces the agency's privacy and usage policy.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
users_app = typer.Typer(help="User accounts.", no_args_is_help=True)
cameras_app = typer.Typer(help="Cameras and their API keys.", no_args_is_help=True)
audit_app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
app.add_typer(cameras_app, name="cameras")
app.add_typer(audit_app, name="audit")

out = Console()
err = Console(stderr=True)
EXIT_USAGE = 2


@dataclass
class Runtime:
    settings: Settings
    database: Database

    @property
    def audit_key(self) -> bytes:
        return load_or_create_key(self.settings.data_dir / self.settings.audit.key_file)


def fail(message: str, code: int = EXIT_USAGE) -> typer.Exit:
    """Print an error and return the exit to raise."""
    err.print(f"[bold red]error:[/] {message}", highlight=False)
    return typer.Exit(code)


def runtime(*, migrated: bool = True) -> Runtime:
    """Settings and database, or a clear error: a bad config or a database that is not migrated yet."""
    try:
        settings = load_settings()
    except ConfigError as exc:
        raise fail(str(exc)) from None
    database = Database(settings.resolved_database_url)
    if migrated and not database.is_migrated():
        raise fail(
            f"the database at {settings.resolved_database_url} has no schema yet; run `platekeeper db upgrade` first"
        )
    return Runtime(settings, database)


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument(help="Target revision")] = "heads") -> None:
    """Create or migrate the database schema (Alembic)."""
    rt = runtime(migrated=False)
    rt.database.upgrade(revision)
    out.print(f"database at revision {rt.database.current_revision()} ({rt.database.dialect})")


def _announce_admin(rt: Runtime) -> None:
    with rt.database.session() as session:
        created = ensure_initial_admin(session, rt.settings, rt.audit_key)
    if created:
        path = rt.settings.data_dir / "initial-admin.txt"
        path.write_text(f"username: {created[0]}\npassword: {created[1]}\n")
        path.chmod(0o600)
        out.print(
            f"[bold]First start:[/] created the administrator [bold]{created[0]}[/] with password "
            f"[bold]{created[1]}[/] (also saved in {path}, readable by you only).",
            highlight=False,
        )


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Listen address (default from config)")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default from config)")] = None,
) -> None:
    """Start the web server. At first start, create the administrator and print how to sign in."""
    import uvicorn

    from platekeeper.web.app import create_app

    rt = runtime()
    _announce_admin(rt)
    host, port = host or rt.settings.web.host, port or rt.settings.web.port
    out.print(f"platekeeper serving on [bold]http://{host}:{port}[/]  (database: {rt.database.dialect})")
    for name in ("initial-admin.txt", "demo-credentials.txt"):
        if (rt.settings.data_dir / name).exists():
            out.print(f"sign in with the credentials in {rt.settings.data_dir / name}")
    uvicorn.run(create_app(rt.settings, rt.database), host=host, port=port, log_level="info")


@users_app.command("add")
def users_add(
    username: str,
    role: Annotated[str, typer.Option(help="Role from the config (e.g. sworn_officer, auditor)")],
    name: Annotated[str, typer.Option(help="Full name")] = "",
    password_stdin: Annotated[bool, typer.Option(help="Read the password from standard input")] = False,
) -> None:
    """Create a user account; without --password-stdin a random password is generated and printed once."""
    rt = runtime()
    password = sys.stdin.readline().rstrip("\n") if password_stdin else generate_password()
    try:
        with rt.database.session() as session:
            create_user(
                session,
                rt.settings,
                rt.audit_key,
                Actor.system("cli"),
                username=username,
                display_name=name or username,
                role=role,
                password=password,
            )
    except UserError as exc:
        raise fail(str(exc)) from None
    out.print(f"created {username.lower()} ({role})")
    if not password_stdin:
        out.print(f"password: {password}", highlight=False)


@users_app.command("list")
def users_list() -> None:
    """List user accounts."""
    rt = runtime()
    with rt.database.session() as session:
        for user in list_users(session):
            state = "active" if user.active else "inactive"
            out.print(f"{user.username:20} {user.role:24} {state:9} {user.display_name}", highlight=False)


@cameras_app.command("add")
def cameras_add(
    name: str,
    kind: Annotated[str, typer.Option(help="fixed, or mobile for a vehicle unit")] = "fixed",
    location: Annotated[str, typer.Option(help="Where it is, or which vehicle")] = "",
) -> None:
    """Register a camera and print its API key (shown only this once)."""
    rt = runtime()
    try:
        with rt.database.session() as session:
            camera, key = create_camera(
                session, rt.audit_key, Actor.system("cli"), name=name, kind=kind, location=location
            )
    except CameraError as exc:
        raise fail(str(exc)) from None
    out.print(f"camera {camera.id} {camera.name} ({camera.kind})\napi key: {key}", highlight=False)


@cameras_app.command("rotate-key")
def cameras_rotate_key(camera_id: int) -> None:
    """Give a camera a new API key (the old one stops working at once) and print it."""
    rt = runtime()
    try:
        with rt.database.session() as session:
            key = rotate_camera_key(session, rt.audit_key, Actor.system("cli"), camera_id)
    except CameraError as exc:
        raise fail(str(exc)) from None
    out.print(f"camera {camera_id}\napi key: {key}", highlight=False)


@cameras_app.command("deactivate")
def cameras_deactivate(camera_id: int) -> None:
    """Stop accepting uploads from a camera (its reads stay searchable)."""
    rt = runtime()
    try:
        with rt.database.session() as session:
            camera = deactivate_camera(session, rt.audit_key, Actor.system("cli"), camera_id)
    except CameraError as exc:
        raise fail(str(exc)) from None
    out.print(f"camera {camera.id} {camera.name} deactivated", highlight=False)


@cameras_app.command("list")
def cameras_list() -> None:
    """List cameras."""
    rt = runtime()
    with rt.database.session() as session:
        for camera in list_cameras(session):
            seen = camera.last_seen_at.isoformat() if camera.last_seen_at else "never"
            out.print(
                f"{camera.id:4} {camera.name:30} {camera.kind:7} {'active' if camera.active else 'inactive':9}"
                f" last upload {seen}",
                highlight=False,
            )


@audit_app.command("verify")
def audit_verify() -> None:
    """Check the audit chain: exit 0 when intact, 1 naming the first bad event otherwise."""
    rt = runtime()
    with rt.database.session() as session:
        result = verify_and_record(session, rt.audit_key, Actor.system("cli"))
    if not result.intact:
        err.print(
            f"[bold red]audit chain BROKEN[/] at event {result.first_bad_seq}: {result.reason} "
            f"({result.checked} events before it are intact)",
            highlight=False,
        )
        raise typer.Exit(1)
    out.print(f"audit chain intact: {result.checked} events verified")


@app.command()
def demo(
    reads: Annotated[int, typer.Option(min=0, max=200_000, help="Synthetic reads to create")] = 3000,
    if_empty: Annotated[bool, typer.Option(help="Do nothing when the database already holds reads or users")] = False,
) -> None:
    """Seed a demo agency: cameras, users of each role and synthetic reads with rendered plate images."""
    from platekeeper.demo.seed import seed_demo

    rt = runtime()
    seed_demo(rt.settings, rt.database, rt.audit_key, reads=reads, if_empty=if_empty, console=out)


def main() -> None:
    """Entry point that keeps Typer's exit codes."""
    app()
