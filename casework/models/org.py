"""Organisations, people and rosters (docs/domain.md §2)."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from casework.choices import DEFAULT_SLA_TARGETS, OrgLevel
from casework.pii import EncryptedTextField


def default_sla_targets() -> dict:
    """The default of a field the first migration created (clock targets are `ClockPolicy` rows now)."""
    return {stage: dict(target) for stage, target in DEFAULT_SLA_TARGETS.items()}


class Organisation(models.Model):
    """One CPPCC committee (政协组织); they form a tree and every record belongs to one."""

    name = models.CharField(_("名称"), max_length=120, unique=True)
    short_name = models.CharField(_("简称"), max_length=40, blank=True)
    level = models.CharField(_("层级"), max_length=16, choices=OrgLevel.choices)
    parent = models.ForeignKey(
        "self", verbose_name=_("上级组织"), null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )

    class Meta:
        verbose_name = _("政协组织")
        verbose_name_plural = _("政协组织")

    def __str__(self) -> str:
        return self.short_name or self.name


class User(AbstractUser):
    """A login. Users belong to one organisation; every query is scoped to it."""

    organisation = models.ForeignKey(
        Organisation, verbose_name=_("所属组织"), null=True, blank=True, on_delete=models.PROTECT, related_name="users"
    )
    display_name = models.CharField(_("姓名"), max_length=60, blank=True)
    department = models.ForeignKey(
        "casework.Department",
        verbose_name=_("承办单位"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="liaisons",
    )
    # Channels besides in-app (which every notification is), chosen in the user's profile.
    notify_by_email = models.BooleanField(_("邮件通知"), default=True)
    notify_by_dingtalk = models.BooleanField(_("钉钉通知"), default=False)
    # Personal data, given by the user themself and used for one thing only: to @ them in the
    # DingTalk group message that tells them something (DingTalk finds a person by mobile).
    mobile = models.CharField(
        _("手机号（仅用于钉钉 @提醒）"),
        max_length=11,
        blank=True,
        validators=[RegexValidator(r"^1[0-9]{10}$", _("手机号应为 11 位数字，以 1 开头。"))],
    )

    # Set when an administrator sets the password (a new account, a reset): the user changes it
    # before doing anything else (the pages send them to the password page, the API answers 403).
    must_change_password = models.BooleanField(_("须修改初始密码"), default=False)

    class Meta:
        verbose_name = _("用户")
        verbose_name_plural = _("用户")

    def __str__(self) -> str:
        return self.display_name or self.username


class Sector(models.Model):
    organisation = models.ForeignKey(Organisation, verbose_name=_("所属组织"), on_delete=models.PROTECT)
    name = models.CharField(_("界别"), max_length=60)
    conveners = models.ManyToManyField(
        "casework.Member", verbose_name=_("召集人"), blank=True, related_name="convened_sectors"
    )

    class Meta:
        verbose_name = _("界别")
        verbose_name_plural = _("界别")
        constraints = [models.UniqueConstraint(fields=["organisation", "name"], name="sector_unique_name")]

    def __str__(self) -> str:
        return self.name


class Committee(models.Model):
    """A special committee (专门委员会); it owns a review queue."""

    organisation = models.ForeignKey(Organisation, verbose_name=_("所属组织"), on_delete=models.PROTECT)
    name = models.CharField(_("名称"), max_length=60)
    staff = models.ManyToManyField(User, verbose_name=_("工作人员"), blank=True, related_name="staffed_committees")
    head = models.ForeignKey(
        User, verbose_name=_("主任"), null=True, blank=True, on_delete=models.PROTECT, related_name="headed_committees"
    )
    is_default_intake = models.BooleanField(_("默认受理委办"), default=False)

    class Meta:
        verbose_name = _("专门委员会")
        verbose_name_plural = _("专门委员会")
        constraints = [
            models.UniqueConstraint(fields=["organisation", "name"], name="committee_unique_name"),
            models.UniqueConstraint(
                fields=["organisation"],
                condition=models.Q(is_default_intake=True),
                name="committee_one_default_intake",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Term(models.Model):
    """届, e.g. 第十五届."""

    organisation = models.ForeignKey(Organisation, verbose_name=_("所属组织"), on_delete=models.PROTECT)
    number = models.PositiveSmallIntegerField(_("届次"))
    name = models.CharField(_("名称"), max_length=40)
    starts_on = models.DateField(_("开始日期"))
    ends_on = models.DateField(_("结束日期"), null=True, blank=True)

    class Meta:
        verbose_name = _("届")
        verbose_name_plural = _("届")
        constraints = [models.UniqueConstraint(fields=["organisation", "number"], name="term_unique_number")]

    def __str__(self) -> str:
        return self.name


class Session(models.Model):
    """次, a plenary session of a term (第五次会议)."""

    term = models.ForeignKey(Term, verbose_name=_("届"), on_delete=models.PROTECT, related_name="sessions")
    number = models.PositiveSmallIntegerField(_("会次"))
    name = models.CharField(_("名称"), max_length=40)
    opens_on = models.DateField(_("开幕日期"))
    # Proposals submitted from some months before the opening (`OutputRules`) until this day are
    # plenary proposals (大会提案); others are interim (平时提案). Empty: the opening day.
    proposals_close_on = models.DateField(_("大会提案截止日期"), null=True, blank=True)
    # The window in which plenary speeches are solicited (大会发言征集).
    speeches_open_on = models.DateField(_("大会发言征集开始"), null=True, blank=True)
    speeches_close_on = models.DateField(_("大会发言征集截止"), null=True, blank=True)

    class Meta:
        verbose_name = _("会次")
        verbose_name_plural = _("会次")
        constraints = [models.UniqueConstraint(fields=["term", "number"], name="session_unique_number")]

    def __str__(self) -> str:
        return f"{self.term.name}{self.name}"


class Member(models.Model):
    organisation = models.ForeignKey(Organisation, verbose_name=_("所属组织"), on_delete=models.PROTECT)
    user = models.OneToOneField(
        User, verbose_name=_("登录账号"), null=True, blank=True, on_delete=models.PROTECT, related_name="member"
    )
    name = models.CharField(_("姓名"), max_length=60)
    sector = models.ForeignKey(Sector, verbose_name=_("界别"), on_delete=models.PROTECT, related_name="members")
    term = models.ForeignKey(Term, verbose_name=_("届"), null=True, blank=True, on_delete=models.PROTECT)

    class Meta:
        verbose_name = _("委员")
        verbose_name_plural = _("委员")

    def __str__(self) -> str:
        return self.name


class Contact(models.Model):
    """A constituent (界别群众): a record, not a user. Personal data: see docs/domain.md §7."""

    organisation = models.ForeignKey(Organisation, verbose_name=_("所属组织"), on_delete=models.PROTECT)
    sector = models.ForeignKey(Sector, verbose_name=_("界别"), on_delete=models.PROTECT, related_name="contacts")
    name = models.CharField(_("姓名"), max_length=60)
    # Personal data, encrypted at rest and shown masked (casework.pii); read in clear only by
    # an audited reveal.
    phone = EncryptedTextField(_("联系电话"), max_length=20, blank=True)
    id_number = EncryptedTextField(
        _("身份证号"),
        max_length=18,
        blank=True,
        validators=[RegexValidator(r"^[0-9]{17}[0-9Xx]$", _("身份证号应为 18 位，最后一位可为 X。"))],
    )
    address = EncryptedTextField(_("住址"), max_length=200, blank=True)
    workplace = models.CharField(_("工作单位"), max_length=120, blank=True)
    consent_recorded_on = models.DateField(_("同意登记日期"), null=True, blank=True)
    # Kept no longer than its purpose needs (PIPL art. 19): past this day (or, where none is set,
    # MINQING_CONTACT_RETENTION_DAYS after the last concern they raised) `purge_contacts`
    # anonymises the record, keeping its sector and its cases for the figures.
    retain_until = models.DateField(_("保存期限"), null=True, blank=True)
    created_at = models.DateTimeField(_("登记时间"), default=timezone.now, editable=False)
    anonymised_at = models.DateTimeField(_("匿名化时间"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("界别群众")
        verbose_name_plural = _("界别群众")

    def __str__(self) -> str:
        return self.name


class RosterEntry(models.Model):
    """Who keeps in touch with whom. The seed's rule "界别联系群众一般不重复" is a database
    constraint: a contact is linked to at most one member of a sector."""

    organisation = models.ForeignKey(Organisation, verbose_name=_("所属组织"), on_delete=models.PROTECT)
    sector = models.ForeignKey(Sector, verbose_name=_("界别"), on_delete=models.PROTECT)
    member = models.ForeignKey(Member, verbose_name=_("委员"), on_delete=models.PROTECT, related_name="roster")
    contact = models.ForeignKey(Contact, verbose_name=_("界别群众"), on_delete=models.PROTECT, related_name="roster")
    approved_by = models.ForeignKey(
        User, verbose_name=_("审定人"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("联系名单")
        verbose_name_plural = _("联系名单")
        constraints = [
            models.UniqueConstraint(fields=["sector", "contact"], name="roster_contact_one_member_per_sector"),
        ]


class Department(models.Model):
    """承办单位, a handling department."""

    organisation = models.ForeignKey(Organisation, verbose_name=_("所属组织"), on_delete=models.PROTECT)
    name = models.CharField(_("名称"), max_length=80)

    class Meta:
        verbose_name = _("承办单位")
        verbose_name_plural = _("承办单位")
        constraints = [models.UniqueConstraint(fields=["organisation", "name"], name="department_unique_name")]

    def __str__(self) -> str:
        return self.name
