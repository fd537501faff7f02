"""The pages' forms, derived from the declared inputs: a field's label, whether it is required,
its limits and its choices come from the declaration, so the page offers what the check
(`workflows.inputs.Input.clean`) accepts. The forms render and carry what the user typed; the
check itself is the workflow layer's, and its errors come back onto the form's fields."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.forms.utils import ErrorDict
from django.http import QueryDict
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from casework import selectors
from casework.errors import DomainError
from casework.models import Case, User
from workflows.inputs import Choice, Count, Day, Field, Flag, Input, Ref, Refs, Text

# Where each declared `options` list comes from: the same selectors the API's reference data
# endpoints answer with. (user, case, query) → [(id, label)]
Options = Callable[[User, Any, str], list[tuple[int, str]]]


def _named(rows: Any) -> list[tuple[int, str]]:
    return [(row.pk, str(row)) for row in rows]


OPTIONS: dict[str, Options] = {
    "categories": lambda user, case, q: _named(selectors.categories(user)),
    "townships": lambda user, case, q: _named(selectors.townships(user)),
    "committees": lambda user, case, q: _named(selectors.committees(user)),
    "contacts": lambda user, case, q: _named(selectors.my_contacts(user)),
    "reject_reasons": lambda user, case, q: _named(selectors.reject_reasons(user)),
    "transfer_committees": lambda user, case, q: _named(selectors.transfer_committees(user, case)) if case else [],
    "team_members": lambda user, case, q: [(u.pk, str(u)) for u in selectors.team_members(user, case)] if case else [],
    "merge_targets": lambda user, case, q: [
        (c.pk, f"#{c.pk} {c.title}（{c.get_status_display()} · {c.member}）")
        for c in (selectors.merge_targets(user, case, q) if case else [])
    ],
    "gathered_cases": lambda user, output, q: [
        (c.pk, f"#{c.pk} {c.title}（{c.member}）") for c in selectors.gathered_cases(user, output)
    ],
    "members": lambda user, record, q: [(u.pk, str(u)) for u in selectors.members(user)],
    "sectors": lambda user, record, q: _named(selectors.sectors(user)),
    "leaders": lambda user, record, q: [(u.pk, str(u)) for u in selectors.leaders(user)],
    "output_reasons": lambda user, record, q: _named(selectors.output_reasons(user)),
    "departments": lambda user, record, q: _named(selectors.departments(user)),
    "merge_proposals": lambda user, output, q: [
        (o.pk, f"{o.number or '#' + str(o.pk)} {o.title}") for o in selectors.merge_proposals(user, output, q)
    ],
    "objected_assignments": lambda user, output, q: [
        (a.pk, f"{a.department}（{a.get_role_display()}）") for a in selectors.objected_assignments(user, output)
    ],
    "joinable_outputs": lambda user, case, q: [
        (o.pk, f"{o.get_output_type_display()}：{o.title}")
        for o in (selectors.joinable_outputs(user, case) if case else [])
    ],
}


def _form_field(spec: Field, *, required: bool, choices: list[tuple[Any, str]] | None) -> forms.Field:
    common: dict[str, Any] = {"label": spec.label, "required": required, "help_text": spec.help}
    if isinstance(spec, Text):
        text_widget: forms.Widget = (
            forms.Textarea(attrs={"rows": 3}) if spec.multiline else forms.TextInput(attrs={"autocomplete": "off"})
        )
        return forms.CharField(max_length=spec.max_length, widget=text_widget, **common)
    if isinstance(spec, Choice):
        options = list(spec.choices.choices)
        if spec.default is None and not required:
            options = [("", _("未指定")), *options]
        choice_widget: type[forms.Widget] = forms.RadioSelect if len(options) <= 4 else forms.Select
        return forms.ChoiceField(choices=options, widget=choice_widget, initial=spec.default, **common)
    if isinstance(spec, Ref):
        empty = _("请选择") if required else _("未指定")
        return forms.TypedChoiceField(choices=[("", empty), *(choices or [])], coerce=int, empty_value=None, **common)
    if isinstance(spec, Refs):
        return forms.TypedMultipleChoiceField(
            choices=choices or [], coerce=int, widget=forms.CheckboxSelectMultiple, **common
        )
    if isinstance(spec, Flag):
        return forms.BooleanField(initial=spec.default, **{**common, "required": False})
    if isinstance(spec, Day):
        return forms.CharField(widget=forms.DateInput(attrs={"type": "date"}), **common)
    if isinstance(spec, Count):
        return forms.IntegerField(min_value=spec.least, max_value=spec.most, **common)
    raise AssertionError(spec)


def form_for(
    spec: Input,
    *,
    user: User,
    case: Case | None = None,
    data: QueryDict | None = None,
    initial: dict[str, Any] | None = None,
    prefix: str | None = None,
    query: str = "",
    may_set: Callable[[Field], bool] = lambda field: True,
) -> forms.Form:
    """A form for `spec`, with the choices `user` has for `case`. Fields the user may not set
    (`Field.only`) are left out: a committee's staff are not shown a constituent's consent to
    tick, nor the member's roster."""
    fields = {}
    for field in spec.fields:
        if not may_set(field):
            continue
        choices = OPTIONS[field.options](user, case, query) if isinstance(field, Ref | Refs) else None
        required = field.required and not spec.partial
        fields[field.name] = _form_field(field, required=required, choices=choices)
    form_class = type("DeclaredForm", (forms.Form,), fields)
    # Several forms share a page: their ids differ by the transition's name, their fields don't.
    return form_class(data, initial=initial, auto_id=f"{prefix}_%s" if prefix else "id_%s", label_suffix="")


def initial_of(spec: Input, record: Any) -> dict[str, Any] | None:
    """A partial input (an edit) changes the record's fields of the same names: the form starts
    from their current values."""
    if not spec.partial:
        return None
    values: dict[str, Any] = {}
    for field in spec.fields:
        if isinstance(field, Refs):
            values[field.name] = list(getattr(record, field.name).values_list("pk", flat=True))
        elif isinstance(field, Ref):
            values[field.name] = getattr(record, f"{field.name}_id")
        else:
            values[field.name] = getattr(record, field.name)
    return values


def posted(spec: Input, form: forms.Form) -> dict[str, Any]:
    """What the user sent for `spec` through `form`, as the workflow layer takes it. Checkboxes
    a browser leaves out are False."""
    data: dict[str, Any] = {}
    raw: Any = form.data
    for field in spec.fields:
        if field.name not in form.fields:
            continue
        key = field.name
        if isinstance(field, Refs):
            data[field.name] = raw.getlist(key)
        elif isinstance(field, Flag):
            data[field.name] = raw.get(key) not in (None, "", "off", "false", "0")
        elif key in raw:
            data[field.name] = raw[key]
    if spec.partial:
        initial = {name: form.get_initial_for_field(f, name) for name, f in form.fields.items()}
        data = {name: value for name, value in data.items() if not _same(value, initial.get(name))}
    return data


def _same(sent: Any, initial: Any) -> bool:
    if isinstance(initial, bool) or isinstance(sent, bool):
        return bool(sent) == bool(initial)
    if isinstance(initial, list | tuple):
        return sorted(str(v) for v in sent or []) == sorted(str(v) for v in initial)
    return str(sent if sent is not None else "").strip() == str(initial if initial is not None else "").strip()


def add_domain_error(form: forms.Form, error: DomainError) -> None:
    """Show the workflow layer's answer on the fields it names, or above the form. The form's own
    validation is not run: the declared check already said what is wrong."""
    if getattr(form, "_errors", None) is None:
        form._errors = ErrorDict()  # type: ignore[attr-defined]
        form.cleaned_data = {}
    fields = error.details.get("fields") or {}
    shown = False
    for name, message in fields.items():
        if name in form.fields:
            form.add_error(name, str(message))
            shown = True
    field = error.details.get("field")
    if not shown:
        form.add_error(field if field in form.fields else None, str(error.message))


class NotificationSettingsForm(forms.Form):
    """The profile's channel choices; `workflows.notifications.update_settings` checks them."""

    email = forms.BooleanField(label=gettext_lazy("用电子邮件通知"), required=False)
    dingtalk = forms.BooleanField(label=gettext_lazy("用钉钉/浙政钉群消息通知"), required=False)
    mobile = forms.CharField(
        label=gettext_lazy("手机号（选填）"),
        required=False,
        max_length=11,
        help_text=gettext_lazy("仅用于在钉钉群消息中 @ 您本人，不作他用；留空则不提供。"),
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "tel"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")  # as the derived forms: no colon after a label
        super().__init__(*args, **kwargs)

    def values(self) -> dict[str, Any]:
        """What was posted, as the settings check takes it (a checkbox left clear is false)."""
        data = self.data
        return {
            "email": data.get("email") == "on",
            "dingtalk": data.get("dingtalk") == "on",
            "mobile": str(data.get("mobile", "")).strip(),
        }


class DashboardFilterForm(forms.Form):
    """The dashboard's filter (a GET form, so a filtered page can be bookmarked and its exports
    carry the same query). Empty dates mean the default year of months; the range itself is
    checked by `casework.reports.filters_for`."""

    first = forms.DateField(
        label=gettext_lazy("起始日期"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    last = forms.DateField(
        label=gettext_lazy("截止日期"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    sector = forms.TypedChoiceField(label=gettext_lazy("界别"), required=False, coerce=int, empty_value=None)

    def __init__(self, *args: Any, sectors: list[tuple[int, str]], **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        field = self.fields["sector"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [("", _("全部界别")), *sectors]


class PeriodForm(forms.Form):
    """A range of days for a page's figures (a GET form, so the page can be bookmarked). Empty
    fields keep the page's default range."""

    MAX_DAYS = 366

    first = forms.DateField(
        label=gettext_lazy("起始日期"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    last = forms.DateField(
        label=gettext_lazy("截止日期"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        first, last = data.get("first"), data.get("last")
        if first and last:
            if first > last:
                raise forms.ValidationError(_("起始日期不能晚于截止日期。"))
            if (last - first).days >= self.MAX_DAYS:
                raise forms.ValidationError(_("统计范围最长一年。"))
        return data
