"""Thin HTTP adapters: parse, call one action or selector, render."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from casework import selectors
from casework.errors import InvalidInput, NotFound
from workflows import actions
from workflows.selectors import open_tasks

from . import serializers as s
from .pagination import decode_cursor, next_link, page_limit


def client_ip(request: Request) -> str | None:
    from django.conf import settings

    if getattr(settings, "MINQING_TRUST_X_FORWARDED_FOR", False):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.split(",")[0].strip()
    return request.META.get("REMOTE_ADDR")


def _valid(serializer_class: type[serializers.Serializer], data: Any) -> dict[str, Any]:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def _case_body(request: Request, case_id: int) -> dict[str, Any]:
    case = selectors.case_detail(request.user, case_id)
    case.clock_rows = selectors.case_clocks(case)
    case.open_task_rows = open_tasks(case.pk)
    return dict(s.CaseOut(case).data)


class CaseListView(APIView):
    @extend_schema(
        operation_id="cases_list",
        summary="我能看到的案件",
        parameters=[
            OpenApiParameter("status", OpenApiTypes.STR, description="按状态筛选"),
            OpenApiParameter("cursor", OpenApiTypes.STR),
            OpenApiParameter("limit", OpenApiTypes.INT),
        ],
        responses=inline_serializer(
            "CasePage", {"results": s.CaseListOut(many=True), "next": serializers.CharField(allow_null=True)}
        ),
    )
    def get(self, request: Request) -> Response:
        limit = page_limit(request)
        cursor = decode_cursor(request)
        before = int(cursor[0]) if cursor else None
        rows = selectors.case_list(
            request.user, status=request.query_params.get("status"), before_id=before, limit=limit
        )
        return Response(
            {
                "results": s.CaseListOut(rows, many=True).data,
                "next": next_link(request, rows, limit, lambda c: [c.pk]),
            }
        )

    @extend_schema(summary="反映民情（新建案件）", request=s.CaseCreateIn, responses={201: s.CaseCreatedOut})
    def post(self, request: Request) -> Response:
        data = _valid(s.CaseCreateIn, request.data)
        case = actions.case_file(
            actor=request.user,
            submit=data.pop("submit"),
            source_ip=client_ip(request),
            title=data["title"],
            description=data["description"],
            category_id=data["category"],
            township_id=data.get("township"),
            urgency=data["urgency"],
            contact_ids=data["contacts"],
            consent_to_share=data["consent_to_share"],
            committee_id=data.get("committee"),
        )
        return Response(_created_body(case), status=status.HTTP_201_CREATED)


def _created_body(case: Any) -> dict[str, Any]:
    """The intake answer is built from the rows just written: no second read on the hot path."""
    return {
        "id": case.pk,
        "title": case.title,
        "status": case.status,
        "status_display": case.get_status_display(),
        "urgency": case.urgency,
        "category": case.category_id,
        "township": case.township_id,
        "committee": case.committee_id,
        "created_at": case.created_at,
        "submitted_at": case.submitted_at,
    }


class CaseDetailView(APIView):
    @extend_schema(summary="案件详情", responses=s.CaseOut)
    def get(self, request: Request, case_id: int) -> Response:
        return Response(_case_body(request, case_id))

    @extend_schema(summary="修改案件", request=s.CaseUpdateIn, responses=s.CaseOut)
    def patch(self, request: Request, case_id: int) -> Response:
        data = _valid(s.CaseUpdateIn, request.data)
        if not data:
            raise InvalidInput(_("没有要修改的内容。"), code="empty_update")
        actions.case_update(case_id=case_id, actor=request.user, changes=data, source_ip=client_ip(request))
        return Response(_case_body(request, case_id))


def _require(data: dict[str, Any], *fields: str) -> list[Any]:
    missing = [f for f in fields if data.get(f) in (None, "")]
    if missing:
        raise InvalidInput(
            _("缺少必填项：%(f)s。") % {"f": "、".join(missing)}, code="required", details={"fields": missing}
        )
    return [data[f] for f in fields]


Transition = Callable[[Request, int, dict[str, Any]], Any]


def _t(fn: Callable[..., Any], **fields: str) -> Transition:
    """Adapt a body to an action's keywords: field name in the body → keyword of the action."""

    def run(request: Request, case_id: int, data: dict[str, Any]) -> Any:
        required = [body for body, kw in fields.items() if not kw.startswith("?")]
        _require(data, *required)
        kwargs = {kw.lstrip("?"): data[body] for body, kw in fields.items() if body in data}
        return fn(case_id=case_id, actor=request.user, source_ip=client_ip(request), **kwargs)

    return run


TRANSITIONS: dict[str, Transition] = {
    "submit": _t(actions.case_submit),
    "claim": _t(actions.case_claim),
    "release": _t(actions.case_release),
    "accept": _t(actions.case_accept, note="?note"),
    "request_info": _t(actions.case_request_info, question="question"),
    "answer_info": _t(actions.case_answer_info, answer="answer"),
    "reject": _t(actions.case_reject, reason="reason_id", note="?note"),
    "redirect": _t(actions.case_redirect, channel="channel", note="?note"),
    "merge": _t(actions.case_merge, into="into_id", note="?note"),
    "resolve": _t(actions.case_resolve, note="note"),
    "convert": _t(actions.case_convert, output_type="output_type", output="?output_id", title="?title"),
    "feedback": _t(actions.case_record_feedback, method="method", satisfaction="satisfaction", note="?note"),
    "send_back": _t(actions.case_send_back, send_back_reason="reason"),
}


class CaseTransitionView(APIView):
    @extend_schema(
        summary="执行案件流转",
        description="name 取值：" + "、".join(TRANSITIONS) + "。不允许的流转返回 409，且不做任何修改。",
        parameters=[OpenApiParameter("name", OpenApiTypes.STR, OpenApiParameter.PATH, enum=list(TRANSITIONS))],
        request=s.TransitionIn,
        responses={200: s.CaseOut},
    )
    def post(self, request: Request, case_id: int, name: str) -> Response:
        transition = TRANSITIONS.get(name)
        if transition is None:
            raise NotFound(_("没有名为「%(n)s」的流转。") % {"n": name}, code="unknown_transition")
        data = _valid(s.TransitionIn, request.data)
        transition(request, case_id, data)
        return Response(_case_body(request, case_id))


class CaseEventsView(APIView):
    @extend_schema(
        summary="案件审计时间线",
        parameters=[OpenApiParameter("cursor", OpenApiTypes.STR), OpenApiParameter("limit", OpenApiTypes.INT)],
        responses=inline_serializer(
            "EventPage", {"results": s.EventOut(many=True), "next": serializers.CharField(allow_null=True)}
        ),
    )
    def get(self, request: Request, case_id: int) -> Response:
        limit = page_limit(request, default=100)
        cursor = decode_cursor(request)
        rows = selectors.case_events(request.user, case_id, after_seq=int(cursor[0]) if cursor else 0, limit=limit)
        return Response(
            {"results": s.EventOut(rows, many=True).data, "next": next_link(request, rows, limit, lambda e: [e.seq])}
        )


class QueueListView(APIView):
    @extend_schema(summary="我的工作队列", responses=s.QueueOut(many=True))
    def get(self, request: Request) -> Response:
        return Response(s.QueueOut(selectors.queues_for(request.user), many=True).data)


def _queue_cursor(request: Request) -> tuple[datetime, int] | None:
    cursor = decode_cursor(request)
    if cursor is None:
        return None
    try:
        due = parse_datetime(str(cursor[0]))
        if due is None:
            raise ValueError
        return due, int(cursor[1])
    except (ValueError, IndexError, TypeError):
        raise InvalidInput(_("翻页参数无效。"), code="invalid_cursor", details={"field": "cursor"}) from None


class QueueTasksView(APIView):
    @extend_schema(
        summary="队列中待认领的任务（按到期时间）",
        parameters=[OpenApiParameter("cursor", OpenApiTypes.STR), OpenApiParameter("limit", OpenApiTypes.INT)],
        responses=inline_serializer(
            "QueuePage", {"results": s.QueueItemOut(many=True), "next": serializers.CharField(allow_null=True)}
        ),
    )
    def get(self, request: Request, committee_id: int) -> Response:
        limit = page_limit(request)
        rows = selectors.queue_page(request.user, committee_id, after=_queue_cursor(request), limit=limit)
        return Response(
            {
                "results": rows,  # already shaped as QueueItemOut by the selector
                "next": next_link(request, rows, limit, lambda item: [item["due_at"], item["clock"]]),
            }
        )


class QueueClaimNextView(APIView):
    @extend_schema(
        summary="认领下一个最紧急的任务",
        description="答复所认领任务的简要信息；详情见 GET /api/v1/cases/{id}/。队列为空时答复 204。",
        request=None,
        responses={200: s.ClaimOut, 204: None},
    )
    def post(self, request: Request, committee_id: int) -> Response:
        claimed = actions.queue_claim_next(committee_id=committee_id, actor=request.user, source_ip=client_ip(request))
        if claimed is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        # Built from the rows the claim holds: a staff member clearing a queue wants the next
        # task now, and the full case detail costs as much again as the claim.
        case = claimed.case
        return Response(
            {
                "task": claimed.task_id,
                "stage": claimed.stage,
                "due_at": claimed.due_at,
                "owner": request.user.pk,
                "case": {"id": case.pk, "title": case.title, "status": case.status, "urgency": case.urgency},
            }
        )


class MyTasksView(APIView):
    @extend_schema(summary="我已认领的任务", responses=s.QueueItemOut(many=True))
    def get(self, request: Request) -> Response:
        return Response(s.QueueItemOut(selectors.my_tasks(request.user), many=True).data)


class OutputOutcomeView(APIView):
    @extend_schema(summary="登记成果办理结果（回写到其汇集的每个案件）", request=s.OutcomeIn, responses=s.OutputOut)
    def post(self, request: Request, output_id: int) -> Response:
        data = _valid(s.OutcomeIn, request.data)
        output = actions.output_record_outcome(
            output_id=output_id, actor=request.user, outcome=data["outcome"], source_ip=client_ip(request)
        )
        return Response(s.OutputOut(output).data)
