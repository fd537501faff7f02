"""An output as a Word document (DOCX, written by python-docx) in the layout of government
documents (党政机关公文格式, GB/T 9704-2012): A4, margins 37 mm top, 35 mm bottom, 28 mm left,
26 mm right; the title in 方正小标宋简体 二号, centred; the text in 仿宋_GB2312 三号 at a fixed
line pitch, each paragraph indented two characters; headings in 黑体 (first level) and 楷体_GB2312
(second); the page number "— 1 —" in 宋体 四号 at the outer edge (right on odd pages, left on even).

Offices print these and send them on, so the document holds the output's own text and the names
of the members who sign it, the departments and the leaders, and nothing of the constituents
whose concerns it gathered: no case, no contact, no personal data."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from io import BytesIO

from django.utils import timezone
from django.utils.translation import gettext as _
from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt
from docx.text.paragraph import Paragraph

from casework.choices import AssignmentStatus, OutputType, SignerRole
from casework.models import Output
from casework.services.numbering import bulletin_number

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"

PAGE_WIDTH, PAGE_HEIGHT = Mm(210), Mm(297)
MARGINS = {"top": Mm(37), "bottom": Mm(35), "left": Mm(28), "right": Mm(26)}
TITLE_FONT = "方正小标宋简体"
BODY_FONT = "仿宋_GB2312"
HEADING_FONT = "黑体"
SUBHEADING_FONT = "楷体_GB2312"
PAGE_NUMBER_FONT = "宋体"
LATIN_FONT = "Times New Roman"
TITLE_SIZE = Pt(22)  # 二号
BODY_SIZE = Pt(16)  # 三号
PAGE_NUMBER_SIZE = Pt(14)  # 四号
LINE_PITCH = Pt(28.95)  # 22 lines in the 225 mm text block
TITLE_PITCH = Pt(35)
INDENT = Pt(32)  # two characters of 三号

# Characters XML 1.0 cannot hold (python-docx refuses them); old text may have some.
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_NUMERALS = "一二三四五六七八九十"
# A file name as Windows, macOS and a download dialog all take it.
_FILENAME_FORBIDDEN = re.compile(r'[\\/:*?"<>|\x00-\x1f]+')


def _clean(text: str) -> str:
    return _ILLEGAL.sub("", text or "")


def _fonts(run_or_style: object, east_asia: str, size: Pt, bold: bool = False) -> None:
    """Set the CJK font (w:eastAsia, which python-docx's font.name does not set) with a Latin
    font beside it, the size and the weight."""
    font = run_or_style.font  # type: ignore[attr-defined]
    font.name = LATIN_FONT
    font.size = size
    font.bold = bold
    element = run_or_style.element  # type: ignore[attr-defined]
    properties = element.get_or_add_rPr()
    fonts = properties.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        properties.insert(0, fonts)
    for attribute in ("w:ascii", "w:hAnsi", "w:cs"):
        fonts.set(qn(attribute), LATIN_FONT)
    fonts.set(qn("w:eastAsia"), east_asia)


class Writer:
    """One document being written, paragraph by paragraph."""

    def __init__(self) -> None:
        self.document = Document()
        self._headings = 0
        self._subheadings = 0
        self._page()
        self._base_style()
        self._page_numbers()

    def _page(self) -> None:
        section = self.document.sections[0]
        section.orientation = WD_ORIENT.PORTRAIT
        section.page_width, section.page_height = PAGE_WIDTH, PAGE_HEIGHT
        section.top_margin, section.bottom_margin = MARGINS["top"], MARGINS["bottom"]
        section.left_margin, section.right_margin = MARGINS["left"], MARGINS["right"]
        section.header_distance = Mm(15)
        section.footer_distance = Mm(21)

    def _base_style(self) -> None:
        normal = self.document.styles["Normal"]
        _fonts(normal, BODY_FONT, BODY_SIZE)
        language = OxmlElement("w:lang")
        language.set(qn("w:val"), "en-US")
        language.set(qn("w:eastAsia"), "zh-CN")
        normal.element.get_or_add_rPr().append(language)
        paragraph = normal.paragraph_format  # type: ignore[attr-defined]
        paragraph.line_spacing_rule = WD_LINE_SPACING.EXACTLY
        paragraph.line_spacing = LINE_PITCH
        paragraph.space_before = paragraph.space_after = Pt(0)

    def _page_numbers(self) -> None:
        """— 1 — at the outer edge, one character in from it: odd pages right, even pages left."""
        self.document.settings.odd_and_even_pages_header_footer = True
        section = self.document.sections[0]
        for footer, align in ((section.footer, WD_ALIGN_PARAGRAPH.RIGHT), (section.even_page_footer, None)):
            paragraph = footer.paragraphs[0]
            paragraph.alignment = align or WD_ALIGN_PARAGRAPH.LEFT
            if align is None:
                paragraph.paragraph_format.left_indent = PAGE_NUMBER_SIZE
            else:
                paragraph.paragraph_format.right_indent = PAGE_NUMBER_SIZE
            self._run(paragraph, "— ", PAGE_NUMBER_FONT, PAGE_NUMBER_SIZE)
            self._page_field(paragraph)
            self._run(paragraph, " —", PAGE_NUMBER_FONT, PAGE_NUMBER_SIZE)

    def _page_field(self, paragraph: Paragraph) -> None:
        """A PAGE field (Word fills in the number; "1" stands in until it does)."""
        parts = (("fldChar", "begin"), ("instrText", " PAGE "), ("fldChar", "separate"), ("t", "1"), ("fldChar", "end"))
        for tag, value in parts:
            run = paragraph.add_run()
            _fonts(run, PAGE_NUMBER_FONT, PAGE_NUMBER_SIZE)
            if tag == "t":
                run.text = value
                continue
            element = OxmlElement(f"w:{tag}")
            if tag == "fldChar":
                element.set(qn("w:fldCharType"), value)
            else:
                element.set(qn("xml:space"), "preserve")
                element.text = value
            run._r.append(element)

    @staticmethod
    def _run(paragraph: Paragraph, text: str, font: str, size: Pt, bold: bool = False) -> None:
        run = paragraph.add_run(_clean(text))
        _fonts(run, font, size, bold)

    def _paragraph(self, *, indent: bool = True, align: int | None = None) -> Paragraph:
        paragraph = self.document.add_paragraph()
        if indent:
            paragraph.paragraph_format.first_line_indent = INDENT
            ind = paragraph.paragraph_format.element.get_or_add_pPr().get_or_add_ind()
            ind.set(qn("w:firstLineChars"), "200")
        if align is not None:
            paragraph.alignment = align  # type: ignore[assignment]
        return paragraph

    # What a document is made of ---------------------------------------------------------------

    def line(self, text: str, *, align: int | None = None, indent: bool = False) -> None:
        """One line of body text (a number, a date), not indented unless asked."""
        self._run(self._paragraph(indent=indent, align=align), text, BODY_FONT, BODY_SIZE)

    def title(self, text: str) -> None:
        self.line("")
        paragraph = self._paragraph(indent=False, align=WD_ALIGN_PARAGRAPH.CENTER)
        paragraph.paragraph_format.line_spacing = TITLE_PITCH
        self._run(paragraph, text, TITLE_FONT, TITLE_SIZE)
        self.line("")

    def fact(self, label: str, value: str) -> None:
        """A labelled fact, e.g. 提案人：王委员, with the label in 黑体."""
        if not value:
            return
        paragraph = self._paragraph()
        self._run(paragraph, f"{label}：", HEADING_FONT, BODY_SIZE)
        self._run(paragraph, value, BODY_FONT, BODY_SIZE)

    def heading(self, text: str) -> None:
        """A first-level heading, numbered 一、二、… in order of appearance."""
        self._subheadings = 0
        numeral = _NUMERALS[self._headings] if self._headings < len(_NUMERALS) else str(self._headings + 1)
        self._headings += 1
        self._run(self._paragraph(), f"{numeral}、{text}", HEADING_FONT, BODY_SIZE)

    def subheading(self, text: str) -> None:
        """A second-level heading, numbered （一）（二）… under its heading."""
        index = self._subheadings
        self._subheadings += 1
        numeral = _NUMERALS[index] if index < len(_NUMERALS) else str(index + 1)
        self._run(self._paragraph(), f"（{numeral}）{text}", SUBHEADING_FONT, BODY_SIZE)

    def text(self, text: str) -> None:
        """Body text: each line a paragraph, indented two characters."""
        for line in _clean(text).splitlines():
            if line.strip():
                self._run(self._paragraph(), line.strip(), BODY_FONT, BODY_SIZE)

    def section(self, heading: str, text: str) -> None:
        if text.strip():
            self.heading(heading)
            self.text(text)

    def save(self) -> bytes:
        out = BytesIO()
        self.document.save(out)
        return out.getvalue()


# The outputs --------------------------------------------------------------------------------------


def _names(users: Iterable[object]) -> str:
    return "、".join(str(u) for u in users)


def _day(when: date) -> str:
    return f"{when.year}年{when.month}月{when.day}日"


def _dated(output: Output) -> date:
    return timezone.localdate(output.submitted_at or output.created_at)


def _signers(output: Output) -> dict[str, list[object]]:
    by_role: dict[str, list[object]] = {role: [] for role in SignerRole.values}
    for signer in output.signers.select_related("user").order_by("id"):
        by_role[signer.role].append(signer.user)
    return by_role


def _proposal(w: Writer, output: Output) -> None:
    w.line(output.number or _("（尚未编号）"), align=WD_ALIGN_PARAGRAPH.RIGHT)
    w.title(output.title)
    if output.is_plenary is not None:
        w.fact(_("类别"), _("大会提案") if output.is_plenary else _("平时提案"))
    if output.session_id:
        w.fact(_("届次"), str(output.session))
    signers = _signers(output)
    w.fact(_("提案人"), _names(signers[SignerRole.FIRST]))
    w.fact(_("联名人"), _names(signers[SignerRole.CO]))
    if output.sector_id:
        w.fact(_("以界别名义"), str(output.sector))
        w.fact(_("界别召集人"), _names(signers[SignerRole.CONVENER]))
    if output.is_key:
        w.fact(_("重点提案"), _("是"))
        w.fact(_("督办领导"), str(output.supervisor) if output.supervisor_id else "")
    assignments = list(
        output.assignments.exclude(status=AssignmentStatus.WITHDRAWN)
        .select_related("department")
        .order_by("round", "id")
    )
    current = [a for a in assignments if a.round == output.round]
    w.fact(_("承办单位"), "；".join(f"{a.get_role_display()}：{a.department.name}" for a in current))
    w.section(_("情况分析"), output.analysis)
    w.section(_("具体建议"), output.suggestion)
    replies = [a for a in assignments if a.status == AssignmentStatus.REPLIED]
    if replies:
        w.heading(_("办理答复"))
        for a in replies:
            round_words = _("，第%(n)d轮") % {"n": a.round} if output.round > 1 else ""
            w.subheading(f"{a.department.name}（{a.get_role_display()}{round_words}）")
            w.fact(_("答复类别"), a.get_reply_class_display())
            if a.replied_at:
                w.fact(_("答复日期"), _day(timezone.localdate(a.replied_at)))
            w.text(a.reply)
            if a.solved_at:
                w.fact(_("落实情况"), a.solved_note or _("已落实"))


def _info_report(w: Writer, output: Output) -> None:
    if output.bulletin_year and output.bulletin_issue:
        w.line(bulletin_number(output.bulletin_year, output.bulletin_issue), align=WD_ALIGN_PARAGRAPH.CENTER)
    elif output.number:
        w.line(output.number, align=WD_ALIGN_PARAGRAPH.CENTER)
    w.title(output.title)
    w.fact(_("报送单位"), f"{output.organisation.name}{output.committee.name}")
    w.section(_("基本情况"), output.situation)
    w.section(_("分析"), output.analysis)
    w.section(_("建议"), output.suggestion)
    w.section(_("正文"), output.body)
    adoptions = list(output.adoptions.select_related("organisation").order_by("id"))
    if adoptions:
        w.heading(_("采用情况"))
        for adoption in adoptions:
            if adoption.adopted:
                level = adoption.get_level_display()
                verdict = _("采用（%(l)s）") % {"l": level} if level else _("采用")
            else:
                verdict = _("未采用")
            w.fact(adoption.organisation.name, verdict)
            w.text(adoption.note)
    instructions = list(output.instructions.order_by("given_on", "id"))
    if instructions:
        w.heading(_("领导批示"))
        for instruction in instructions:
            w.subheading(
                f"{instruction.leader}（{instruction.get_rank_display()}），{_day(instruction.given_on)}{_('批示')}"
            )
            w.text(instruction.text)


def _speech(w: Writer, output: Output) -> None:
    w.title(output.title)
    w.fact(_("发言形式"), output.get_speech_form_display() if output.speech_form else "")
    signers = _signers(output)
    w.fact(_("发言人"), _names(signers[SignerRole.FIRST] + signers[SignerRole.CONVENER]))
    w.fact(_("联名人"), _names(signers[SignerRole.CO]))
    if output.sector_id:
        w.fact(_("界别"), str(output.sector))
    if output.selection:
        selection = output.get_selection_display()
        if output.minutes:
            selection += _("（%(m)d分钟）") % {"m": output.minutes}
        w.fact(_("采用情况"), selection)
    _text(w, output)


def _research_report(w: Writer, output: Output) -> None:
    w.title(output.title)
    w.fact(_("调研单位"), f"{output.organisation.name}{output.committee.name}")
    w.fact(_("署名"), _names(s.user for s in output.signers.select_related("user").order_by("id")))
    _text(w, output)


def _text(w: Writer, output: Output) -> None:
    """A speech's or report's text: its body, else its parts under their headings."""
    if output.body.strip():
        w.line("")
        w.text(output.body)
    w.section(_("基本情况"), output.situation)
    w.section(_("分析"), output.analysis)
    w.section(_("建议"), output.suggestion)


BUILDERS = {
    OutputType.PROPOSAL: _proposal,
    OutputType.INFO_REPORT: _info_report,
    OutputType.SPEECH: _speech,
    OutputType.RESEARCH_REPORT: _research_report,
}


def output_docx(output: Output) -> bytes:
    """The output as a DOCX file, laid out by its type."""
    w = Writer()
    BUILDERS[OutputType(output.output_type)](w, output)
    w.line("")
    w.line(f"{output.organisation.name}{output.committee.name}", align=WD_ALIGN_PARAGRAPH.RIGHT)
    w.line(_day(_dated(output)), align=WD_ALIGN_PARAGRAPH.RIGHT)
    return w.save()


def docx_filename(output: Output) -> str:
    """The download's name: its number (or its type) and its title."""
    head = output.number or output.get_output_type_display()
    name = _FILENAME_FORBIDDEN.sub(" ", f"{head} {output.title}").strip()
    return f"{name[:120].strip()}.docx"
