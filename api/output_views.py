"""The outputs around their lifecycles: the lists (outputs, a department's assignments, the user's
signatures), an output's timeline, the reference data the output transitions choose from, and the
files a department replies with (attached through `workflows.output_actions.attach_file`, read
back only by those who may see their output)."""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any
from urllib.parse import quote

from django.http import FileResponse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from casework import selectors
from casework.choices import AssignmentStatus, OutputStatus, OutputType
from casework.errors import InvalidInput
from casework.models import OutputFile
from config.http import client_ip
from workflows import output_actions
from workflows.inputs import SEARCH, FieldError, clean_search

from . import conditional
from . import serializers as s
from .idempotency import PARAMETER as IDEMPOTENCY_KEY
from .idempotency import respond
from .pagination import decode_cursor, next_link, page_limit
from .parsers import text_encoding
from .views import CURSOR, LIMIT, _options, _user, output_read

QUERY = OpenApiParameter(
    "q",
    {"type": "string", "maxLength": SEARCH.max_length, "pattern": SEARCH.pattern()},
    description=_("标题关键字或编号"),
)


def _query(request: Request) -> str:
    try:
        return clean_search(request.query_params.get("q", ""))
    except FieldError as error:
        raise InvalidInput(error.message, code="invalid_query", details={"field": "q"}) from None


def _choice(request: Request, name: str, values: list[str], code: str) -> str | None:
    value = request.query_params.get(name) or None
    if value is not None and value not in values:
        raise InvalidInput(_("%(f)s 取值无效。") % {"f": name}, code=code, details={"field": name})
    return value


def _page(name: str, item: serializers.Serializer) -> Any:
    return inline_serializer(name, {"results": item, "next": serializers.CharField(allow_null=True)})


# Outputs ----------------------------------------------------------------------------------------


class OutputListOut(s.OutputOut):
    number = serializers.CharField(help_text=_("编号；提交前为空串"))


class OutputListView(APIView):
    @extend_schema(
        operation_id="outputs_list",
        summary="我能看到的成果",
        description=_("最新的在前。q 按标题或编号查找。"),
        parameters=[
            OpenApiParameter("output_type", OpenApiTypes.STR, enum=OutputType.values, description=_("按成果类型筛选")),
            OpenApiParameter("status", OpenApiTypes.STR, enum=OutputStatus.values, description=_("按状态筛选")),
            QUERY,
            CURSOR,
            LIMIT,
        ],
        responses=_page("OutputPage", OutputListOut(many=True)),
    )
    def get(self, request: Request) -> Response:
        limit = page_limit(request)
        cursor = decode_cursor(request, int)
        rows = selectors.output_list(
            _user(request),
            output_type=_choice(request, "output_type", OutputType.values, "invalid_output_type"),
            status=_choice(request, "status", OutputStatus.values, "invalid_status"),
            q=_query(request),
            before_id=cursor[0] if cursor else None,
            limit=limit,
        )
        return Response(
            {"results": OutputListOut(rows, many=True).data, "next": next_link(request, rows, limit, lambda o: [o.pk])}
        )


class OutputEventsView(APIView):
    @extend_schema(
        operation_id="outputs_events",
        summary="成果审计时间线",
        description=_("他人操作的来源地址与案件时间线一样不提供（为 null）。"),
        parameters=[CURSOR, LIMIT],
        responses=_page("OutputEventPage", s.EventOut(many=True)),
    )
    def get(self, request: Request, output_id: int) -> Response:
        limit = page_limit(request, default=100)
        cursor = decode_cursor(request, int)
        rows = selectors.output_timeline(_user(request), output_id, after_seq=cursor[0] if cursor else 0, limit=limit)
        return Response(
            {"results": s.EventOut(rows, many=True).data, "next": next_link(request, rows, limit, lambda e: [e.seq])}
        )


class MergeProposalOut(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField()
    title = serializers.CharField()
    status = serializers.CharField()
    status_display = serializers.CharField(source="get_status_display")


class OutputMergeTargetsView(APIView):
    @extend_schema(
        operation_id="outputs_merge_targets",
        summary="提案可并入的提案（按标题或编号查找）",
        description=_("并案（merge）流转的 into 可选项：本组织审查中、已立案或办理中的其他提案。"),
        parameters=[QUERY],
        responses=MergeProposalOut(many=True),
    )
    def get(self, request: Request, output_id: int) -> Response:
        query = _query(request)
        output = selectors.output_detail(_user(request), output_id)
        rows = selectors.merge_proposals(_user(request), output, query)
        return Response(MergeProposalOut(rows, many=True).data)


# A department's desk ----------------------------------------------------------------------------


class OutputBriefOut(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    number = serializers.CharField()
    status = serializers.CharField()
    status_display = serializers.CharField(source="get_status_display")


class AssignmentListOut(serializers.Serializer):
    id = serializers.IntegerField()
    output = OutputBriefOut()
    department = s.RefOut()
    role = serializers.CharField()
    role_display = serializers.CharField(source="get_role_display")
    round = serializers.IntegerField()
    status = serializers.CharField()
    status_display = serializers.CharField(source="get_status_display")
    assigned_at = serializers.DateTimeField()
    due_at = serializers.DateTimeField(allow_null=True, help_text=_("答复期限"))
    objection_until = serializers.DateTimeField(allow_null=True, help_text=_("异议期截止"))
    extension_state = serializers.CharField(help_text=_("延期申请：空串为未申请，requested / approved / refused"))
    extension_state_display = serializers.CharField(source="get_extension_state_display")
    extension_until = serializers.DateField(allow_null=True)
    overdue = serializers.BooleanField(source="is_overdue", help_text=_("待签收或办理中，已过答复期限"))


def _flag(request: Request, name: str) -> bool:
    raw = request.query_params.get(name)
    if raw in (None, "", "0"):
        return False
    if raw == "1":
        return True
    raise InvalidInput(_("%(f)s 取值应为 1 或 0。") % {"f": name}, code=f"invalid_{name}", details={"field": name})


class AssignmentListView(APIView):
    @extend_schema(
        operation_id="assignments_list",
        summary="交办（承办单位的待办）",
        description=_(
            "承办单位联络员看到本单位的交办，提案委员会看到本组织的全部交办；其他人为空。"
            "待签收和办理中的在前，各按答复期限先后。overdue=1 只看已过答复期限、尚未答复的。"
        ),
        parameters=[
            OpenApiParameter("status", OpenApiTypes.STR, enum=AssignmentStatus.values, description=_("按状态筛选")),
            OpenApiParameter("overdue", OpenApiTypes.STR, enum=["0", "1"], description=_("1：只看已超期的")),
            CURSOR,
            LIMIT,
        ],
        responses=_page("AssignmentPage", AssignmentListOut(many=True)),
    )
    def get(self, request: Request) -> Response:
        limit = page_limit(request)
        cursor = decode_cursor(request, int, datetime, int)
        if cursor is not None and cursor[0] not in (0, 1):
            raise InvalidInput(_("翻页参数无效。"), code="invalid_cursor", details={"field": "cursor"})
        rows = selectors.assignment_list(
            _user(request),
            status=_choice(request, "status", AssignmentStatus.values, "invalid_status"),
            overdue=_flag(request, "overdue"),
            after=cursor,  # type: ignore[arg-type]
            limit=limit,
        )
        return Response(
            {
                "results": AssignmentListOut(rows, many=True).data,
                "next": next_link(request, rows, limit, lambda a: [a.closed, a.due_key, a.pk]),
            }
        )


# The user's signatures --------------------------------------------------------------------------


class MySignatureOut(serializers.Serializer):
    id = serializers.IntegerField()
    output = OutputBriefOut()
    role = serializers.CharField()
    role_display = serializers.CharField(source="get_role_display")
    confirmed_at = serializers.DateTimeField(allow_null=True)
    waiting = serializers.ListField(
        child=serializers.CharField(),
        source="waiting_rows",
        help_text=_("等待本人做的流转：草稿中待确认署名（confirm），已答复待评价（rate）"),
    )
    available_transitions = s.TransitionOut(
        many=True, source="transition_rows", help_text=_("POST /api/v1/signatures/{id}/transitions/{name}/")
    )


class MySignaturesView(APIView):
    @extend_schema(
        operation_id="signatures_mine",
        summary="我的署名（及等待我确认或评价的）",
        description=_("最新的在前。"),
        parameters=[CURSOR, LIMIT],
        responses=_page("SignaturePage", MySignatureOut(many=True)),
    )
    def get(self, request: Request) -> Response:
        user = _user(request)
        limit = page_limit(request)
        cursor = decode_cursor(request, int)
        rows = selectors.my_signatures(user, before_id=cursor[0] if cursor else None, limit=limit)
        for row in rows:
            doable = output_actions.available(user, row, "signature")
            row.transition_rows = [t.describe() for t in doable]  # type: ignore[attr-defined]
            row.waiting_rows = [t.name for t in doable]  # type: ignore[attr-defined]
        return Response(
            {"results": MySignatureOut(rows, many=True).data, "next": next_link(request, rows, limit, lambda r: [r.pk])}
        )


# Reference data the output transitions choose from ------------------------------------------------

DepartmentsView = _options("承办单位", s.OptionOut, selectors.departments)
OutputReasonsView = _options("不立案理由（启用中的）", s.OptionOut, selectors.output_reasons)
SectorsView = _options("界别", s.OptionOut, selectors.sectors)
MembersView = _options("本组织委员（署名人可选项，只含编号和姓名）", s.UserRefOut, selectors.members)
LeadersView = _options("督办领导（主席会议成员）", s.UserRefOut, selectors.leaders)


# Files ----------------------------------------------------------------------------------------------


class SafeMultiPartParser(MultiPartParser):
    """Multipart, with a charset that is a text encoding (as the JSON parser asks)."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: dict | None = None) -> Any:
        text_encoding(media_type, parser_context)
        return super().parse(stream, media_type, parser_context)


class AssignmentFilesView(APIView):
    idempotent = True
    parser_classes = [SafeMultiPartParser]

    @extend_schema(
        operation_id="assignments_attach_file",
        summary="为交办上传答复附件",
        description=_(
            "承办单位联络员在答复前为本单位的交办上传附件（正式答复函等），multipart 字段 file。"
            "文件不能超过上限，只收 pdf、ofd、doc、docx、wps、xls、xlsx、jpg、jpeg、png。答复为成果详情。"
        ),
        request={"multipart/form-data": inline_serializer("AttachFileIn", {"file": serializers.FileField()})},
        parameters=[IDEMPOTENCY_KEY],
        responses={200: s.OutputDetailOut},
    )
    def post(self, request: Request, assignment_id: int) -> Response:
        user = _user(request)
        return respond(
            request,
            lambda first, then: output_actions.attach_file(
                assignment_id=assignment_id,
                actor=user,
                upload=request.FILES.get("file"),
                source_ip=client_ip(request),
                first=first,
                then=then,
            ),
            # `then` is handed the output, the call's own answer is the file: either way, its output.
            lambda done: conditional.answer(
                *output_read(user, done.output_id if isinstance(done, OutputFile) else done.pk)
            ),
        )


class AnyAccept(DefaultContentNegotiation):
    """A download answers its bytes whatever the client accepts; errors still answer JSON."""

    def select_renderer(self, request: Request, renderers: list, format_suffix: str | None = None) -> tuple:
        return renderers[0], renderers[0].media_type


def content_disposition(name: str) -> str:
    """An attachment's Content-Disposition: an ASCII fallback name and the real one as
    RFC 5987 `filename*`, so no quote, semicolon or line break of a name reaches the header."""
    base, ext = os.path.splitext(name)
    fallback = "".join(c if c.isascii() and (c.isalnum() or c in "-_.") else "_" for c in base)[:100] or "file"
    fallback += "".join(c for c in ext if c.isascii() and (c.isalnum() or c == "."))
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


class FileDownloadView(APIView):
    content_negotiation_class = AnyAccept

    @extend_schema(
        operation_id="files_download",
        summary="下载附件",
        description=_("只有能看到附件所属成果的用户可以下载；其他人得到 404，与附件不存在相同。"),
        responses={(200, "application/octet-stream"): OpenApiResponse(OpenApiTypes.BINARY, description=_("文件内容"))},
    )
    def get(self, request: Request, file_id: int) -> FileResponse:
        row = selectors.visible_file(_user(request), file_id)
        # Always bytes to save, never something to show: a browser renders none of it inline.
        response = FileResponse(row.file.open("rb"), content_type="application/octet-stream")
        response["Content-Disposition"] = content_disposition(row.name)
        response["X-Content-Type-Options"] = "nosniff"
        response["Cache-Control"] = "no-store"
        return response
