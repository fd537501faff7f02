"""A user's own notifications (the in-app channel) and the channels they choose. Every answer
is about the signed-in user only: another user's notification answers 404, as a missing one."""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from casework import selectors
from casework.errors import InvalidInput
from casework.models import User
from workflows import notifications

from . import serializers as s
from .pagination import decode_cursor, next_link, page_limit
from .views import CURSOR, LIMIT

UNREAD = OpenApiParameter(
    "unread",
    {"type": "string", "enum": ["1", "0", "true", "false"]},
    description=_("1：只列未读的"),
)


def _user(request: Request) -> User:
    return request.user  # type: ignore[return-value]


def _unread_only(request: Request) -> bool:
    raw = request.query_params.get("unread")
    if raw is None or raw in ("0", "false"):
        return False
    if raw in ("1", "true"):
        return True
    raise InvalidInput(_("unread 取值应为 1 或 0。"), code="invalid_unread", details={"field": "unread"})


class NotificationListView(APIView):
    @extend_schema(
        operation_id="notifications_list",
        summary="我的通知（最新的在前）",
        description=_("unread_count 为全部未读通知的条数，与筛选和翻页无关。"),
        parameters=[UNREAD, CURSOR, LIMIT],
        responses=inline_serializer(
            "NotificationPage",
            {
                "results": s.NotificationOut(many=True),
                "next": serializers.CharField(allow_null=True),
                "unread_count": serializers.IntegerField(min_value=0),
            },
        ),
    )
    def get(self, request: Request) -> Response:
        user = _user(request)
        limit = page_limit(request)
        cursor = decode_cursor(request, int)
        rows = selectors.notifications(
            user, unread_only=_unread_only(request), before_id=cursor[0] if cursor else None, limit=limit
        )
        return Response(
            {
                "results": s.NotificationOut(rows, many=True).data,
                "next": next_link(request, rows, limit, lambda n: [n.pk]),
                "unread_count": selectors.unread_count(user),
            }
        )


class UnreadCountView(APIView):
    @extend_schema(
        operation_id="notifications_unread_count",
        summary="我的未读通知条数",
        responses=inline_serializer("UnreadCount", {"unread_count": serializers.IntegerField(min_value=0)}),
    )
    def get(self, request: Request) -> Response:
        return Response({"unread_count": selectors.unread_count(_user(request))})


class NotificationReadView(APIView):
    @extend_schema(
        operation_id="notifications_read",
        summary="标记一条通知为已读",
        description=_("已读的再标记不改变已读时间。"),
        request=None,
        responses=s.NotificationOut,
    )
    def post(self, request: Request, notification_id: int) -> Response:
        return Response(s.NotificationOut(notifications.mark_read(_user(request), notification_id)).data)


class NotificationReadAllView(APIView):
    @extend_schema(
        operation_id="notifications_read_all",
        summary="全部标记为已读",
        request=None,
        responses=inline_serializer(
            "ReadAllOut",
            {"marked": serializers.IntegerField(min_value=0, help_text=_("本次标记为已读的条数"))},
        ),
    )
    def post(self, request: Request) -> Response:
        return Response({"marked": notifications.mark_all_read(_user(request))})


class NotificationSettingsView(APIView):
    @extend_schema(operation_id="me_notification_settings", summary="我的通知渠道", responses=s.NotificationSettingsOut)
    def get(self, request: Request) -> Response:
        return Response(s.NotificationSettingsOut(selectors.notification_settings(_user(request))).data)

    @extend_schema(
        operation_id="me_notification_settings_update",
        summary="选择通知渠道",
        description=_(
            "站内通知总是有的；email、dingtalk 选择是否另用邮件、钉钉群机器人通知。"
            "mobile 仅用于钉钉群消息中 @ 本人。未知字段或类型不符时答复 400，不做任何修改。"
        ),
        request=s.NotificationSettingsIn,
        responses=s.NotificationSettingsOut,
    )
    def patch(self, request: Request) -> Response:
        user = notifications.update_settings(_user(request), request.data)
        return Response(s.NotificationSettingsOut(selectors.notification_settings(user)).data)
