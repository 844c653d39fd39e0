"""Files for ``attachment`` fields: upload, metadata, download (docs/api.md, "Files").

Thin over the record service, which decides who may upload, attach and read a file
(:mod:`yiti.records.files`): a file nobody lets the caller read is a 404 like a missing
one, so ids tell nothing.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Response, request, send_file, url_for
from werkzeug.exceptions import RequestEntityTooLarge

from yiti.records.files import MAX_SIZE
from yiti.web.api.blueprint import bp
from yiti.web.api.problems import field_error
from yiti.web.api.serialize import json_response
from yiti.web.app import current_site
from yiti.web.auth import current_actor

#: What a multipart request may carry besides the file (boundaries, part headers).
_ENVELOPE = 64 * 1024

#: Types a browser may show in the page (``inline``); everything else is downloaded, so
#: an uploaded HTML or SVG file never runs as a page of this site.
INLINE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp",
                          "application/pdf", "text/plain"})

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_UNSAFE = re.compile(r'["\\/]')


def safe_filename(name: str) -> str:
    """The stored name fit for a ``Content-Disposition`` header: no control characters,
    quotes, backslashes or slashes (werkzeug encodes the rest, non-ASCII as ``filename*``)."""
    return _UNSAFE.sub("_", _CONTROL.sub("", name)).strip() or "file"


def describe(info: dict[str, Any]) -> dict[str, Any]:
    return {"id": info["id"], "filename": info["filename"],
            "content_type": info["content_type"], "size": info["size"],
            "sha256": info["sha256"],
            "url": url_for("api.file_content", file_id=info["id"])}


@bp.post("/_files")
def upload_file() -> Response:
    records = current_site().records(current_actor())
    if (request.content_length or 0) > MAX_SIZE + _ENVELOPE:
        raise RequestEntityTooLarge(f"a file may have at most {MAX_SIZE // (1024 * 1024)} MB")
    # Streamed requests without a length are held to the same bound while parsed.
    request.max_content_length = MAX_SIZE + _ENVELOPE
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise field_error("file", "send the file as multipart/form-data, in a part named "
                                  "'file' with a filename", "required")
    data = upload.read(MAX_SIZE + 1)
    file_id = records.store_file(upload.filename, upload.mimetype or "", data)
    info = describe(records.file_info(file_id))
    return json_response(info, 201, {"Location": url_for("api.file_info", file_id=file_id)})


@bp.get("/_files/<int:file_id>")
def file_info(file_id: int) -> Response:
    records = current_site().records(current_actor())
    return json_response(describe(records.file_info(file_id)))


@bp.get("/_files/<int:file_id>/content")
def file_content(file_id: int) -> Response:
    records = current_site().records(current_actor())
    info = records.file_info(file_id)
    path = records.file_path(file_id)
    content_type = info["content_type"] or "application/octet-stream"
    inline = content_type in INLINE_TYPES
    response = send_file(path, mimetype=content_type, as_attachment=not inline,
                         download_name=safe_filename(info["filename"]),
                         etag=info["sha256"], conditional=True)
    response.headers["X-Content-Type-Options"] = "nosniff"
    # Whatever the file holds, it runs nothing and loads nothing as a page of this site.
    response.headers["Content-Security-Policy"] = "sandbox; default-src 'none'"
    response.headers["Cache-Control"] = "private, no-store"
    return response


FILE_SCHEMA: dict[str, Any] = {
    "type": "object", "required": ["id", "filename", "content_type", "size", "sha256", "url"],
    "properties": {
        "id": {"type": "integer", "description": "what an attachment field holds"},
        "filename": {"type": "string"}, "content_type": {"type": "string"},
        "size": {"type": "integer", "minimum": 0}, "sha256": {"type": "string"},
        "url": {"type": "string", "description": "where to download it"}}}


def file_paths() -> dict[str, dict[str, Any]]:
    """The routes above for the OpenAPI document (``yiti.web.api.openapi``)."""
    def problems(*statuses: str) -> dict[str, Any]:
        return {s: {"$ref": "#/components/responses/problem"} for s in statuses}

    file_ref = {"application/json": {"schema": {"$ref": "#/components/schemas/yiti.file"}}}
    file_id = {"name": "file_id", "in": "path", "required": True,
               "schema": {"type": "integer", "minimum": 1}}
    hidden = ("404 for a file the caller may not read, as for one that does not exist: "
              "readable are the files of records the caller may read, and their own "
              "uploads until attached.")
    return {
        "/api/v1/_files": {"post": {
            "operationId": "upload_file", "summary": "Upload a file",
            "description": f"multipart/form-data with the file in the part `file`; at most "
                           f"{MAX_SIZE // (1024 * 1024)} MB (413 above). Put the answer's "
                           "`id` in an attachment field. 403 for a caller who may create "
                           "or change no record that holds files.",
            "tags": ["_files"],
            "requestBody": {"required": True, "content": {"multipart/form-data": {
                "schema": {"type": "object", "required": ["file"], "properties": {
                    "file": {"type": "string", "contentMediaType":
                             "application/octet-stream"}}}}}},
            "responses": {"201": {"description": "the file kept", "content": file_ref},
                          **problems("400", "401", "403", "413", "422")}}},
        "/api/v1/_files/{file_id}": {"parameters": [file_id], "get": {
            "operationId": "file_info", "summary": "A file's name, type and size",
            "description": hidden, "tags": ["_files"],
            "responses": {"200": {"description": "the file", "content": file_ref},
                          **problems("401", "403", "404")}}},
        "/api/v1/_files/{file_id}/content": {"parameters": [file_id], "get": {
            "operationId": "download_file", "summary": "Download a file",
            "description": "The bytes, with the type given at upload; images, PDF and "
                           "plain text `inline`, anything else `attachment`, with the "
                           "file's name. " + hidden,
            "tags": ["_files"],
            "responses": {"200": {"description": "the file's bytes", "content": {
                "*/*": {"schema": {"type": "string", "contentMediaType":
                                   "application/octet-stream"}}}},
                **problems("401", "403", "404")}}},
    }
