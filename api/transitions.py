"""One endpoint per declared transition, derived from its declaration: the path, the request
schema (so OpenAPI tells a client that `reject` needs a reason), the summary and the answer.
Nothing here is written per transition."""

from __future__ import annotations

from typing import Any

from django.urls import URLPattern, path
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from workflows.case_lifecycle import CASE
from workflows.declare import Transition
from workflows.output_lifecycle import ASSIGNMENT, SIGNATURE, every_output_transition

from . import conditional
from . import serializers as s
from .idempotency import PARAMETER as IDEMPOTENCY_KEY
from .views import act_on_case, act_on_output


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


def _schema(t: Transition, kind: str, answer: Any) -> Any:
    body = s.request_serializer(f"{_camel(kind)}{_camel(t.name)}In", t.input) if t.input.fields else None
    return extend_schema(
        operation_id=f"{kind}s_{t.name}",
        summary=str(t.label),
        description=str(t.help or ""),
        request=body,
        parameters=[IDEMPOTENCY_KEY, conditional.IF_MATCH],
        responses={200: answer},
        tags=[f"{kind} transitions"],
    )


def case_view(t: Transition) -> type[APIView]:
    class CaseTransitionView(APIView):
        idempotent = True
        etagged = True

        @_schema(t, "case", s.CaseOut)
        def post(self, request: Request, case_id: int) -> Response:
            return act_on_case(request, t.name, case_id)

    CaseTransitionView.__name__ = f"Case{_camel(t.name)}View"
    return CaseTransitionView


def output_view(t: Transition, kind: str = "output") -> type[APIView]:
    class OutputTransitionView(APIView):
        idempotent = True
        etagged = True

        @_schema(t, kind, s.OutputDetailOut)
        def post(self, request: Request, record_id: int) -> Response:
            return act_on_output(request, t.name, record_id, kind)

    OutputTransitionView.__name__ = f"{_camel(kind)}{_camel(t.name)}View"
    return OutputTransitionView


# The records of the output lifecycles, and where their transitions are: /<path>/<id>/transitions/<name>/.
OUTPUT_RECORDS = (
    ("output", "outputs", every_output_transition),
    ("assignment", "assignments", ASSIGNMENT.public),
    ("signature", "signatures", SIGNATURE.public),
)


def urlpatterns() -> list[URLPattern]:
    return [
        *(
            path(f"cases/<id:case_id>/transitions/{t.name}/", case_view(t).as_view(), name=f"case-{t.name}")
            for t in CASE.public()
        ),
        *(
            path(
                f"{prefix}/<id:record_id>/transitions/{t.name}/",
                output_view(t, kind).as_view(),
                name=f"{kind}-{t.name}",
            )
            for kind, prefix, transitions in OUTPUT_RECORDS
            for t in transitions()
        ),
    ]
