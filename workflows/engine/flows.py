"""The case flow, as viewflow wiring only: one human task per stage, routed by the case's status.

Which stage each status is in is the domain's table (`casework.choices.STAGE_OF_STATUS`); the
router below is built from it, so a status a transition sets always leads to the task of its
stage. Nothing here decides or writes anything of the domain: each task that opens is reported
to the engine (`task_opened`), which hands it to the clocks."""

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

from casework.choices import MEMBER_STAGES, STAGE_OF_STATUS, CaseStatus, Stage

from .locks import select_for_update_lock
from .models import CaseProcess

# The human task of each stage. Node names are stored in the database (viewflow_task.flow_task):
# renaming one needs a data migration.
NODE_OF_STAGE: dict[Stage, str] = {
    Stage.REVIEW: "review",
    Stage.NEEDS_INFO: "provide_info",
    Stage.CONVERSION: "convert",
    Stage.OUTCOME: "await_outcome",
    Stage.FEEDBACK: "feedback",
}
STAGE_OF_NODE: dict[str, Stage] = {node: stage for stage, node in NODE_OF_STAGE.items()}


def task_page(request: HttpRequest, **kwargs: Any) -> HttpResponse:
    """viewflow wants a view per human task; ours are the case page and the API."""
    return redirect("home")


def _member_user(activation: Any) -> Any:
    return activation.process.case.member.user


def _status_is(status: str) -> Any:
    return lambda activation: activation.process.case.status == status


def human(stage: Stage) -> Any:
    """The task of a stage: a member's own stage is assigned to the case's member at once; the
    committee's stages wait unassigned in its queue until someone claims them."""
    node = flow.View(task_page).Annotation(title=stage.label).onCreate(this.task_opened)
    return node.Assign(_member_user) if stage in MEMBER_STAGES else node


def router(then_end: dict[str, Any]) -> Any:
    """After a review decision: the task of the stage the new status is in, or an end."""
    switch = flow.Switch()
    for status, stage in STAGE_OF_STATUS.items():
        if stage != Stage.OUTCOME:  # an outcome is awaited only after conversion
            switch = switch.Case(getattr(this, NODE_OF_STAGE[stage]), _status_is(status))
    for status, end in then_end.items():
        switch = switch.Case(end, _status_is(status))
    return switch


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

    review = human(Stage.REVIEW).Next(this.route)
    route = router({CaseStatus.MERGED: this.merged})
    provide_info = human(Stage.NEEDS_INFO).Next(this.review)
    convert = human(Stage.CONVERSION).Next(this.await_outcome)
    await_outcome = flow.Handle(this.receive_outcome).Annotation(title=Stage.OUTCOME.label).Next(this.feedback)
    feedback = human(Stage.FEEDBACK).Next(this.end)
    end = flow.End()
    merged = flow.End()

    def start_case(self, activation: Any, case: Any) -> Any:
        activation.process.case = case
        return activation.process

    def receive_outcome(self, activation: Any) -> None:
        """The output's outcome arrived; the case's change is the transition's, done already."""

    def task_opened(self, activation: Any) -> None:
        # Handed to the engine through the in-memory case of this transaction: which task the
        # step opened, without reading it back.
        activation.process.case._opened_task = activation.task
