"""The audit trail for auditors: its events, filtered and paged, and the alerts of what beat's
verify_audit found broken. Only auditors: anyone else is refused (403 not_auditor)."""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from casework import selectors
from casework.choices import AuditAction

from .pagination import decode_cursor, next_link, page_limit
from .views import CURSOR, LIMIT


class AuditBreakOut(serializers.Serializer):
    kind = serializers.CharField()
    stream = serializers.CharField()
    seq = serializers.IntegerField(allow_null=True)
    event = serializers.IntegerField(allow_null=True)
    detail = serializers.CharField()


class AuditAlertOut(serializers.Serializer):
    id = serializers.IntegerField()
    occurred_at = serializers.DateTimeField()
    mode = serializers.CharField(help_text="incremental / full")
    breaks = serializers.IntegerField(help_text="异常处数")
    message = serializers.CharField()
    first = AuditBreakOut(help_text="第一处异常")


class AuditAlertsView(APIView):
    one_role_only = True  # auditors; anyone else is refused (403, documented)

    @extend_schema(
        operation_id="audit_alerts",
        summary="审计链校验告警（审计管理员）",
        description="定时校验（verify_audit）发现审计链异常时记录的告警，最新的在前。只有审计管理员可以查看。",
        responses=AuditAlertOut(many=True),
    )
    def get(self, request: Request) -> Response:
        return Response(AuditAlertOut(selectors.audit_alerts(request.user), many=True).data)


class AuditActorOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class AuditEventOut(serializers.Serializer):
    id = serializers.IntegerField()
    occurred_at = serializers.DateTimeField(help_text="北京时间（+08:00）")
    stream = serializers.CharField()
    seq = serializers.IntegerField()
    action = serializers.ChoiceField(choices=AuditAction.choices)
    action_label = serializers.CharField()
    actor = AuditActorOut(allow_null=True, help_text="系统操作时为空")
    target_type = serializers.CharField()
    target_id = serializers.IntegerField()
    source_ip = serializers.CharField(allow_null=True)
    success = serializers.BooleanField()
    changes = serializers.JSONField()


AUDIT_FILTERS = [
    OpenApiParameter("action", {"type": "string", "enum": list(AuditAction.values)}, description=_("操作类型")),
    OpenApiParameter(
        "actor", {"type": "integer", "minimum": 1, "maximum": 10**18 - 1}, description=_("操作人（用户编号）")
    ),
    OpenApiParameter(
        "from", {"type": "string", "format": "date", "maxLength": 10}, description=_("起始日期（北京时间，含）")
    ),
    OpenApiParameter(
        "to", {"type": "string", "format": "date", "maxLength": 10}, description=_("截止日期（北京时间，含）")
    ),
    OpenApiParameter(
        "stream",
        {"type": "string", "maxLength": selectors.AUDIT_STREAM_MAX_LENGTH},
        description=_("链名称（精确匹配），如 case:12、system:3:20260131"),
    ),
    OpenApiParameter(
        "success",
        {"type": "string", "enum": ["1", "0", "true", "false"]},
        description=_("1：只列成功的；0：只列失败的"),
    ),
]


class AuditEventsView(APIView):
    one_role_only = True  # auditors; anyone else is refused (403, documented)

    @extend_schema(
        operation_id="audit_events",
        summary="审计记录（审计管理员）",
        description=_(
            "本组织的审计事件及不属于任何组织的全省事件（校验告警、不存在账号的登录失败），按写入顺序最新的在前。"
            "筛选参数无效时答复 400。只有审计管理员可以查看，其他人答复 403。"
        ),
        parameters=[*AUDIT_FILTERS, CURSOR, LIMIT],
        responses=inline_serializer(
            "AuditEventPage",
            {"results": AuditEventOut(many=True), "next": serializers.CharField(allow_null=True)},
        ),
    )
    def get(self, request: Request) -> Response:
        selectors.auditor_only(request.user)  # type: ignore[arg-type]
        limit = page_limit(request)
        cursor = decode_cursor(request, int)
        filters = selectors.audit_filters(request.query_params)
        rows = selectors.audit_events(
            request.user,  # type: ignore[arg-type]
            filters,
            before_id=cursor[0] if cursor else None,
            limit=limit,
        )
        return Response(
            {
                "results": AuditEventOut(rows, many=True).data,
                "next": next_link(request, rows, limit, lambda r: [r["id"]]),
            }
        )
