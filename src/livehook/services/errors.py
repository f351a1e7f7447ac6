"""Errors a use case can end in; the API maps each to a status and an ``error`` code.

ServiceError
├── NotFound          404  not_found (also: another account's object)
├── Conflict          409  conflict
├── InvalidRequest    422  invalid_request (a rule the request breaks, not its shape)
└── PermissionDenied  403  forbidden
"""

from __future__ import annotations

from typing import Any


class ServiceError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class NotFound(ServiceError):
    status = 404
    code = "not_found"


class Conflict(ServiceError):
    status = 409
    code = "conflict"


class InvalidRequest(ServiceError):
    status = 422
    code = "invalid_request"


class PermissionDenied(ServiceError):
    status = 403
    code = "forbidden"
