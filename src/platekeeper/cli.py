"""The ``platekeeper`` command: database, server, users, cameras, audit, backups, demo data."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn

from platekeeper.access import cli as access_cli
from platekeeper.access.service import (
    ensure_initial_admin,
)
from platekeeper.audit import cli as audit_cli
from platekeeper.audit.checkpoints import anchor_check, sinks_for, write_checkpoint
from platekeeper.audit.oversight import verify_and_record
from platekeeper.audit.service import Actor
from platekeeper.audits.cli import audits_app
from platekeeper.cameras.service import (
    CameraError,
    camera_state,
    create_camera,
    deactivate_camera,
    list_cameras,
    rotate_camera_key,
)
from platekeeper.cli_support import Runtime, err, fail, out, row_id, runtime
from platekeeper.db import utcnow
from platekeeper.files import key_files, restrict_umask, write_private_text
from platekeeper.guards.verification import verify_and_notify
from platekeeper.hotlists.cli import hotlists_app
from platekeeper.reads.cli import images_app
from platekeeper.recognition.cli import read_command
from platekeeper.retention.cli import evidence_app, holds_app, purge_app
from platekeeper.services import build_services
from platekeeper.sharing.cli import sharing_app
from platekeeper.storage.cli import keys_app
from platekeeper.transparency.cli import policy_app
from platekeeper.transparency.service import current_policy
from platekeeper.web.transport import TlsError, server_config

__all__ = ["app"]

app = typer.Typer(
    help="platekeeper: an ALPR platform that enforces the agency's privacy and usage policy.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
cameras_app = typer.Typer(help="Cameras and their API keys.", no_args_is_help=True)
audit_app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)
worker_app = typer.Typer(help="The server-side recognition queue.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(access_cli.users_app, name="users")
app.add_typer(cameras_app, name="cameras")
app.add_typer(audit_app, name="audit")
audit_app.command("export")(audit_cli.audit_export)
audit_app.command("check-export")(audit_cli.audit_check_export)
app.add_typer(hotlists_app, name="hotlists")
app.add_typer(worker_app, name="worker")
app.add_typer(keys_app, name="keys")
app.add_typer(purge_app, name="purge")
app.add_typer(holds_app, name="holds")
app.add_typer(evidence_app, name="evidence")
app.add_typer(images_app, name="images")
app.add_typer(sharing_app, name="sharing")
app.add_typer(audits_app, name="audits")
app.add_typer(policy_app, name="policy")


@app.callback()
def _private_files() -> None:
    restrict_umask()  # whatever the shell's umask, the database, images and keys are 0600 (folders 0700)


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument(help="Target revision")] = "heads") -> None:
    """Create or migrate the database schema (Alembic)."""
    rt = runtime(migrated=False)
    rt.database.upgrade(revision)
    out.print(f"database at revision {rt.database.current_revision()} ({rt.database.dialect})")


def _announce_admin(rt: Runtime) -> None:
    with rt.work() as work:
        created = ensure_initial_admin(work)
    if created:
        path = rt.settings.data_dir / "initial-admin.txt"
        write_private_text(path, f"username: {created[0]}\npassword: {created[1]}\n")
        out.print(
            f"[bold]First start:[/] created the administrator [bold]{created[0]}[/] with password "
            f"[bold]{created[1]}[/] (also saved in {path}, readable by you only). At the first sign-in it sets up "
            "an authenticator app (TOTP) from a QR code; record its training with `platekeeper users training add` "
            "before it can reach plate data.",
            highlight=False,
        )


def _suspend_inactive(rt: Runtime) -> None:
    """At start-up, suspend accounts past the inactivity limit (sign-in and token use also check it), and record
    permission changes made in the config since the last start, and the posted policy's new version if the config
    changed what it states."""
    from platekeeper.access.lifecycle import suspend_inactive_accounts
    from platekeeper.access.policy_audit import record_policy_changes

    with rt.work() as work:
        names = suspend_inactive_accounts(work)
        record_policy_changes(work)
        current_policy(work)  # a config change that alters the posted policy takes effect as a new version now
    if names:
        out.print(
            f"suspended after {rt.settings.access.accounts.inactive_suspend_days} days without activity: "
            + ", ".join(names),
            highlight=False,
        )


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Listen address (default from config)")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default from config)", min=1, max=65535)] = None,
    certfile: Annotated[
        Path | None,
        typer.Option(help="PEM certificate (chain): serve HTTPS, TLS 1.2 or later (default: web.tls_certfile)"),
    ] = None,
    keyfile: Annotated[
        Path | None, typer.Option(help="PEM private key of the certificate (default: web.tls_keyfile)")
    ] = None,
) -> None:
    """Start the web server. At first start, create the administrator and print how to sign in."""
    import uvicorn

    from platekeeper.web.app import create_app

    rt = runtime()
    host, port = host or rt.settings.web.host, port or rt.settings.web.port
    certfile, keyfile = certfile or rt.settings.web.tls_certfile, keyfile or rt.settings.web.tls_keyfile
    services = build_services(rt.settings, rt.database)
    web_app = create_app(rt.settings, services=services)
    try:
        config = server_config(web_app, host=host, port=port, certfile=certfile, keyfile=keyfile)
    except TlsError as exc:
        raise fail(str(exc)) from None
    _announce_admin(rt)
    _suspend_inactive(rt)
    services.alerting.start_watch()  # hotlist refresh from hotlists.watch_dir, when set
    if rt.settings.recognition_queue.in_process_worker:
        services.recognition_worker().start_thread()
    checkpoints = services.checkpoint_schedule()
    checkpoints.start()  # every audit.checkpoint_minutes, and once more at shutdown
    web_app.state.platekeeper.on_shutdown.append(checkpoints.stop)
    if rt.settings.retention.purge_in_server:
        purges = services.purge_schedule()
        purges.start()  # daily at retention.purge_time, agency time
        web_app.state.platekeeper.on_shutdown.append(purges.stop)
    if rt.settings.audits.run_in_server:
        audits = services.audit_schedule()
        audits.start()  # daily at audits.run_time: an ended period gets its audit, run and waiting for review
        web_app.state.platekeeper.on_shutdown.append(audits.stop)
    if rt.settings.guards.verify_in_server:
        verification = services.verification_schedule()
        verification.start()  # every guards.verify_hours: a failure raises a breach notice
        web_app.state.platekeeper.on_shutdown.append(verification.stop)
    scheme = "https" if certfile else "http"
    out.print(f"platekeeper serving on [bold]{scheme}://{host}:{port}[/]  (database: {rt.database.dialect})")
    if scheme == "http" and not _loopback(host):
        err.print(
            f"[bold yellow]warning:[/] serving plain HTTP on {host}: passwords, session cookies and camera keys "
            "would cross the network in clear. Give --certfile and --keyfile, or listen on 127.0.0.1 behind a "
            "TLS reverse proxy named in web.trusted_proxies (README, Deployment).",
            highlight=False,
        )
    for name in ("initial-admin.txt", "demo-credentials.txt"):
        if (rt.settings.data_dir / name).exists():
            out.print(f"sign in with the credentials in {rt.settings.data_dir / name}")
    uvicorn.Server(config).run()


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


@cameras_app.command("add")
def cameras_add(
    name: str,
    kind: Annotated[str, typer.Option(help="fixed, or mobile for a vehicle unit")] = "fixed",
    location: Annotated[str, typer.Option(help="Where it is, or which vehicle")] = "",
) -> None:
    """Register a camera and print its API key (shown only this once)."""
    with runtime().work_or_exit(CameraError) as work:
        camera, key = create_camera(work, name=name, kind=kind, location=location)
    out.print(f"camera {camera.id} {camera.name} ({camera.kind})\napi key: {key}", highlight=False)


@cameras_app.command("rotate-key")
def cameras_rotate_key(camera_id: Annotated[int, row_id("The camera's id")]) -> None:
    """Give a camera a new API key (the old one stops working at once) and print it."""
    with runtime().work_or_exit(CameraError) as work:
        key = rotate_camera_key(work, camera_id)
    out.print(f"camera {camera_id}\napi key: {key}", highlight=False)


@cameras_app.command("deactivate")
def cameras_deactivate(camera_id: Annotated[int, row_id("The camera's id")]) -> None:
    """Stop accepting uploads from a camera (its reads stay searchable)."""
    with runtime().work_or_exit(CameraError) as work:
        camera = deactivate_camera(work, camera_id)
    out.print(f"camera {camera.id} {camera.name} deactivated", highlight=False)


@cameras_app.command("list")
def cameras_list() -> None:
    """List cameras: state (active, silent past cameras.silent_after_minutes, inactive) and last upload."""
    rt = runtime()
    with rt.database.session() as session:
        for camera in list_cameras(session):
            seen = camera.last_seen_at.isoformat() if camera.last_seen_at else "never"
            state = camera_state(camera, rt.settings.cameras, utcnow())
            out.print(
                f"{camera.id:4} {camera.name:30} {camera.kind:7} {state:9} last upload {seen}",
                highlight=False,
            )


@audit_app.command("verify")
def audit_verify(
    checkpoints: Annotated[
        Path | None,
        typer.Option(
            help="A file of signed checkpoints to check the chain against (default: audit.checkpoint_file); a "
            "copy from another host, or a syslog collector's log, works too.",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
) -> None:
    """Check the audit chain and its signed checkpoints: exit 0 when intact, 1 naming what is wrong otherwise (and
    raise a breach notice, shown to the administrator and the custodian until acknowledged)."""
    rt = runtime()
    with rt.work() as work:
        result, notice = verify_and_notify(work, rt.signing_key, "cli", checkpoints)
    if notice is not None:
        err.print(f"breach notice {notice.id} raised: see /notices", highlight=False)
    if result.first_bad_seq is not None:
        err.print(
            f"[bold red]audit chain BROKEN[/] at event {result.first_bad_seq}: {result.reason} "
            f"({result.checked} events before it are intact)",
            highlight=False,
        )
        raise typer.Exit(1)
    if result.anchor_problem:
        err.print(f"[bold red]audit chain does not match its signed checkpoints:[/] {result.anchor_problem}")
        raise typer.Exit(1)
    out.print(f"audit chain intact: {result.checked} events verified; {result.anchor}", highlight=False)
    out.print(f"checkpoints are signed by {rt.signing_key.fingerprint}", highlight=False)


@audit_app.command("checkpoint")
def audit_checkpoint() -> None:
    """Sign the chain's head now and write it to the checkpoint sinks (for cron, or before a maintenance window)."""
    rt = runtime()
    with rt.work() as work:
        checkpoint = write_checkpoint(work, rt.signing_key, sinks_for(rt.settings), "manual")
    if checkpoint is None:
        out.print("the audit chain is empty: nothing to sign yet")
        return
    out.print(
        f"checkpoint written: event {checkpoint.seq}, hash {checkpoint.hash[:16]}…, signed by {checkpoint.key}",
        highlight=False,
    )


@worker_app.command("run")
def worker_run(
    once: Annotated[bool, typer.Option(help="Exit when the queue is empty instead of waiting for more")] = False,
) -> None:
    """Read queued images (uploads without plate text) and store the plates found."""
    import threading

    rt = runtime()
    worker = build_services(rt.settings, rt.database).recognition_worker()
    if once:
        done = 0
        while worker.run_once():
            done += 1
        out.print(f"recognition queue empty: {done} job(s) processed")
        return
    out.print("recognition worker running; Ctrl-C stops it")
    try:
        worker.run(threading.Event())
    except KeyboardInterrupt:
        out.print("stopped")


@worker_app.command("status")
def worker_status() -> None:
    """How many recognition jobs are pending, running, done and failed."""
    from platekeeper.reads.queue import queue_counts

    rt = runtime()
    with rt.database.session() as session:
        counts = queue_counts(session)
    out.print("  ".join(f"{state}: {count}" for state, count in counts.items()))


@worker_app.command("requeue-failed")
def worker_requeue_failed() -> None:
    """Put jobs that failed every attempt back in the queue (after fixing the cause)."""
    from platekeeper.reads.queue import requeue_failed

    rt = runtime()
    with rt.database.session() as session:
        count = requeue_failed(session)
    out.print(f"{count} job(s) back in the queue")


@app.command()
def backup(
    dest: Annotated[Path, typer.Argument(help="A new or empty folder to write the backup into")],
) -> None:
    """Back up the database, images and audit checkpoints, with a signed manifest of checksums and the keys'
    fingerprints. The keys themselves are not in it: keep copies of them apart from the backups."""
    from platekeeper.backup import BackupError, create_backup, record_backup

    rt = runtime()
    signer = rt.signing_key
    try:
        with _progress() as progress:
            result = create_backup(rt.settings, rt.database, signer, dest, progress)
    except BackupError as exc:
        raise fail(str(exc), exc.exit_code) from None
    manifest = result.manifest
    with rt.work() as work:
        record_backup(work, dest, result)
    out.print(
        f"backup written to {dest}: {result.files} files, {result.bytes:,} bytes; "
        f"{manifest['row_counts'].get('plate_reads', 0)} reads, audit chain to event "
        f"{(manifest['audit_head'] or {}).get('seq', 0)}",
        highlight=False,
    )
    paths = ", ".join(str(k.path) for k in key_files(rt.settings) if k.path.exists())
    out.print(
        f"the keys are not in the backup (only their fingerprints): keep copies of {paths} apart from it; a restore "
        "needs them",
        highlight=False,
    )


@app.command()
def restore(
    src: Annotated[Path, typer.Argument(help="A folder written by `platekeeper backup`")],
) -> None:
    """Restore a backup into this installation, which must be empty and hold the key files the backup was made
    with. Every checksum, key and the manifest's signature are checked first; then the row counts and the audit
    chain. Exit 1 when the backup is damaged or the restored installation does not verify."""
    from platekeeper.backup import BackupError, check_restorable, record_restore, restore_backup

    rt = runtime(migrated=False)
    try:
        with _progress() as progress:
            manifest = check_restorable(rt.settings, rt.database, src, progress)
            result = restore_backup(rt.settings, rt.database, src, manifest, progress)
    except BackupError as exc:
        raise fail(str(exc), exc.exit_code) from None
    out.print(f"restored {result.files} files, {result.bytes:,} bytes, from {src}", highlight=False)
    for problem in result.problems:
        err.print(f"[bold red]does not match the backup:[/] {problem}", highlight=False)
    if not result.problems:
        out.print(f"row counts match the backup ({len(manifest['row_counts'])} tables)", highlight=False)
    check = anchor_check(rt.settings, rt.signing_key)
    with rt.work(Actor.system("restore")) as work:
        verified = verify_and_record(work, check)
        ok = verified.intact and not result.problems
        record_restore(work, src, manifest, result, ok=ok)
    if not verified.intact:
        err.print(
            f"[bold red]audit chain does not verify:[/] {verified.reason or verified.anchor_problem}", highlight=False
        )
    else:
        out.print(f"audit chain intact: {verified.checked} events verified; {verified.anchor}", highlight=False)
    if not ok:
        raise typer.Exit(1)
    if result.upgrade_needed:
        out.print("the backup is from an earlier schema: run `platekeeper db upgrade` next", highlight=False)


def _progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TimeElapsedColumn(), console=out)


@app.command()
def demo(
    reads: Annotated[int, typer.Option(min=0, max=200_000, help="Synthetic reads to create")] = 3000,
    if_empty: Annotated[bool, typer.Option(help="Do nothing when the database already holds reads or users")] = False,
) -> None:
    """Seed a demo agency: cameras, users of each role and synthetic reads with rendered plate images."""
    from platekeeper.demo.seed import seed_demo

    rt = runtime()
    seed_demo(rt, reads=reads, if_empty=if_empty, console=out)


app.command("read")(read_command)  # opencv and onnxruntime load only when it runs


def main() -> None:
    """Entry point that keeps Typer's exit codes."""
    app()
