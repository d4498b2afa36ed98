"""JSON routes: cameras upload read batches; signed-in users search reads with a stated purpose."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, tzinfo
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from pydantic import Field
from starlette.datastructures import UploadFile

from platekeeper.access.service import SessionState
from platekeeper.cameras.models import Camera
from platekeeper.reads.ingest import BatchError, IngestResult, ingest_batch
from platekeeper.reads.schemas import ImageBatchIn, IngestReport, ReadBatchIn
from platekeeper.reads.service import (
    ReadNotFound,
    ReadQuery,
    ReadSummary,
    SearchError,
    SearchPage,
    get_read,
    get_read_image,
    search_reads,
)
from platekeeper.web.access_params import require_access_context, search_refusal, stated_context
from platekeeper.web.deps import CAMERA, MAX_ROW_ID, DbSession, DbWork, app_state, requires
from platekeeper.web.nul import NUL_MESSAGE, nul_field
from platekeeper.web.openapi import upload_body

__all__ = ["router", "summary_json"]

router = APIRouter(prefix="/api/v1", tags=["reads"])
MAX_PARTS = 2 * 10_000 + 1
UPLOAD_REFUSALS: dict[int | str, dict[str, Any]] = {
    400: {"description": "The body is not valid JSON, or the multipart upload has no 'batch' part"},
    415: {"description": "The body is neither JSON nor multipart"},
}
MAX_INT_DIGITS = 4300  # Python's own limit for int() of a string (sys.get_int_max_str_digits())


def _number(text: str) -> int | float:
    """An integer in the JSON. Past 4,300 digits ``int()`` refuses (a denial-of-service guard): read such a number
    as a float (infinity), so that the read's own validation names the field and its bounds."""
    return int(text) if len(text) <= MAX_INT_DIGITS else float(text)


def parse_json(data: bytes | str, what: str) -> Any:
    """JSON from a client, or a 400 that says what is wrong with it (nesting too deep included)."""
    try:
        payload = json.loads(data, parse_int=_number)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise HTTPException(400, f"{what} is not valid JSON: {exc}") from None
    except RecursionError:
        raise HTTPException(400, f"{what} is not valid JSON: it is nested too deeply") from None
    field = nul_field(payload)  # a JSON body was checked on the way in; a multipart batch part is checked here
    if field is not None:
        raise HTTPException(422, f"{what}: {field} {NUL_MESSAGE}")
    return payload


async def _read_batch(request: Request) -> tuple[Any, dict[str, bytes]]:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/json":
        return parse_json(await request.body(), "the body"), {}
    if content_type == "multipart/form-data":
        limit = app_state(request).settings.ingest.max_request_bytes
        form = await request.form(max_files=MAX_PARTS, max_fields=MAX_PARTS, max_part_size=limit)
        batch = form.get("batch")
        if not isinstance(batch, str):
            raise HTTPException(400, "a multipart upload needs a text part named 'batch' holding the JSON batch")
        payload = parse_json(batch, "the 'batch' part")
        parts = {name: await value.read() for name, value in form.multi_items() if isinstance(value, UploadFile)}
        return payload, parts
    raise HTTPException(415, "send application/json, or multipart/form-data with a 'batch' part")


@router.post(
    "/reads",
    responses={
        200: {"model": IngestReport, "description": "Every read stored, queued or already stored"},
        207: {"model": IngestReport, "description": "Some reads were rejected"},
        422: {"model": IngestReport, "description": "Every read was rejected, or the body is not a batch"},
        **UPLOAD_REFUSALS,
    },
    openapi_extra=upload_body(ReadBatchIn),
)
async def upload_reads(
    request: Request, session: DbSession, camera: Annotated[Camera, Depends(CAMERA)]
) -> JSONResponse:
    """Store a batch of reads from one camera. Idempotent: ids already stored are reported as duplicates."""
    payload, parts = await _read_batch(request)
    state = app_state(request)
    try:
        result = await run_in_threadpool(
            ingest_batch, session, state.settings, state.image_store, camera, payload, parts
        )
    except BatchError as exc:
        raise HTTPException(422, str(exc)) from None
    for hook in state.services.after_ingest:
        await run_in_threadpool(hook, session, state.settings, result.stored_ids)
    return JSONResponse(result.as_dict(), status_code=_batch_status(result))


def _batch_status(result: IngestResult) -> int:
    rejected, total = result.count("rejected"), len(result.items)
    return 200 if rejected == 0 else (422 if rejected == total else 207)


IMAGE_FIELDS = {"id", "captured_at", "image", "latitude", "longitude", "heading"}


def _images_as_reads(payload: Any) -> tuple[Any, dict[int, str]]:
    """Turn an images batch into reads without plate text; report items with fields an image upload cannot have."""
    images = payload.get("images") if isinstance(payload, dict) else None
    if not isinstance(images, list):
        raise HTTPException(422, "the body must be a JSON object with a list under 'images'")
    reads: list[Any] = []
    refused: dict[int, str] = {}
    for index, item in enumerate(images):
        extra = sorted(set(item) - IMAGE_FIELDS) if isinstance(item, dict) else []
        if extra:
            refused[index] = f"{', '.join(extra)}: not accepted here (reads with plate text go to /api/v1/reads)"
            reads.append(None)
        elif isinstance(item, dict):
            reads.append({**{k: v for k, v in item.items() if k != "image"}, "overview_image": item.get("image")})
        else:
            reads.append(item)
    return {"reads": reads}, refused


@router.post(
    "/images",
    responses={
        200: {"model": IngestReport, "description": "Every image queued or already queued"},
        207: {"model": IngestReport, "description": "Some images were rejected"},
        422: {"model": IngestReport, "description": "Every image was rejected, or the body is not a batch"},
        **UPLOAD_REFUSALS,
    },
    openapi_extra=upload_body(ImageBatchIn),
)
async def upload_images(
    request: Request, session: DbSession, camera: Annotated[Camera, Depends(CAMERA)]
) -> JSONResponse:
    """Queue images from a camera that does not read plates itself; the server reads them off the request path.

    Body: ``{"images": [{"id": UUID, "captured_at": ISO 8601 with timezone, "image": {"base64": ...} or
    {"part": NAME}, "latitude", "longitude", "heading"}]}`` (JSON, or multipart with a ``batch`` part).
    Idempotent like /api/v1/reads: each id is queued once.
    """
    payload, parts = await _read_batch(request)
    reads, refused = _images_as_reads(payload)
    state = app_state(request)
    try:
        result = await run_in_threadpool(ingest_batch, session, state.settings, state.image_store, camera, reads, parts)
    except BatchError as exc:
        raise HTTPException(422, str(exc).replace("'reads'", "'images'").replace("reads", "images")) from None
    for item in result.items:
        if item.index in refused:
            item.reason = refused[item.index]
    return JSONResponse(result.as_dict(), status_code=_batch_status(result))


def _summary_json(page: SearchPage, settings_tz: Any) -> dict[str, Any]:
    return {
        "total": page.total,
        "total_exact": page.exact,  # false: more than ``total`` (search.count_limit) match
        "page": page.query.page,
        "has_next": page.has_next,  # page on while true: past the count's limit, ``pages`` is only a floor
        "pages": page.pages,
        "page_size": page.page_size,
        "query": page.query.describe(),
        "results": [summary_json(r, settings_tz) for r in page.results],
    }


def summary_json(r: ReadSummary, settings_tz: tzinfo) -> dict[str, Any]:
    """One read as a search result (or a plate's story) shows it: no image, a link to its crop."""
    return {
        "id": str(r.id),
        "captured_at": r.captured_at.isoformat(),
        "captured_at_local": r.captured_at.astimezone(settings_tz).isoformat(),
        "camera": {"id": r.camera_id, "name": r.camera_name},
        "plate": r.plate,
        "confidence": r.confidence,
        "region": r.region,
        "corrected_plate": r.corrected_plate,
        "latitude": r.latitude,
        "longitude": r.longitude,
        "crop_url": f"/api/v1/reads/{r.id}/images/crop" if r.crop_sha256 else None,
    }


@router.get("/reads", responses={400: {"description": "Missing purpose, case number or justification"}})
def api_search_reads(
    request: Request,
    state: Annotated[SessionState, Depends(requires("reads.search"))],
    work: DbWork,
    plate: Annotated[str | None, Query(max_length=32, description="Plate, or a pattern with * and ?")] = None,
    since: Annotated[datetime | None, Query(description="From this time (ISO 8601 with timezone)")] = None,
    until: Annotated[datetime | None, Query(description="Before this time (ISO 8601 with timezone)")] = None,
    camera: Annotated[list[Annotated[int, Field(ge=1, le=MAX_ROW_ID)]] | None, Query(description="Camera ids")] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    sort: Annotated[
        Literal["newest", "oldest", "camera", "confidence", "low_confidence"],
        Query(description="Order: newest or oldest first, by camera name, most or least confident first"),
    ] = "newest",
    purpose: Annotated[str | None, Query(max_length=64, description="An authorized purpose code")] = None,
    case_number: Annotated[str | None, Query(max_length=64, description="Case or incident number")] = None,
    justification: Annotated[str | None, Query(max_length=1000, description="Why this search is needed")] = None,
) -> Response:
    """Search reads. Needs purpose, case_number and justification (query or X-Purpose/X-Case-Number/X-Justification
    headers); every search is audited with its query elements."""
    query = ReadQuery(plate=plate, since=since, until=until, camera_ids=tuple(camera or ()), page=page, sort=sort)
    ctx = require_access_context(work, state.principal, stated_context(request), "reads.search", query.describe())
    try:
        result = search_reads(work, ctx, query)
    except SearchError as exc:  # raised before anything is written
        return search_refusal(exc)
    return JSONResponse(_summary_json(result, work.settings.tz))


@router.get(
    "/reads/{read_id}",
    responses={400: {"description": "Missing purpose or case number"}, 404: {"description": "No such read"}},
)
def api_get_read(
    read_id: uuid.UUID,
    request: Request,
    state: Annotated[SessionState, Depends(requires("reads.view"))],
    work: DbWork,
) -> Response:
    """One read. Needs the same purpose, case number and justification as a search; audited."""
    ctx = require_access_context(
        work, state.principal, stated_context(request), "reads.view", {"read_id": str(read_id)}
    )
    try:
        detail = get_read(work, ctx, read_id, app_state(request).image_store)
    except ReadNotFound as exc:
        return JSONResponse({"detail": str(exc)}, status_code=404)  # returned, so the audit event commits
    read = detail.read
    return JSONResponse(
        {
            "id": str(read.id),
            "plate": read.plate,
            "plate_raw": read.plate_raw,
            "confidence": read.confidence,
            "region": read.region,
            "captured_at": read.captured_at.isoformat(),
            "received_at": read.received_at.isoformat(),
            "latitude": read.latitude,
            "longitude": read.longitude,
            "heading": read.heading,
            "camera": {"id": detail.camera.id, "name": detail.camera.name, "kind": detail.camera.kind},
            "images": {kind: f"/api/v1/reads/{read.id}/images/{kind}" for kind in detail.images},
        }
    )


@router.get(
    "/reads/{read_id}/images/{kind}",
    responses={400: {"description": "Missing purpose or case number"}, 404: {"description": "No such read or image"}},
)
def api_get_read_image(
    read_id: uuid.UUID,
    kind: str,
    request: Request,
    state: Annotated[SessionState, Depends(requires("reads.view"))],
    work: DbWork,
) -> Response:
    """The plate crop or overview image of a read; audited."""
    ctx = require_access_context(
        work, state.principal, stated_context(request), "reads.image", {"read_id": str(read_id)}
    )
    try:
        image = get_read_image(work, ctx, read_id, kind, app_state(request).image_store)
    except ReadNotFound as exc:
        return JSONResponse({"detail": str(exc)}, status_code=404)
    return Response(image.data, media_type=image.media_type)
