"""``platekeeper keys ...``: the storage key ring that seals image files, its status and its rotation."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from platekeeper.cli_support import Runtime, err, fail, out, runtime
from platekeeper.storage.keys import KEY_ENV, StorageKeyError

if TYPE_CHECKING:
    from platekeeper.reads.images import ImageStore
    from platekeeper.storage.rotation import RotationPlan, RotationResult

__all__ = ["keys_app"]

keys_app = typer.Typer(help="The storage key ring that seals image files at rest.", no_args_is_help=True)


def _store(rt: Runtime) -> ImageStore:
    from platekeeper.reads.images import ImageStore

    try:
        return ImageStore.for_settings(rt.settings)
    except StorageKeyError as exc:
        raise fail(str(exc)) from None


def _documents(rt: Runtime, images: ImageStore) -> ImageStore:
    """The sharing request documents, sealed with the same ring as the images (as services.py builds them)."""
    from platekeeper.reads.images import ImageStore

    return ImageStore(rt.settings.resolved_documents_dir, images.ring, encrypt=images.encrypt)


@keys_app.command("status")
def keys_status() -> None:
    """The current key, the keys in the ring, and how many images are under each key (and plain)."""
    from platekeeper.storage.rotation import census

    rt = runtime(migrated=False)
    store = _store(rt)
    assert store.ring is not None
    try:
        keys = store.ring.keys()
    except StorageKeyError as exc:
        raise fail(str(exc)) from None
    counts = census(store)
    source = KEY_ENV if store.ring.override else str(store.ring.path)
    current = keys[-1].id if keys else "none yet (created when the first image is sealed)"
    out.print(f"current key: {current} (from {source})", highlight=False)
    out.print(f"key ring: {len(keys)} key(s): {', '.join(k.id for k in keys) or '-'}", highlight=False)
    out.print(f"images: {sum(counts.values())}", highlight=False)
    for key_id, count in sorted(counts.items()):
        note = " (current)" if keys and key_id == keys[-1].id else ""
        out.print(f"  {key_id:12} {count:9}{note}", highlight=False)
    if len(keys) > 1:
        out.print("a rotation is unfinished: `platekeeper keys rotate` resumes it", highlight=False)


@keys_app.command("rotate")
def keys_rotate(
    batch_size: Annotated[
        int | None, typer.Option(min=1, max=100_000, help="Files per batch (default: storage.rotate_batch_size)")
    ] = None,
    pause_ms: Annotated[
        int | None, typer.Option(min=0, max=60_000, help="Pause after each batch (default: storage.rotate_pause_ms)")
    ] = None,
    keep_key: Annotated[
        bool, typer.Option(help="Make no new key: seal plain files and files under older keys under the current one")
    ] = False,
) -> None:
    """Re-seal every image under a new key, in batches. With more than one key in the ring, a rotation is
    unfinished (interrupted, or failed on some file): this resumes it instead of making another key. The old keys
    are dropped at the end of a pass that failed on no file. Exit 1 when a file could not be re-sealed."""
    from platekeeper.storage.rotation import RotationBusy, plan_rotation, reseal_images, rotation_lock

    rt = runtime()
    if not rt.settings.storage.encrypt_images:
        raise fail("storage.encrypt_images is off: turn it on before sealing the image files")
    store = _store(rt)
    assert store.ring is not None
    size = batch_size or rt.settings.storage.rotate_batch_size
    pause = (rt.settings.storage.rotate_pause_ms if pause_ms is None else pause_ms) / 1000
    try:
        with rotation_lock(store.ring):
            plan = plan_rotation(store.ring, keep_key=keep_key)
            _record(rt, plan, None)
            _announce(plan)
            result = reseal_images(store, size, pause, _progress, others=(_documents(rt, store),))
            _record(rt, plan, result)
    except (RotationBusy, StorageKeyError) as exc:
        raise fail(str(exc)) from None
    _report(plan, result)
    if result.failed:
        raise typer.Exit(1)


def _announce(plan: RotationPlan) -> None:
    if plan.resumed:
        what = f"resuming the unfinished rotation to key {plan.key.id}"
    elif plan.new_key:
        what = f"new key {plan.key.id} added to the ring; re-sealing every image under it"
    else:
        what = f"sealing every image under the current key {plan.key.id}"
    out.print(what, highlight=False)


def _progress(result: RotationResult) -> None:
    out.print(f"re-sealed {result.done}/{result.total}", highlight=False)


def _report(plan: RotationPlan, result: RotationResult) -> None:
    out.print(
        f"done: {result.resealed} re-sealed, {result.already_current} already under {plan.key.id}, "
        f"{len(result.failed)} failed",
        highlight=False,
    )
    for digest, why in result.failed:
        err.print(f"[bold red]failed:[/] {digest}: {why}", highlight=False)
    if result.retired:
        out.print(f"retired key(s) {', '.join(result.retired)}: every image is under {plan.key.id}", highlight=False)
    elif result.failed:
        out.print("the old keys stay in the ring; fix the files named, then run `platekeeper keys rotate` again")


def _record(rt: Runtime, plan: RotationPlan, result: RotationResult | None) -> None:
    from platekeeper.storage.rotation import record_rotation

    with rt.work() as work:
        record_rotation(work, plan, result)
