"""Thin HTTP adapters: parse, call one workflow action or selector, render. The transition
endpoints are derived from the declarations (`api/transitions.py`)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import authenticate
from django.http import HttpResponse
from django.utils.timezone import get_current_timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from casework import access, selectors
from casework import otp as totp
from casework.auth import lock_of, locked_message
from casework.choices import SLA_FILTERS, CaseStatus, OutputType, RedirectChannel, Urgency
from casework.errors import InvalidInput, NotFound
from casework.models import Case, User
from casework.pii import mask_phone
from config.http import attachment, client_ip
from workflows import accounts, actions, output_actions, personal_data
from workflows.case_lifecycle import CASE, Intake
from workflows.inputs import MAX_ID, SEARCH, FieldError, clean_search

from . import conditional
from . import serializers as s
from .auth import OtpEnrolmentRequired, OtpInvalid, OtpRequired, PasswordChangeRequired
from .idempotency import PARAMETER as IDEMPOTENCY_KEY
from .idempotency import respond
from .pagination import MAX_CURSOR_LENGTH, MAX_LIMIT, decode_cursor, next_link, page_limit
from .parsers import SafeFormParser, SafeJSONParser

CURSOR = OpenApiParameter(
    "cursor",
    {"type": "string", "maxLength": MAX_CURSOR_LENGTH},
    description=_("上一页答复中 next 链接带的翻页参数"),
)
LIMIT = OpenApiParameter(
    "limit", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": 50}, description=_("每页条数")
)


def _user(request: Request) -> User:
    return request.user  # type: ignore[return-value]


def case_read(user: User, case_id: int, *, acted: Case | None = None) -> tuple[dict[str, Any], str]:
    """The case detail as `user` sees it, and its ETag: the case, its clocks, the task it waits on
    and the transitions the user may do now. `acted`: the case `user` has just changed, answered
    even if the change took it out of their sight (a transfer to another committee)."""
    try:
        case = selectors.case_detail(user, case_id)
    except NotFound:
        if acted is None:
            raise
        case = selectors.case_detail(None, case_id)
    task = actions.open_task(case)
    show_names = access.may_see_contact_names(user, case)
    case.task_row = task  # type: ignore[attr-defined]
    case.clock_rows = selectors.case_clocks(case)  # type: ignore[attr-defined]
    case.open_clock = selectors.open_clock(case.clock_rows)  # type: ignore[attr-defined]
    case.contact_rows = [  # type: ignore[attr-defined]
        {"id": c.pk, "name": c.name if show_names else None, "phone": mask_phone(c.phone) if show_names else None}
        for c in case.contacts.all()
    ]
    case.transition_rows = [t.describe() for t in actions.available(user, case, task)]  # type: ignore[attr-defined]
    body = dict(s.CaseOut(case).data)
    return body, conditional.etag(body, case.audit_seq)


IntakeIn = s.request_serializer("CaseFileIn", Intake.input)


def _at(moment: Any, zone: Any) -> str | None:
    return moment.astimezone(zone).isoformat() if moment is not None else None


# The two hot answers are built as plain dicts, in the shape of their serializers (a test holds
# them to it): a member filing from a phone and a staff member clearing a queue wait on them, and
# the serializer cost a tenth of the request.
def created_body(case: Case) -> dict[str, Any]:
    """`CaseCreatedOut`, from the row just written."""
    zone = get_current_timezone()
    return {
        "id": case.pk,
        "title": case.title,
        "status": case.status,
        "status_display": case.get_status_display(),
        "urgency": case.urgency,
        "category": case.category_id,
        "township": case.township_id,
        "committee": case.committee_id,
        "created_at": _at(case.created_at, zone),
        "submitted_at": _at(case.submitted_at, zone),
    }


def claimed_body(clock: Any) -> dict[str, Any]:
    """`ClaimOut`, from the rows the claim holds: the full case detail costs as much again."""
    case = clock.case
    return {
        "task": clock.task_id,
        "stage": clock.stage,
        "due_at": _at(clock.due_at, get_current_timezone()),
        "owner": clock.assignee_id,
        "case": {"id": case.pk, "title": case.title, "status": case.status, "urgency": case.urgency},
    }


SLA = OpenApiParameter(
    "sla",
    OpenApiTypes.STR,
    enum=list(SLA_FILTERS),
    description=_("只看时限即将超期（warning）或已超期（breached）的"),
)


def _sla_param(request: Request) -> str | None:
    value = request.query_params.get("sla") or None
    if value is not None and value not in SLA_FILTERS:
        raise InvalidInput(_("sla 取值无效，应为 warning 或 breached。"), code="invalid_sla", details={"field": "sla"})
    return value


class CaseListView(APIView):
    idempotent = True  # its POST takes an Idempotency-Key

    @extend_schema(
        operation_id="cases_list",
        summary="我能看到的案件",
        parameters=[
            OpenApiParameter("status", OpenApiTypes.STR, enum=CaseStatus.values, description=_("按状态筛选")),
            SLA,
            CURSOR,
            LIMIT,
        ],
        responses=inline_serializer(
            "CasePage", {"results": s.CaseListOut(many=True), "next": serializers.CharField(allow_null=True)}
        ),
    )
    def get(self, request: Request) -> Response:
        limit = page_limit(request)
        cursor = decode_cursor(request, int)
        status_filter = request.query_params.get("status") or None
        if status_filter is not None and status_filter not in CaseStatus.values:
            raise InvalidInput(_("状态取值无效。"), code="invalid_status", details={"field": "status"})
        rows = selectors.case_list(
            _user(request),
            status=status_filter,
            sla=_sla_param(request),
            before_id=cursor[0] if cursor else None,
            limit=limit,
        )
        return Response(
            {
                "results": s.CaseListOut(rows, many=True).data,
                "next": next_link(request, rows, limit, lambda c: [c.pk]),
            }
        )

    @extend_schema(
        operation_id="cases_file",
        summary="反映民情（新建案件）",
        description=_("submit 为 false 时保存为草稿，之后用 submit 流转提交。"),
        request=IntakeIn,
        parameters=[IDEMPOTENCY_KEY],
        responses={201: s.CaseCreatedOut},
    )
    def post(self, request: Request) -> Response:
        return respond(
            request,
            lambda first, then: actions.file_case(
                actor=_user(request), data=request.data, source_ip=client_ip(request), first=first, then=then
            ),
            lambda case: (status.HTTP_201_CREATED, created_body(case), {}),
        )


class CaseDetailView(APIView):
    idempotent = True  # its PATCH takes an Idempotency-Key
    etagged = True  # answers carry an ETag; GET takes If-None-Match, PATCH If-Match

    @extend_schema(
        operation_id="cases_detail",
        summary="案件详情（含当前可执行的流转）",
        parameters=[conditional.IF_NONE_MATCH],
        responses=s.CaseOut,
    )
    def get(self, request: Request, case_id: int) -> Response:
        return conditional.read(request, *case_read(_user(request), case_id))

    @extend_schema(
        operation_id="cases_update",
        summary="修改案件",
        description=_("与 edit 流转相同：委员在草稿和补充材料时修改，委办在审核和转化时修改。"),
        request=s.request_serializer("CaseEditIn", CASE["edit"].input),
        parameters=[IDEMPOTENCY_KEY, conditional.IF_MATCH],
        responses=s.CaseOut,
    )
    def patch(self, request: Request, case_id: int) -> Response:
        return act_on_case(request, "edit", case_id)


def act_on_case(request: Request, name: str, case_id: int) -> Response:
    """Do a case transition over HTTP: once per Idempotency-Key, only if If-Match still holds;
    the answer is the case detail with its ETag."""
    user = _user(request)
    check = conditional.precondition(request, lambda case: case_read(user, case.pk)[1])
    return respond(
        request,
        lambda first, then: actions.perform(
            name,
            case_id=case_id,
            actor=user,
            data=request.data,
            source_ip=client_ip(request),
            check=check,
            first=first,
            then=then,
        ),
        lambda case: conditional.answer(*case_read(user, case_id, acted=case)),
    )


class CaseEventsView(APIView):
    @extend_schema(
        operation_id="cases_events",
        summary="案件审计时间线",
        parameters=[CURSOR, LIMIT],
        responses=inline_serializer(
            "EventPage", {"results": s.EventOut(many=True), "next": serializers.CharField(allow_null=True)}
        ),
    )
    def get(self, request: Request, case_id: int) -> Response:
        limit = page_limit(request, default=100)
        cursor = decode_cursor(request, int)
        rows = selectors.case_events(_user(request), case_id, after_seq=cursor[0] if cursor else 0, limit=limit)
        return Response(
            {"results": s.EventOut(rows, many=True).data, "next": next_link(request, rows, limit, lambda e: [e.seq])}
        )


# Reference data ---------------------------------------------------------------------------------


def _options(summary: str, serializer: type[serializers.Serializer], read: Any, description: str = "") -> type[APIView]:
    class OptionsView(APIView):
        @extend_schema(summary=summary, description=description, responses=serializer(many=True))
        def get(self, request: Request) -> Response:
            return Response(serializer(read(_user(request)), many=True).data)

    return OptionsView


CategoriesView = _options("案件类别", s.CategoryOut, selectors.categories)
TownshipsView = _options("乡镇街道", s.OptionOut, selectors.townships)
CommitteesView = _options("本会专门委员会（受理委办）", s.CommitteeOut, selectors.committees)
RejectReasonsView = _options("不予受理理由（启用中的）", s.OptionOut, selectors.reject_reasons)
ContactsView = _options(
    "我联系的界别群众",
    s.RosterContactOut,
    selectors.my_contacts,
    description=_(
        "委员本人的联系名单；其他角色为空。电话、身份证号和住址均已脱敏，完整信息须经 reveal 查看（留审计记录）。"
    ),
)


class ContactRevealView(APIView):
    @extend_schema(
        operation_id="contacts_reveal",
        summary="查看界别群众的完整个人信息（留审计记录）",
        description=_(
            "答复该群众的电话、身份证号和住址明文，每次查看都写入审计记录。只有联系该群众的委员本人和"
            "其所在界别的召集人可以查看；其他人得到 404，与群众不存在相同。"
        ),
        request=None,
        responses=s.ContactRevealOut,
    )
    def post(self, request: Request, contact_id: int) -> Response:
        revealed = personal_data.reveal_contact(_user(request), contact_id, source_ip=client_ip(request))
        return Response(s.ContactRevealOut(revealed).data)


class RedirectChannelsView(APIView):
    @extend_schema(summary="转办渠道", responses=s.ChoiceOut(many=True))
    def get(self, request: Request) -> Response:
        return Response([{"value": v, "label": str(label)} for v, label in RedirectChannel.choices])


class OutputTypesView(APIView):
    @extend_schema(summary="成果类型", responses=s.ChoiceOut(many=True))
    def get(self, request: Request) -> Response:
        return Response([{"value": v, "label": str(label)} for v, label in OutputType.choices])


class JoinableOutputsView(APIView):
    @extend_schema(
        summary="案件可并入的草稿成果",
        parameters=[OpenApiParameter("output_type", OpenApiTypes.STR, enum=OutputType.values)],
        responses=s.OutputOut(many=True),
    )
    def get(self, request: Request, case_id: int) -> Response:
        output_type = request.query_params.get("output_type") or None
        if output_type is not None and output_type not in OutputType.values:
            raise InvalidInput(_("成果类型无效。"), code="invalid_output_type", details={"field": "output_type"})
        case = selectors.case_detail(_user(request), case_id)
        rows = selectors.joinable_outputs(_user(request), case, output_type).select_related("committee")[:MAX_LIMIT]
        return Response(s.OutputOut(rows, many=True).data)


class MergeTargetsView(APIView):
    @extend_schema(
        summary="案件可合并到的案件（按标题或编号查找）",
        parameters=[
            OpenApiParameter(
                "q",
                {"type": "string", "maxLength": SEARCH.max_length, "pattern": SEARCH.pattern()},
                description=_("标题关键字或案件编号"),
            )
        ],
        responses=s.MergeTargetOut(many=True),
    )
    def get(self, request: Request, case_id: int) -> Response:
        query = request.query_params.get("q", "")
        try:
            query = clean_search(query)
        except FieldError as error:
            raise InvalidInput(error.message, code="invalid_query", details={"field": "q"}) from None
        case = selectors.case_detail(_user(request), case_id)
        return Response(s.MergeTargetOut(selectors.merge_targets(_user(request), case, query), many=True).data)


# Queues -----------------------------------------------------------------------------------------


class QueueListView(APIView):
    @extend_schema(summary="我的工作队列", responses=s.QueueOut(many=True))
    def get(self, request: Request) -> Response:
        return Response(s.QueueOut(selectors.queues_for(_user(request)), many=True).data)


QUEUE_FILTERS = [
    OpenApiParameter("stage", OpenApiTypes.STR, enum=list(selectors.QUEUE_STAGES), description=_("按环节筛选")),
    OpenApiParameter(
        "category", {"type": "integer", "minimum": 1, "maximum": MAX_ID}, description=_("按类别筛选（类别编号）")
    ),
    OpenApiParameter(
        "township", {"type": "integer", "minimum": 1, "maximum": MAX_ID}, description=_("按乡镇街道筛选（编号）")
    ),
    OpenApiParameter("urgency", OpenApiTypes.STR, enum=Urgency.values, description=_("按紧急程度筛选")),
    OpenApiParameter(
        "claimed",
        {"type": "string", "maxLength": 19, "pattern": "^(none|mine|anyone|[1-9][0-9]{0,18})$"},
        description=_("认领情况：none 待认领（默认）、mine 我已认领、anyone 全部，或本委办工作人员的用户编号"),
    ),
    OpenApiParameter(
        "q",
        {"type": "string", "maxLength": SEARCH.max_length, "pattern": SEARCH.pattern()},
        description=_("在标题和问题描述中查找"),
    ),
]


class QueueTasksView(APIView):
    @extend_schema(
        summary="队列中的任务（按到期时间；默认只含待认领的）",
        parameters=[SLA, *QUEUE_FILTERS, CURSOR, LIMIT],
        responses=inline_serializer(
            "QueuePage", {"results": s.QueueItemOut(many=True), "next": serializers.CharField(allow_null=True)}
        ),
    )
    def get(self, request: Request, committee_id: int) -> Response:
        from datetime import datetime

        user = _user(request)
        limit = page_limit(request)
        cursor = decode_cursor(request, datetime, int)
        try:
            query = clean_search(request.query_params.get("q", ""))
        except FieldError as error:
            raise InvalidInput(error.message, code="invalid_query", details={"field": "q"}) from None
        filters = selectors.queue_filters(user, committee_id, request.query_params, q=query, strict=True)
        rows = selectors.queue_page(user, committee_id, after=cursor, limit=limit, filters=filters)  # type: ignore[arg-type]
        return Response(
            {
                "results": rows,  # already shaped as QueueItemOut by the selector
                "next": next_link(request, rows, limit, lambda item: [item["due_at"], item["clock"]]),
            }
        )


class QueueClaimNextView(APIView):
    idempotent = True

    @extend_schema(
        summary="认领下一个最紧急的任务",
        description=_("答复所认领任务的简要信息；详情见 GET /api/v1/cases/{id}/。队列为空时答复 204。"),
        request=None,
        parameters=[IDEMPOTENCY_KEY],
        responses={200: s.ClaimOut, 204: None},
    )
    def post(self, request: Request, committee_id: int) -> Response:
        return respond(
            request,
            lambda first, then: actions.claim_next(
                committee_id=committee_id, actor=_user(request), source_ip=client_ip(request), first=first, then=then
            ),
            lambda claimed: (
                (status.HTTP_204_NO_CONTENT, None, {})
                if claimed is None
                else (status.HTTP_200_OK, claimed_body(claimed), {})
            ),
        )


class MyTasksView(APIView):
    @extend_schema(summary="我已认领的任务", responses=s.QueueItemOut(many=True))
    def get(self, request: Request) -> Response:
        return Response(s.QueueItemOut(selectors.my_tasks(_user(request)), many=True).data)


# Outputs ----------------------------------------------------------------------------------------


def output_read(user: User, output_id: int) -> tuple[dict[str, Any], str]:
    """An output as `user` sees it, with its signatures, assignments and the cases it gathered,
    each with what the user may do to it now, and its ETag."""
    output = selectors.output_detail(user, output_id)
    output.case_rows = selectors.output_cases(user, output)  # type: ignore[attr-defined]
    output.transition_rows = [t.describe() for t in output_actions.available(user, output)]  # type: ignore[attr-defined]
    signers = list(output.signers.select_related("user").prefetch_related("ratings"))
    for signer in signers:
        signer.output = output
        signer.rating_rows = list(signer.ratings.all())  # type: ignore[attr-defined]
        signer.transition_rows = [t.describe() for t in output_actions.available(user, signer, "signature")]  # type: ignore[attr-defined]
    output.signer_rows = signers  # type: ignore[attr-defined]
    assignments = list(output.assignments.select_related("department").prefetch_related("files"))
    for assignment in assignments:
        assignment.output = output
        assignment.file_rows = list(assignment.files.all())  # type: ignore[attr-defined]
        assignment.transition_rows = [  # type: ignore[attr-defined]
            t.describe() for t in output_actions.available(user, assignment, "assignment")
        ]
    output.assignment_rows = assignments  # type: ignore[attr-defined]
    output.adoption_rows = list(output.adoptions.select_related("organisation"))  # type: ignore[attr-defined]
    output.instruction_rows = list(output.instructions.all())  # type: ignore[attr-defined]
    body = dict(s.OutputDetailOut(output).data)
    return body, conditional.etag(body, output.audit_seq)


class OutputDetailView(APIView):
    etagged = True

    @extend_schema(
        summary="成果详情（含署名、交办和汇集的案件）",
        parameters=[conditional.IF_NONE_MATCH],
        responses=s.OutputDetailOut,
    )
    def get(self, request: Request, output_id: int) -> Response:
        return conditional.read(request, *output_read(_user(request), output_id))


class ReferralListView(APIView):
    @extend_schema(
        operation_id="referrals_list",
        summary="报送本会、待决定是否采用的社情民意信息",
        description=_(
            "下级政协报送至本会的社情民意信息，等待本会工作人员采用（adopt）或不予采用（not_adopt），新报送的在前。"
        ),
        parameters=[CURSOR, LIMIT],
        responses=inline_serializer(
            "ReferralPage", {"results": s.ReferralOut(many=True), "next": serializers.CharField(allow_null=True)}
        ),
    )
    def get(self, request: Request) -> Response:
        limit = page_limit(request)
        cursor = decode_cursor(request, int)
        rows = selectors.referrals(_user(request), before_id=cursor[0] if cursor else None, limit=limit)
        return Response(
            {
                "results": s.ReferralOut(rows, many=True).data,
                "next": next_link(request, rows, limit, lambda o: [o.pk]),
            }
        )


DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


class AnyAccept(DefaultContentNegotiation):
    """The answer is the document whatever the Accept header asks for (a client may name the
    document's type, which no renderer offers); only an error is rendered, as JSON."""

    def select_renderer(self, request: Request, renderers: Any, format_suffix: str | None = None) -> Any:
        try:
            return super().select_renderer(request, renderers, format_suffix)
        except exceptions.NotAcceptable:
            return renderers[0], renderers[0].media_type


class OutputDocxView(APIView):
    content_negotiation_class = AnyAccept

    @extend_schema(
        operation_id="outputs_docx",
        summary="导出成果文稿（Word 文档）",
        description=_(
            "成果按党政机关公文格式排版的 Word 文档（A4，方正小标宋简体标题，仿宋_GB2312 正文，页码），"
            "含编号、标题、署名委员、正文和办理情况，不含任何群众的姓名或个人信息。能查看该成果的人可以导出，"
            "每次导出都写入该成果的审计记录；其他人得到 404，与成果不存在相同。"
        ),
        responses={
            (200, DOCX): OpenApiResponse(
                response=OpenApiTypes.BINARY,
                description=_("Word 文档，作为附件下载（Content-Disposition 含 RFC 5987 的 filename*）"),
            )
        },
    )
    def get(self, request: Request, output_id: int) -> HttpResponse:
        name, content = output_actions.export_docx(
            output_id=output_id, actor=_user(request), source_ip=client_ip(request)
        )
        return attachment(content, name, DOCX)


def act_on_output(request: Request, name: str, output_id: int, kind: str = "output") -> Response:
    """Do a transition of an output lifecycle over HTTP (`kind`: the output itself, one of its
    assignments or one of its signatures), as `act_on_case` does a case's; the answer is the
    output."""
    user = _user(request)
    check = conditional.precondition(request, lambda output: output_read(user, output.pk)[1])

    def run(first: Any, then: Any) -> Any:
        return output_actions.perform(
            kind,
            name,
            record_id=output_id,
            actor=user,
            data=request.data,
            source_ip=client_ip(request),
            check=check,
            first=first,
            then=then,
        )

    return respond(request, run, lambda output: conditional.answer(*output_read(user, output.pk)))


# Sign-in ----------------------------------------------------------------------------------------


class AccountLocked(exceptions.APIException):
    status_code = status.HTTP_403_FORBIDDEN
    default_code = "account_locked"


class SignInSerializer(serializers.Serializer):
    """A username and password, checked by Django's sign-in (where the lock-out is, shared with
    the pages); a locked account or address is said so, not "wrong password"."""

    username = serializers.CharField(max_length=150, trim_whitespace=False)
    password = serializers.CharField(max_length=128, trim_whitespace=False, style={"input_type": "password"})
    otp = serializers.CharField(
        max_length=8,
        required=False,
        help_text=(
            "动态验证码（6 位数字）：委办工作人员、承办单位联络员、主席会议成员、三类管理员必填，已启用的委员也须填写"
        ),
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        request = self.context["request"]
        user = authenticate(request=request, username=attrs["username"], password=attrs["password"])
        if user is None:
            lock = lock_of(request)
            if lock is not None:
                request.minqing_retry_after = lock.seconds_left
                raise AccountLocked(locked_message(lock.seconds_left))
            raise serializers.ValidationError(_("用户名或密码不正确。"), code="authorization")
        if totp.asks_otp(user):
            device = totp.confirmed_device(user)
            if device is None:
                raise OtpEnrolmentRequired()
            if not attrs.get("otp"):
                raise OtpRequired()
            if not totp.check(device, attrs["otp"]):
                raise OtpInvalid()
        if user.must_change_password:
            raise PasswordChangeRequired()
        attrs["user"] = user
        return attrs


class TokenView(APIView):
    """A token for a username and password; throttled per address (scope "token"), and refused
    with 403 `account_locked` (and Retry-After) while the account or the address is locked.
    Each token issued replaces the user's last one (rotation), is audited, expires after
    MINQING_API_TOKEN_HOURS, and its key is in this answer only: it is stored as a digest."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "token"
    public = True
    parser_classes = [SafeJSONParser, SafeFormParser]

    @extend_schema(
        operation_id="auth_token",
        summary="用用户名和密码换取访问令牌",
        description=(
            "签发新令牌，同时吊销该用户之前的令牌。令牌在 expires_at 过期（默认签发后 8 小时），"
            "网页退出登录或修改密码时吊销。令牌只在此答复中出现一次。"
            "账号或来源地址因多次登录失败被锁定时答复 403，错误代码 account_locked，并带 Retry-After；"
            "密码由管理员设置、尚未修改时答复 403，错误代码 password_change_required（请先在网页上修改密码）。"
            "须使用动态验证码的角色（委办工作人员、承办单位联络员、主席会议成员、三类管理员）及已启用的用户"
            "须在 otp 中提供验证器上的 6 位验证码：缺少时 403 otp_required，不正确时 403 otp_invalid，"
            "尚未在网页上启用时 403 otp_enrolment_required。"
        ),
        request=SignInSerializer,
        responses={
            200: inline_serializer(
                "TokenOut", {"token": serializers.CharField(), "expires_at": serializers.DateTimeField()}
            )
        },
        auth=[],
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = SignInSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        key, expires_at = accounts.issue_api_token(serializer.validated_data["user"], source_ip=client_ip(request))
        return Response({"token": key, "expires_at": expires_at})

    def handle_exception(self, exc: Exception) -> Response:
        response = super().handle_exception(exc)
        if isinstance(exc, AccountLocked):
            response["Retry-After"] = str(getattr(self.request, "minqing_retry_after", 60))
        return response
