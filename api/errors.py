"""One error shape for every answer under /api/: {"error": {"code", "message", "details"}}, for
the API's own errors and for what Django answers before or after it (an unknown path, a server
error)."""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.db import DatabaseError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from casework import errors

from .parsers import RequestTooLarge

log = logging.getLogger(__name__)

# deadlock_detected, lock_not_available, serialization_failure
BUSY_SQLSTATES = {"40P01", "55P03", "40001"}

STATUS_BY_ERROR: dict[type[errors.DomainError], int] = {
    errors.NotFound: status.HTTP_404_NOT_FOUND,
    errors.PermissionDenied: status.HTTP_403_FORBIDDEN,
    errors.TransitionNotAllowed: status.HTTP_409_CONFLICT,
    errors.Conflict: status.HTTP_409_CONFLICT,
    errors.InvalidInput: status.HTTP_400_BAD_REQUEST,
}


def error_body(code: str, message: Any, details: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": str(message), "details": details or {}}}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, errors.DomainError):
        code = next((c for t, c in STATUS_BY_ERROR.items() if isinstance(exc, t)), 400)
        return Response(error_body(exc.code, exc.message, exc.details), status=code)
    if isinstance(exc, DatabaseError) and getattr(exc.__cause__, "sqlstate", None) in BUSY_SQLSTATES:
        # PostgreSQL broke a deadlock or a lock wait by failing this transaction: it changed
        # nothing, and trying again is the answer.
        return Response(
            error_body("busy", _("该案件正被他人处理，请稍后重试。"), {"retry": True}), status=status.HTTP_409_CONFLICT
        )
    if isinstance(exc, RequestDataTooBig):
        exc = RequestTooLarge()
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound(_("记录不存在。"))
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        response.data = error_body("invalid", _("输入有误。"), {"fields": response.data})
    elif isinstance(exc, exceptions.APIException):
        detail = exc.detail
        codes = exc.get_codes()
        response.data = error_body(
            codes if isinstance(codes, str) else "error", detail if isinstance(detail, str) else _("请求有误。"), {}
        )
    return response


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """Django's 404 for a path no view answers: JSON under /api/, the page elsewhere."""
    if _is_api(request):
        return JsonResponse(error_body("not_found", _("请求的地址不存在。")), status=404)
    from django.views.defaults import page_not_found

    return page_not_found(request, exception or Http404())


def server_error(request: HttpRequest) -> HttpResponse:
    """Django's 500: JSON under /api/ (the error itself is in the log), the page elsewhere."""
    if _is_api(request):
        return JsonResponse(error_body("server_error", _("服务器内部错误，请稍后重试。")), status=500)
    from django.views.defaults import server_error as page_server_error

    return page_server_error(request)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _is_api(request):
        if isinstance(exception, RequestDataTooBig):
            return JsonResponse(error_body("too_large", _("请求内容过大。")), status=413)
        return JsonResponse(error_body("bad_request", _("请求有误。")), status=400)
    from django.views.defaults import bad_request as page_bad_request

    return page_bad_request(request, exception or Exception())
