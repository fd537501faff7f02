"""What happens to an output (成果) as far as the cases it gathered are concerned: its outcome is
recorded once and carried back to each of them. The outputs' own lifecycles (proposal, info
report, speech, research report) are declared here as they arrive."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from casework.choices import AuditAction, CaseStatus, OutputStatus
from casework.services import outputs

from .declare import Cascade, Grant, Lifecycle, Move, Party, Transition
from .inputs import Input, Text

OUTPUT = Lifecycle(
    "output",
    [
        Transition(
            name="record_outcome",
            label=_("登记办理结果"),
            done=_("已登记办理结果，并回写到汇集的每个案件。"),
            grants=(Grant(Party.OUTPUT_STAFF, (OutputStatus.DRAFT, OutputStatus.SUBMITTED)),),
            input=Input((Text("outcome", _("办理结果"), max_length=5000, multiline=True),)),
            effect=outputs.record_outcome,
            audit=AuditAction.OUTPUT_OUTCOME_RECORDED,
            move=Move.STAY,
            cascade=Cascade(CaseStatus.OUTCOME, "receive_outcome", lambda output: {"outcome": output.outcome}),
            tone="primary",
            help=_("办理结果将回写到该成果汇集的每个案件，由委员反馈群众。"),
        ),
    ],
)
