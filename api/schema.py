"""The OpenAPI description, complete: every operation lists the errors it can answer (in the one
error shape) and every id in a path its limits, so a client, or a tool that tests the contract,
knows every status code it can meet."""

from __future__ import annotations

import copy
from typing import Any

from drf_spectacular.authentication import SessionScheme
from drf_spectacular.openapi import AutoSchema
from rest_framework import serializers

from workflows.inputs import MAX_ID

from .conditional import ETAG_HEADER

# An id in a path is at most 18 digits (config/urls.py registers the converter).
MAX_PATH_ID = 10**18 - 1
assert MAX_PATH_ID <= MAX_ID


class ErrorDetail(serializers.Serializer):
    code = serializers.CharField(help_text="稳定的错误代码，如 not_found、transition_not_allowed、invalid")
    message = serializers.CharField(help_text="给用户看的说明（按请求语言）")
    details = serializers.DictField(help_text="与错误相关的字段、状态等")


class ErrorOut(serializers.Serializer):
    error = ErrorDetail()


ERRORS = {
    "400": "请求参数或内容有误",
    "401": "未登录或令牌无效",
    "403": "可以查看该记录，但无权执行此操作",
    "404": "记录不存在或无权查看（两者答复相同）",
    "406": "不支持所要求的响应格式",
    "409": "当前状态下不允许，或已被他人处理；未做任何修改",
    "412": "If-Match 的 ETag 已过期：记录已被修改，未做任何修改",
    "413": "请求内容过大",
    "415": "请求内容须为 application/json",
    "422": "Idempotency-Key 已用于另一个请求（方法、路径或内容不同）；未做任何修改",
    "429": "请求过于频繁，请稍后重试",
    "500": "服务器内部错误",
}


# Headers an error answer carries (DRF sets both): how to authenticate, and when to try again.
ERROR_HEADERS = {
    "401": {
        "WWW-Authenticate": {
            "schema": {"type": "string"},
            "required": True,
            "description": "Token：请用 Authorization: Token <key> 认证",
        }
    },
    "429": {
        "Retry-After": {"schema": {"type": "integer", "minimum": 0}, "description": "多少秒后可以重试"},
    },
}


class MinqingAutoSchema(AutoSchema):
    def _error_codes(self) -> list[str]:
        codes = ["401", "404", "406", "429", "500"]
        if self.method in ("POST", "PUT", "PATCH"):
            codes += ["400", "403", "409", "413", "415"]
            if getattr(self.view, "idempotent", False):
                codes.append("422")
            if getattr(self.view, "etagged", False):
                codes.append("412")
        elif self._get_parameters() or self._is_list_view():
            codes.append("400")
        if getattr(self.view, "one_role_only", False) and "403" not in codes:
            codes.append("403")  # a list of one role's, refused to every other role
        if not self._requires_auth():
            codes.remove("401")
        return sorted(codes)

    def _requires_auth(self) -> bool:
        return bool(getattr(self.view, "permission_classes", None)) and not getattr(self.view, "public", False)

    def _get_response_bodies(self, direction: str = "response") -> dict[str, Any]:  # type: ignore[override]
        responses = super()._get_response_bodies(direction)  # type: ignore[arg-type]
        if direction != "response":
            return responses
        if getattr(self.view, "etagged", False) and "200" in responses:
            responses["200"]["headers"] = copy.deepcopy(ETAG_HEADER)
            if self.method == "GET":
                responses["304"] = {
                    "description": "If-None-Match 所列的 ETag 仍是当前版本：未修改，无内容",
                    "headers": copy.deepcopy(ETAG_HEADER),
                }
        for code in self._error_codes():
            if code not in responses:
                responses[code] = self._get_response_for_code(ErrorOut, code, direction=direction)
                responses[code]["description"] = ERRORS[code]
                if code in ERROR_HEADERS:
                    responses[code]["headers"] = copy.deepcopy(ERROR_HEADERS[code])
        return responses

    def _map_serializer(self, serializer: Any, direction: str, bypass_extensions: bool = False) -> dict[str, Any]:
        schema: dict[str, Any] = super()._map_serializer(serializer, direction, bypass_extensions)
        # A partial input (api.serializers.request_serializer) refuses an empty object.
        minimum = getattr(serializer, "min_properties", None)
        if direction == "request" and minimum:
            schema["minProperties"] = minimum
        # An input that refuses fields it does not know says so.
        if direction == "request" and getattr(serializer, "closed", False):
            schema["additionalProperties"] = False
        return schema

    def _resolve_path_parameters(self, variables: list[str]) -> list[dict[str, Any]]:
        parameters = super()._resolve_path_parameters(variables)
        for parameter in parameters:
            if parameter["name"].endswith("_id"):
                parameter["schema"] = {"type": "integer", "minimum": 1, "maximum": MAX_PATH_ID}
        return parameters


class CheckedSessionScheme(SessionScheme):
    """The pages' session as the API takes it (with the second-factor and password checks)."""

    target_class = "api.auth.CheckedSessionAuthentication"
