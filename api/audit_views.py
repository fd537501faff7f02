"""Audit verification alerts for auditors: what beat's verify_audit found broken."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from casework import selectors


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
