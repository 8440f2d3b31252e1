"""One error format for every failure: {type, status, title, detail, invalid_parameters}."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from meshfabric.resources import ValidationFailed, Violation
from meshfabric.resources.errors import field_path, reason
from meshfabric.resources.registry import UnknownType
from meshfabric.store import Conflict, MeshNotFound, NotFound, StoreUnavailable
from meshfabric.tokens import InvalidToken

log = logging.getLogger(__name__)


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        title: str,
        detail: str = "",
        invalid: Sequence[Violation] = (),
    ) -> None:
        super().__init__(detail or title)
        self.status = status
        self.title = title
        self.detail = detail
        self.invalid = list(invalid)


def problem(error: ApiError) -> JSONResponse:
    body: dict[str, Any] = {
        "type": "/std-errors",
        "status": error.status,
        "title": error.title,
        "detail": error.detail,
    }
    if error.invalid:
        body["invalid_parameters"] = [{"field": v.field, "reason": v.reason} for v in error.invalid]
    headers = {"WWW-Authenticate": "Bearer"} if error.status == 401 else None
    return JSONResponse(body, status_code=error.status, headers=headers)


def invalid_resource(violations: Sequence[Violation]) -> ApiError:
    return ApiError(400, "Could not process a resource", "Resource is not valid", violations)


def _translate(exc: Exception) -> ApiError:
    match exc:
        case ApiError():
            return exc
        case ValidationFailed():
            return invalid_resource(exc.violations)
        case RequestValidationError():
            return invalid_resource(_request_violations(exc.errors()))
        case NotFound():
            return ApiError(404, "Not found", str(exc))
        case UnknownType():
            return ApiError(404, "Not found", str(exc))
        case Conflict():
            return ApiError(409, "Conflict", str(exc))
        case MeshNotFound():
            return invalid_resource([Violation("mesh", f"mesh of name {exc.mesh} is not found")])
        case StoreUnavailable():
            return store_unavailable(exc)
        case InvalidToken():
            return ApiError(401, "Unauthenticated", str(exc))
        case StarletteHTTPException(status_code=413):
            return ApiError(413, "Content Too Large", str(exc.detail))
        case StarletteHTTPException():
            return ApiError(exc.status_code, str(exc.detail), str(exc.detail))
    log.exception("unexpected error while serving a request")
    return ApiError(500, "Internal Server Error", "an unexpected error occurred; see the log")


def store_unavailable(failed: StoreUnavailable) -> ApiError:
    return ApiError(503, "Service Unavailable", str(failed))


def _request_violations(errors: Sequence[Any]) -> list[Violation]:
    """FastAPI's errors for path, query and body: body paths lose their 'body' prefix."""
    violations = []
    for error in errors:
        loc = tuple(error["loc"])
        where, rest = (
            (loc[0], loc[1:]) if loc and loc[0] in ("body", "query", "path") else ("", loc)
        )
        path = field_path(rest) if where == "body" else ".".join(str(p) for p in rest)
        if where == "body" and not rest:
            violations.append(
                Violation("body", "must be a JSON object (Content-Type: application/json)")
            )
            continue
        violations.append(Violation(path or where or "body", reason(error)))
    return violations


def install(app: FastAPI) -> None:
    async def handle(request: Request, exc: Exception) -> JSONResponse:
        return problem(_translate(exc))

    for exc_type in (
        ApiError,
        ValidationFailed,
        RequestValidationError,
        NotFound,
        UnknownType,
        Conflict,
        MeshNotFound,
        InvalidToken,
        StoreUnavailable,
        StarletteHTTPException,
        Exception,
    ):
        app.add_exception_handler(exc_type, handle)
