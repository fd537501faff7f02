"""The case flow of DOMAIN.md §3. Wiring only: every callback calls one domain service."""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext_lazy as _
from viewflow import this
from viewflow.workflow import flow
from viewflow.workflow.activation import Activation
from viewflow.workflow.nodes.start import StartHandleActivation
from viewflow.workflow.signals import flow_started
from viewflow.workflow.status import STATUS

from casework.choices import CaseStatus, Stage
from casework.services import clocks

from .locks import select_for_update_lock
from .models import CaseProcess


def task_page(request: HttpRequest, **kwargs: Any) -> HttpResponse:
    """viewflow wants a view per human task; ours are driven by the API and the case page."""
    return redirect("home")


def _status_is(status: str) -> Any:
    return lambda activation: activation.process.case.status == status


def _member_user(activation: Any) -> Any:
    return activation.process.case.member.user


def open_stage_clock(activation: Any, stage: Stage, *, in_queue: bool) -> None:
    case = activation.process.case
    clocks.clock_task_opened(
        case=case,
        stage=stage,
        task_id=activation.task.pk,
        queue_id=case.committee_id if in_queue else None,
        assignee=activation.task.owner,
    )


class StartInCallerTransaction(StartHandleActivation):
    """Start a process inside the caller's transaction. The process row is born there, so no
    other transaction can see it yet: viewflow's lock and savepoints would guard nothing and
    cost five statements on every intake."""

    @Activation.status.transition(source=STATUS.NEW)
    def execute(self) -> None:
        assert connection.in_atomic_block, "start a case process inside the intake transaction"
        self.process.save()
        self.complete()
        flow_started.send(sender=self.flow_class, process=self.process, task=self.task)
        self.activate_next()


class CaseStart(flow.StartHandle):
    activation_class = StartInCallerTransaction


class CaseFlow(flow.Flow):
    process_class = CaseProcess
    lock_impl = select_for_update_lock
    process_title = _("民情案件")

    start = CaseStart(this.start_case).Next(this.review)

    review = flow.View(task_page).Annotation(title=_("委办审核")).onCreate(this.review_opened).Next(this.route)
    route = (
        flow.Switch()
        .Case(this.provide_info, _status_is(CaseStatus.NEEDS_INFO))
        .Case(this.convert, _status_is(CaseStatus.CONVERSION))
        .Case(this.merged, _status_is(CaseStatus.MERGED))
        .Default(this.feedback)
    )
    provide_info = (
        flow.View(task_page)
        .Annotation(title=_("补充材料"))
        .Assign(_member_user)
        .onCreate(this.provide_info_opened)
        .Next(this.review)
    )
    convert = (
        flow.View(task_page).Annotation(title=_("成果转化")).onCreate(this.convert_opened).Next(this.await_outcome)
    )
    await_outcome = flow.Handle(this.receive_outcome).Annotation(title=_("跟踪办理结果")).Next(this.feedback)
    feedback = (
        flow.View(task_page)
        .Annotation(title=_("反馈群众"))
        .Assign(_member_user)
        .onCreate(this.feedback_opened)
        .Next(this.end)
    )
    end = flow.End()
    merged = flow.End()

    def start_case(self, activation: Any, case: Any) -> Any:
        activation.process.case = case
        return activation.process

    def receive_outcome(self, activation: Any, apply: Any) -> Any:
        return apply(activation)

    # Each human task opens its stage clock when it is created.
    def review_opened(self, activation: Any) -> None:
        open_stage_clock(activation, Stage.REVIEW, in_queue=True)

    def convert_opened(self, activation: Any) -> None:
        open_stage_clock(activation, Stage.CONVERSION, in_queue=True)

    def provide_info_opened(self, activation: Any) -> None:
        open_stage_clock(activation, Stage.NEEDS_INFO, in_queue=False)

    def feedback_opened(self, activation: Any) -> None:
        open_stage_clock(activation, Stage.FEEDBACK, in_queue=False)
