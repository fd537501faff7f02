"""Forms of the pages. They parse and offer choices; the rules live in the domain, which the
views reach through workflows.actions. A DomainError the action raises comes back onto the form
with `add_domain_error`."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from casework.choices import FeedbackMethod, RedirectChannel, Satisfaction, Urgency
from casework.errors import DomainError
from casework.models import Case, CaseCategory, Contact, Member, RejectReason, Township


def add_domain_error(form: forms.Form, error: DomainError) -> None:
    """Show the domain's message on the field it names, or above the form."""
    field = error.details.get("field")
    form.add_error(field if field in form.fields else None, str(error.message))


class CaseFileForm(forms.Form):
    """A member files a concern (反映民情). Choices are limited to the member's organisation and roster."""

    title = forms.CharField(label=_("标题"), max_length=120, widget=forms.TextInput(attrs={"autocomplete": "off"}))
    description = forms.CharField(label=_("问题描述"), max_length=5000, widget=forms.Textarea(attrs={"rows": 6}))
    category = forms.ModelChoiceField(
        label=_("类别"), queryset=CaseCategory.objects.none(), empty_label=_("请选择类别")
    )
    township = forms.ModelChoiceField(
        label=_("乡镇街道"), queryset=Township.objects.none(), required=False, empty_label=_("未指定")
    )
    urgency = forms.ChoiceField(label=_("紧急程度"), choices=Urgency.choices, initial=Urgency.NORMAL)
    contacts = forms.ModelMultipleChoiceField(
        label=_("反映群众"),
        queryset=Contact.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("只列出您联系名单中的界别群众。"),
    )
    consent_to_share = forms.BooleanField(
        label=_("群众同意提供姓名"),
        required=False,
        help_text=_("勾选表示反映群众同意其姓名随案件转给办理单位；未勾选时只转问题本身。"),
    )

    def __init__(self, *args: Any, member: Member, **kwargs: Any) -> None:
        super().__init__(*args, label_suffix="", **kwargs)
        org_id = member.organisation_id
        self.fields["category"].queryset = CaseCategory.objects.filter(organisation_id=org_id).order_by("id")  # type: ignore[attr-defined]
        self.fields["township"].queryset = Township.objects.filter(organisation_id=org_id).order_by("id")  # type: ignore[attr-defined]
        self.fields["contacts"].queryset = (  # type: ignore[attr-defined]
            Contact.objects.filter(roster__member=member).order_by("id")
        )

    def action_kwargs(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "title": data["title"],
            "description": data["description"],
            "category_id": data["category"].pk,
            "township_id": data["township"].pk if data["township"] else None,
            "urgency": data["urgency"],
            "contact_ids": [c.pk for c in data["contacts"]],
            "consent_to_share": data["consent_to_share"],
        }


# Transitions on the case page --------------------------------------------------------------------


class TransitionForm(forms.Form):
    """A transition's input. `action_kwargs` are the keywords its workflow action takes."""

    def __init__(self, *args: Any, case: Case, **kwargs: Any) -> None:
        super().__init__(*args, label_suffix="", **kwargs)
        self.case = case

    def action_kwargs(self) -> dict[str, Any]:
        return dict(self.cleaned_data)


class EmptyForm(TransitionForm):
    """Claim and release take nothing but the button."""


class AcceptForm(TransitionForm):
    note = forms.CharField(
        label=_("审核意见"), required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 2})
    )


class RequestInfoForm(TransitionForm):
    question = forms.CharField(label=_("需补充的内容"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))


class RejectForm(TransitionForm):
    reason = forms.ModelChoiceField(
        label=_("不予受理理由"), queryset=RejectReason.objects.none(), empty_label=_("请选择理由")
    )
    note = forms.CharField(label=_("说明"), required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, case: Case, **kwargs: Any) -> None:
        super().__init__(*args, case=case, **kwargs)
        self.fields["reason"].queryset = RejectReason.objects.filter(  # type: ignore[attr-defined]
            organisation_id=case.organisation_id, is_active=True
        ).order_by("id")

    def action_kwargs(self) -> dict[str, Any]:
        return {"reason_id": self.cleaned_data["reason"].pk, "note": self.cleaned_data["note"]}


class RedirectForm(TransitionForm):
    channel = forms.ChoiceField(label=_("转办渠道"), choices=RedirectChannel.choices)
    note = forms.CharField(label=_("说明"), required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 2}))


class ResolveForm(TransitionForm):
    note = forms.CharField(label=_("解决情况"), max_length=5000, widget=forms.Textarea(attrs={"rows": 2}))


class AnswerInfoForm(TransitionForm):
    answer = forms.CharField(label=_("补充的材料"), max_length=5000, widget=forms.Textarea(attrs={"rows": 4}))


class FeedbackForm(TransitionForm):
    method = forms.ChoiceField(label=_("反馈方式"), choices=FeedbackMethod.choices)
    satisfaction = forms.ChoiceField(label=_("群众满意度"), choices=Satisfaction.choices, widget=forms.RadioSelect)
    note = forms.CharField(
        label=_("反馈情况"), required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 3})
    )
