"""The PDF certificate and the evidence file (PDF and JSON). Pure functions: no Flask, no database.

Text is set in DejaVu (shipped in ``fonts/``), so rendering never depends on the system's fonts. Output is
reproducible: the same document gives the same bytes (reportlab's invariant mode).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache
from html import escape
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import segno
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    BaseDocTemplate,
    Flowable,
    Frame,
    FrameBreak,
    KeepInFrame,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

FONTS_DIR = Path(__file__).with_name("fonts")
SANS, SANS_BOLD, MONO = "Socle-DejaVuSans", "Socle-DejaVuSans-Bold", "Socle-DejaVuSansMono"
PARIS = ZoneInfo("Europe/Paris")
# reportlab breaks lines at U+202F (narrow no-break space) but never at U+00A0, which it draws with the
# space glyph (so copied text shows a plain space).
NBSP = "\u00a0"
QR_FORM = "qr"  # the form XObject that holds the QR code's modules, and nothing else
QR_ERROR = "m"  # error correction level (segno may raise it when the code's size allows)
EVIDENCE_JSON_FORMAT = "socle-evidence"
EVIDENCE_JSON_VERSION = 1

MONTHS = (
    "janvier", "février", "mars", "avril", "mai", "juin",
    "juillet", "août", "septembre", "octobre", "novembre", "décembre",
)  # fmt: skip
EVIDENCE_NOTE = (
    "Ce dossier relie chaque compétence aux déclarations d’activité (xAPI) qui la fondent, avec leur date, "
    f"leur résultat et leur poids. Il prépare la décision du jury{NBSP}; il ne la remplace pas."
)
STATUS_LABELS = {"acquise": "Acquise", "en cours": "En cours", "reconnue": "Reconnue"}

INK = colors.HexColor("#1b2a3a")
ACCENT = colors.HexColor("#1f4e79")
MUTED = colors.HexColor("#5b6670")
RULE = colors.HexColor("#c9d1d9")
SHADE = colors.HexColor("#eef2f6")

PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN = 50.0


@dataclass(frozen=True)
class CompetenceLine:
    """One competence or bloc on the certificate."""

    code: str  # "C1" or "B1"
    name: str
    result: str  # "82 %", "Acquise", "Reconnue (acquis antérieurs)"…
    met_on: date | None


@dataclass(frozen=True)
class CertificateDocument:
    """What the one-page PDF certificate shows."""

    credential_id: str
    learner_name: str  # may be empty: the learner is then named by learner_ref
    learner_ref: str
    programme: str
    achievement: str
    track: str | None
    blocs: list[CompetenceLine]
    competences: list[CompetenceLine]
    first_activity: date
    issued_on: date
    hours: float
    issuer_name: str
    issuer_url: str
    verify_url: str  # also encoded in the QR code
    rules_version: int
    # Who signs for the issuing body (configuration): a name and a title, e.g. the programme's head.
    signatory_name: str | None = None
    signatory_title: str | None = None


@dataclass(frozen=True)
class EvidenceItem:
    """One statement behind a competence."""

    when: datetime  # aware; shown in Europe/Paris
    what: str
    weight: float  # share of the competence, 0..1
    statement_id: str


@dataclass(frozen=True)
class CompetenceEvidence:
    """A competence, its result against its rule and the statements behind it."""

    code: str
    name: str
    status: str  # "acquise", "en cours" or "reconnue"
    score: float | None  # percent, like min_score in thresholds.yaml
    required: float | None  # percent
    rule: str
    items: list[EvidenceItem]


@dataclass(frozen=True)
class EvidenceDocument:
    """What the evidence file (PDF and JSON) holds for one learner."""

    learner_name: str
    learner_ref: str
    programme: str
    track: str | None
    context_title: str | None
    platform: str
    generated_at: datetime
    rules_version: int
    content_version: int
    hours: float
    sessions_attended: list[tuple[str, datetime, int]]  # title, start, minutes
    competences: list[CompetenceEvidence]
    credentials: list[tuple[str, str, str]]  # achievement, id, verify url


# --- French formatting -------------------------------------------------------------------------------------


def learner_display_name(name: str, ref: str) -> str:
    """The learner's name, or "Apprenant·e <ref>" when there is none."""
    return name.strip() or f"Apprenant·e {ref}"


def french_date(day: date) -> str:
    """A date as in "26 novembre 2026" (the first of a month is "1er")."""
    number = "1er" if day.day == 1 else str(day.day)
    return f"{number}{NBSP}{MONTHS[day.month - 1]}{NBSP}{day.year}"


def french_duration(hours: float) -> str:
    """A duration as in "12 h 30", "3 h" or "45 min", to the nearest minute."""
    hours_part, minutes = divmod(round(hours * 60), 60)
    if hours_part == 0:
        return f"{minutes}{NBSP}min"
    if minutes == 0:
        return f"{hours_part}{NBSP}h"
    return f"{hours_part}{NBSP}h{NBSP}{minutes:02d}"


def french_percent(value: float) -> str:
    """A percentage as in "82 %" or "82,5 %" (one decimal at most)."""
    text = f"{value:.1f}".rstrip("0").rstrip(".").replace(".", ",")
    return f"{text}{NBSP}%"


def _paris(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("evidence times must be timezone-aware")
    return moment.astimezone(PARIS)


def _short_datetime(moment: datetime) -> str:
    return _paris(moment).strftime("%d/%m/%Y %H:%M")


def _long_datetime(moment: datetime) -> str:
    local = _paris(moment)
    return f"{french_date(local.date())} à {local.hour}{NBSP}h{NBSP}{local.minute:02d}"


def _iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("evidence times must be timezone-aware")
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _text(value: str) -> str:
    """Plain text made safe for reportlab's paragraph markup; narrow no-break spaces kept unbreakable."""
    return escape(value, quote=False).replace("\u202f", NBSP)


def _label(label: str) -> str:
    """A label followed by a French colon: "Identifiant :"."""
    return f"{label}{NBSP}:"


# --- Fonts, styles, shared pieces -------------------------------------------------------------------------


@cache
def _register_fonts() -> None:
    for name, file in (
        (SANS, "DejaVuSans.ttf"),
        (SANS_BOLD, "DejaVuSans-Bold.ttf"),
        (MONO, "DejaVuSansMono.ttf"),
    ):
        pdfmetrics.registerFont(TTFont(name, str(FONTS_DIR / file)))
    pdfmetrics.registerFontFamily(SANS, normal=SANS, bold=SANS_BOLD, italic=SANS, boldItalic=SANS_BOLD)


@cache
def _styles() -> dict[str, ParagraphStyle]:
    _register_fonts()
    base = ParagraphStyle("base", fontName=SANS, fontSize=9.5, leading=12.5, textColor=INK)
    return {
        "base": base,
        "small": ParagraphStyle("small", parent=base, fontSize=8, leading=10.5, textColor=MUTED),
        "mono": ParagraphStyle("mono", parent=base, fontName=MONO, fontSize=7, leading=9, textColor=MUTED),
        "cell": ParagraphStyle("cell", parent=base, fontSize=8, leading=10),
        "kicker": ParagraphStyle(
            "kicker", parent=base, fontSize=12, leading=16, alignment=TA_CENTER, textColor=ACCENT
        ),
        "achievement": ParagraphStyle(
            "achievement", parent=base, fontName=SANS_BOLD, fontSize=21, leading=26, alignment=TA_CENTER
        ),
        "issued_to": ParagraphStyle(
            "issued_to", parent=base, fontSize=11, leading=14, alignment=TA_CENTER, textColor=MUTED
        ),
        "learner": ParagraphStyle(
            "learner", parent=base, fontName=SANS_BOLD, fontSize=24, leading=30, alignment=TA_CENTER,
            textColor=ACCENT,
        ),
        "centered": ParagraphStyle("centered", parent=base, fontSize=10.5, leading=14, alignment=TA_CENTER),
        "title": ParagraphStyle("title", parent=base, fontName=SANS_BOLD, fontSize=20, leading=25),
        "h1": ParagraphStyle(
            "h1", parent=base, fontName=SANS_BOLD, fontSize=14, leading=18, textColor=ACCENT,
            spaceBefore=14, spaceAfter=6, keepWithNext=1,
        ),
        "h2": ParagraphStyle(
            "h2", parent=base, fontName=SANS_BOLD, fontSize=11, leading=14, spaceBefore=10, spaceAfter=2,
            keepWithNext=1,
        ),
        "section": ParagraphStyle(
            "section", parent=base, fontName=SANS_BOLD, fontSize=10, leading=13, textColor=ACCENT,
            spaceBefore=10, spaceAfter=4, keepWithNext=1,
        ),
        "keep": ParagraphStyle("keep", parent=base, keepWithNext=1),
    }  # fmt: skip


def _table_style(header: bool = True) -> TableStyle:
    commands: list[tuple[Any, ...]] = [
        ("FONT", (0, 0), (-1, -1), SANS, 8, 10),
        ("TEXTCOLOR", (0, 0), (-1, -1), INK),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 3),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3),
        ("TOPPADDING", (0, 0), (-1, -1), 2.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5),
        ("LINEBELOW", (0, 0), (-1, -1), 0.4, RULE),
    ]
    if header:
        commands += [
            ("FONT", (0, 0), (-1, 0), SANS_BOLD, 7.5, 9.5),
            ("TEXTCOLOR", (0, 0), (-1, 0), MUTED),
            ("BACKGROUND", (0, 0), (-1, 0), SHADE),
        ]
    return TableStyle(commands)


class _QrCode(Flowable):
    """A QR code drawn as vector squares, alone in a form XObject so that it can be read back."""

    def __init__(self, data: str, size: float) -> None:
        super().__init__()
        self.matrix = segno.make(data, error=QR_ERROR, micro=False).matrix
        self.size = size

    def wrap(self, available_width: float, available_height: float) -> tuple[float, float]:
        return self.size, self.size

    def draw(self) -> None:
        count = len(self.matrix)
        quiet = 4  # the blank border the QR specification requires, in modules
        module = self.size / (count + 2 * quiet)
        canvas = self.canv
        canvas.beginForm(QR_FORM, 0, 0, self.size, self.size)
        canvas.setFillColor(colors.black)
        path = canvas.beginPath()
        for row_index, row in enumerate(self.matrix):
            y = (quiet + count - 1 - row_index) * module
            column = 0
            while column < count:
                if not row[column]:
                    column += 1
                    continue
                start = column
                while column < count and row[column]:
                    column += 1
                # one rectangle per run of dark modules keeps the path short
                path.rect((quiet + start) * module, y, (column - start) * module, module)
        canvas.drawPath(path, stroke=0, fill=1)
        canvas.endForm()
        canvas.doForm(QR_FORM)


def _fit(text: str, font: str, size: float, width: float) -> str:
    """The text, cut short with an ellipsis if it is wider than ``width``."""
    if pdfmetrics.stringWidth(text, font, size) <= width:
        return text
    while text and pdfmetrics.stringWidth(f"{text}…", font, size) > width:
        text = text[:-1]
    return f"{text.rstrip()}…"


def _size_to_fit(text: str, font: str, size: float, smallest: float, width: float) -> float:
    """The largest size from ``size`` down to ``smallest`` (half points) at which the text fits on a line."""
    while size > smallest and pdfmetrics.stringWidth(text, font, size) > width:
        size -= 0.5
    return size


def _wrap(text: str, font: str, size: float, width: float) -> list[str]:
    """The text in lines no wider than ``width``, broken between words."""
    lines: list[str] = []
    for word in text.split():
        if lines and pdfmetrics.stringWidth(f"{lines[-1]} {word}", font, size) <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return lines or [""]


def _metadata(title: str, author: str, subject: str) -> dict[str, Any]:
    return {
        "title": title,
        "author": author,
        "subject": subject,
        "creator": "Socle",
        "initialFontName": SANS,  # else reportlab's first font is an unembedded Helvetica
        "lang": "fr-FR",
        "invariant": 1,
        "displayDocTitle": 1,
    }


# --- Certificate -------------------------------------------------------------------------------------------


def certificate_pdf(doc: CertificateDocument) -> bytes:
    """The one-page A4 certificate: learner, achievement, blocs and competences, dates, issuer, QR code."""
    styles = _styles()
    learner = learner_display_name(doc.learner_name, doc.learner_ref)
    buffer = io.BytesIO()
    template = BaseDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN,
        **_metadata(f"{doc.achievement} — {learner}", doc.issuer_name, doc.programme),
    )
    width = PAGE_WIDTH - 2 * MARGIN
    footer_height = 130.0
    footer_bottom = 52.0
    body_bottom = footer_bottom + footer_height + 10
    body_top = PAGE_HEIGHT - 100
    no_padding = {"leftPadding": 0, "rightPadding": 0, "topPadding": 0, "bottomPadding": 0}
    body = Frame(MARGIN, body_bottom, width, body_top - body_bottom, id="body", **no_padding)
    footer = Frame(MARGIN, footer_bottom, width, footer_height, id="footer", **no_padding)

    def decorate(canvas: Canvas, _template: BaseDocTemplate) -> None:
        canvas.saveState()
        canvas.setStrokeColor(ACCENT)
        canvas.setLineWidth(1.6)
        canvas.rect(24, 24, PAGE_WIDTH - 48, PAGE_HEIGHT - 48)
        canvas.setLineWidth(0.5)
        canvas.rect(29, 29, PAGE_WIDTH - 58, PAGE_HEIGHT - 58)
        # The issuing body's name whole, on its own line (smaller when long; on two lines at worst), and
        # its address beneath: a jury reads who issues, never « socio-écono… ».
        canvas.setFillColor(INK)
        size = _size_to_fit(doc.issuer_name, SANS_BOLD, 10.5, 8.5, width)
        lines = _wrap(doc.issuer_name, SANS_BOLD, size, width)[:2]
        top = PAGE_HEIGHT - (58 if len(lines) > 1 else 64)
        canvas.setFont(SANS_BOLD, size)
        for number, line in enumerate(lines):
            canvas.drawString(MARGIN, top - number * (size + 2), line)
        canvas.setFillColor(MUTED)
        canvas.setFont(SANS, 8)
        canvas.drawString(MARGIN, top - len(lines) * (size + 2) - 1, _fit(doc.issuer_url, SANS, 8, width))
        canvas.setStrokeColor(RULE)
        canvas.line(MARGIN, PAGE_HEIGHT - 88, PAGE_WIDTH - MARGIN, PAGE_HEIGHT - 88)
        canvas.restoreState()

    template.addPageTemplates([PageTemplate(id="certificate", frames=[body, footer], onPage=decorate)])
    # Both parts shrink rather than spill: the certificate is one page whatever the number of lines.
    template.build(
        [
            KeepInFrame(
                width, body.height - 1, _certificate_body(doc, learner, width, styles), mode="shrink"
            ),
            FrameBreak(),
            KeepInFrame(width, footer_height - 1, _certificate_footer(doc, width, styles), mode="shrink"),
        ]
    )
    return buffer.getvalue()


def _certificate_body(
    doc: CertificateDocument, learner: str, width: float, styles: dict[str, ParagraphStyle]
) -> list[Flowable]:
    if doc.first_activity == doc.issued_on:
        period = f"Formation suivie le {french_date(doc.issued_on)}"
    else:
        period = f"Formation suivie du {french_date(doc.first_activity)} au {french_date(doc.issued_on)}"
    flowables: list[Flowable] = [
        Paragraph(_text(doc.programme), styles["kicker"]),
        Spacer(0, 8),
        Paragraph(_text(doc.achievement), styles["achievement"]),
        Spacer(0, 16),
        Paragraph("délivré à", styles["issued_to"]),
        Spacer(0, 4),
        Paragraph(_text(learner), styles["learner"]),
        Spacer(0, 10),
    ]
    if doc.track:
        flowables.append(Paragraph(_text(f"{_label('Parcours')} {doc.track}"), styles["centered"]))
    flowables += [
        Paragraph(_text(f"{period}, soit {french_duration(doc.hours)} de formation."), styles["centered"]),
        Spacer(0, 14),
    ]
    for title, lines in (
        ("Blocs de compétences validés", doc.blocs),
        ("Compétences validées", doc.competences),
    ):
        if lines:
            flowables += [Paragraph(_text(title), styles["section"]), _lines_table(lines, width, styles)]
    return flowables


def _lines_table(lines: Sequence[CompetenceLine], width: float, styles: dict[str, ParagraphStyle]) -> Table:
    rows: list[list[Any]] = [["Code", "Intitulé", "Résultat", "Validé le"]]
    for line in lines:
        rows.append(
            [
                line.code,
                Paragraph(_text(line.name), styles["cell"]),
                Paragraph(_text(line.result), styles["cell"]),
                french_date(line.met_on) if line.met_on else "—",
            ]
        )
    table = Table(rows, colWidths=[34, width - 34 - 120 - 92, 120, 92], repeatRows=1)
    style = _table_style()
    style.add("FONT", (0, 1), (0, -1), SANS_BOLD, 8, 10)
    style.add("TEXTCOLOR", (0, 1), (0, -1), ACCENT)
    table.setStyle(style)
    return table


def _certificate_footer(
    doc: CertificateDocument, width: float, styles: dict[str, ParagraphStyle]
) -> list[Flowable]:
    qr_size = 112.0
    text_width = width - qr_size - 12
    details: list[Flowable] = [
        Paragraph(_text(f"Délivré le {french_date(doc.issued_on)} par {doc.issuer_name}."), styles["base"]),
    ]
    if doc.signatory_name:
        signed_by = ", ".join(part for part in (doc.signatory_name, doc.signatory_title) if part)
        details.append(Paragraph(_text(f"Pour l'organisme, {signed_by}."), styles["base"]))
    details += [
        Spacer(0, 4),
        Paragraph(_text(_label("Vérifier ce certificat")), styles["base"]),
        _url_line(doc.verify_url, text_width, styles),
        Spacer(0, 4),
        Paragraph(_text(f"{_label('Identifiant')} {doc.credential_id}"), styles["mono"]),
        Paragraph(_text(f"{_label('Règles de validation')} version {doc.rules_version}"), styles["small"]),
    ]
    table = Table([[details, _QrCode(doc.verify_url, qr_size)]], colWidths=[text_width, qr_size + 12])
    table.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), SANS, 9.5, 12.5),
                ("VALIGN", (0, 0), (-1, -1), "BOTTOM"),
                ("ALIGN", (1, 0), (1, 0), "RIGHT"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (-1, -1), 0),
                ("TOPPADDING", (0, 0), (-1, -1), 0),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 0),
            ]
        )
    )
    return [table]


def _url_line(url: str, width: float, styles: dict[str, ParagraphStyle]) -> Paragraph:
    """A link in monospace, as large as fits on one line (a very long one still wraps)."""
    size = 8.5
    while size > 5.5 and pdfmetrics.stringWidth(url, MONO, size) > width:
        size -= 0.5
    style = styles["mono"].clone("url", fontSize=size, leading=size + 3, textColor=ACCENT)
    return Paragraph(f'<a href="{escape(url, quote=True)}">{_text(url)}</a>', style)


# --- Evidence file ------------------------------------------------------------------------------------------


class _NumberedCanvas(Canvas):
    """Holds the pages back until the end so that each footer can say "page N sur M"."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._held_pages: list[dict[str, Any]] = []

    def showPage(self) -> None:  # noqa: N802  # reportlab's name
        self._held_pages.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        total = len(self._held_pages)
        for number, state in enumerate(self._held_pages, start=1):
            self.__dict__.update(state)
            self.setFont(SANS, 7.5)
            self.setFillColor(MUTED)
            self.drawRightString(PAGE_WIDTH - MARGIN, 30, f"page {number} sur {total}")
            super().showPage()
        super().save()


def evidence_pdf(doc: EvidenceDocument) -> bytes:
    """The evidence file as a multi-page A4 report: each competence, its rule and the statements behind it."""
    styles = _styles()
    learner = learner_display_name(doc.learner_name, doc.learner_ref)
    buffer = io.BytesIO()
    template = BaseDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=58,
        bottomMargin=50,
        **_metadata(f"Dossier de preuves — {learner}", "Socle", doc.programme),
    )
    width = PAGE_WIDTH - 2 * MARGIN
    frame = Frame(MARGIN, 50, width, PAGE_HEIGHT - 108, id="report", leftPadding=0, rightPadding=0)
    running_head = f"Dossier de preuves — {learner} — {doc.programme}"

    def decorate(canvas: Canvas, _template: BaseDocTemplate) -> None:
        canvas.saveState()
        canvas.setFont(SANS, 7.5)
        canvas.setFillColor(MUTED)
        canvas.drawString(MARGIN, PAGE_HEIGHT - 36, _fit(running_head, SANS, 7.5, PAGE_WIDTH - 2 * MARGIN))
        canvas.drawString(MARGIN, 30, f"Généré le {_long_datetime(doc.generated_at)} (heure de Paris)")
        canvas.setStrokeColor(RULE)
        canvas.setLineWidth(0.5)
        canvas.line(MARGIN, PAGE_HEIGHT - 42, PAGE_WIDTH - MARGIN, PAGE_HEIGHT - 42)
        canvas.restoreState()

    template.addPageTemplates([PageTemplate(id="report", frames=[frame], onPage=decorate)])
    flowables = _evidence_summary(doc, learner, width, styles)
    flowables.append(Paragraph("Compétences", styles["h1"]))
    for competence in doc.competences:
        flowables += _competence_section(competence, width, styles)
    flowables += _sessions_section(doc.sessions_attended, width, styles)
    flowables += _credentials_section(doc.credentials, width, styles)
    template.build(flowables, canvasmaker=_NumberedCanvas)
    return buffer.getvalue()


def _evidence_summary(
    doc: EvidenceDocument, learner: str, width: float, styles: dict[str, ParagraphStyle]
) -> list[Flowable]:
    facts: list[tuple[str, str]] = [("Apprenant·e", learner), ("Référence", doc.learner_ref)]
    facts.append(("Programme", doc.programme))
    if doc.track:
        facts.append(("Parcours", doc.track))
    if doc.context_title:
        facts.append(("Cours", doc.context_title))
    facts += [
        ("Plateforme", doc.platform),
        ("Heures suivies", french_duration(doc.hours)),
        ("Généré le", f"{_long_datetime(doc.generated_at)} (heure de Paris)"),
        ("Règles de validation", f"version {doc.rules_version}"),
        ("Contenus de formation", f"version {doc.content_version}"),
    ]
    rows = [[label, Paragraph(_text(value), styles["base"])] for label, value in facts]
    table = Table(rows, colWidths=[130, width - 130])
    style = _table_style(header=False)
    style.add("FONT", (0, 0), (0, -1), SANS_BOLD, 8.5, 12.5)
    style.add("TEXTCOLOR", (0, 0), (0, -1), MUTED)
    table.setStyle(style)
    return [
        Paragraph("Dossier de preuves", styles["title"]),
        Paragraph(_text(doc.programme), styles["kicker"].clone("left-kicker", alignment=0)),
        Spacer(0, 8),
        Paragraph(EVIDENCE_NOTE, styles["base"]),
        Spacer(0, 10),
        table,
    ]


def _competence_section(
    competence: CompetenceEvidence, width: float, styles: dict[str, ParagraphStyle]
) -> list[Flowable]:
    status = STATUS_LABELS.get(competence.status, competence.status)
    score = french_percent(competence.score) if competence.score is not None else "—"
    if competence.required is not None:
        score = f"{score} (requis{NBSP}: {french_percent(competence.required)})"
    flowables: list[Flowable] = [
        Paragraph(_text(f"{competence.code} — {competence.name}"), styles["h2"]),
        Paragraph(
            f"<b>{_text(_label('Statut'))}</b> {_text(status)} · "
            f"<b>{_text(_label('Score'))}</b> {_text(score)}",
            styles["keep"],
        ),
        Paragraph(f"<b>{_text(_label('Règle'))}</b> {_text(competence.rule)}", styles["keep"]),
        Spacer(0, 4),
    ]
    if not competence.items:
        flowables.append(Paragraph("Aucune déclaration.", styles["small"]))
        return flowables
    widths = [80.0, 0.0, 38.0, 160.0]
    widths[1] = width - sum(widths)
    rows: list[list[Any]] = [["Date (Paris)", "Élément", "Poids", "Identifiant de la déclaration"]]
    for item in competence.items:
        rows.append(
            [
                _short_datetime(item.when),
                Paragraph(_text(item.what), styles["cell"]),
                french_percent(item.weight * 100),
                item.statement_id,
            ]
        )
    table = Table(rows, colWidths=widths, repeatRows=1)
    style = _table_style()
    style.add("FONT", (3, 1), (3, -1), MONO, 7, 10)
    style.add("TEXTCOLOR", (3, 1), (3, -1), MUTED)
    style.add("ALIGN", (2, 1), (2, -1), "RIGHT")
    table.setStyle(style)
    flowables.append(table)
    return flowables


def _sessions_section(
    sessions: Sequence[tuple[str, datetime, int]], width: float, styles: dict[str, ParagraphStyle]
) -> list[Flowable]:
    flowables: list[Flowable] = [Paragraph("Séances en direct suivies", styles["h1"])]
    if not sessions:
        return [*flowables, Paragraph("Aucune séance en direct enregistrée.", styles["small"])]
    rows: list[list[Any]] = [["Séance", "Début (heure de Paris)", "Durée"]]
    for title, start, minutes in sessions:
        rows.append(
            [Paragraph(_text(title), styles["cell"]), _short_datetime(start), french_duration(minutes / 60)]
        )
    table = Table(rows, colWidths=[width - 100 - 60, 100, 60], repeatRows=1)
    table.setStyle(_table_style())
    return [*flowables, table]


def _credentials_section(
    credentials: Sequence[tuple[str, str, str]], width: float, styles: dict[str, ParagraphStyle]
) -> list[Flowable]:
    flowables: list[Flowable] = [Paragraph("Attestations délivrées", styles["h1"])]
    if not credentials:
        return [*flowables, Paragraph("Aucune attestation délivrée.", styles["small"])]
    for achievement, credential_id, verify_url in credentials:
        flowables += [
            Paragraph(_text(achievement), styles["h2"]),
            Paragraph(_text(f"{_label('Identifiant')} {credential_id}"), styles["mono"]),
            Paragraph(_text(_label("Vérifier cette attestation")), styles["small"]),
            _url_line(verify_url, width, styles),
        ]
    return flowables


# Shape of evidence_json (format "socle-evidence", version 1). Times are ISO 8601 in UTC ("…Z"), to the
# second; scores and required scores are percentages (or null); weights are shares of 0..1. A new key may
# be added within a version; renaming or removing one raises the version.
#
# {"format": "socle-evidence", "version": 1, "generated_at": time,
#  "rules_version": int, "content_version": int,
#  "learner": {"name": str | null, "ref": str},
#  "programme": str, "track": str | null, "context_title": str | null, "platform": str,
#  "hours": float,
#  "sessions_attended": [{"title": str, "start": time, "minutes": int}],
#  "competences": [{"code": str, "name": str, "status": "acquise" | "en cours" | "reconnue",
#                   "score": float | null, "required": float | null, "rule": str,
#                   "evidence": [{"when": time, "what": str, "weight": float, "statement_id": str}]}],
#  "credentials": [{"achievement": str, "id": str, "verify_url": str}]}


def evidence_json(doc: EvidenceDocument) -> dict[str, Any]:
    """The evidence file as JSON-ready data, in the shape described above (what a jury's tooling reads)."""
    return {
        "format": EVIDENCE_JSON_FORMAT,
        "version": EVIDENCE_JSON_VERSION,
        "generated_at": _iso(doc.generated_at),
        "rules_version": doc.rules_version,
        "content_version": doc.content_version,
        "learner": {"name": doc.learner_name.strip() or None, "ref": doc.learner_ref},
        "programme": doc.programme,
        "track": doc.track,
        "context_title": doc.context_title,
        "platform": doc.platform,
        "hours": doc.hours,
        "sessions_attended": [
            {"title": title, "start": _iso(start), "minutes": minutes}
            for title, start, minutes in doc.sessions_attended
        ],
        "competences": [
            {
                "code": competence.code,
                "name": competence.name,
                "status": competence.status,
                "score": competence.score,
                "required": competence.required,
                "rule": competence.rule,
                "evidence": [
                    {
                        "when": _iso(item.when),
                        "what": item.what,
                        "weight": item.weight,
                        "statement_id": item.statement_id,
                    }
                    for item in competence.items
                ],
            }
            for competence in doc.competences
        ],
        "credentials": [
            {"achievement": achievement, "id": credential_id, "verify_url": verify_url}
            for achievement, credential_id, verify_url in doc.credentials
        ],
    }


def evidence_from_json(data: dict[str, Any]) -> EvidenceDocument:
    """The evidence file read back from its JSON (``evidence_json``'s inverse): the file frozen when a
    credential was issued is rendered as a PDF from exactly what it says."""
    when = datetime.fromisoformat
    return EvidenceDocument(
        learner_name=data["learner"]["name"] or "",
        learner_ref=data["learner"]["ref"],
        programme=data["programme"],
        track=data["track"],
        context_title=data["context_title"],
        platform=data["platform"],
        generated_at=when(data["generated_at"]),
        rules_version=data["rules_version"],
        content_version=data["content_version"],
        hours=data["hours"],
        sessions_attended=[(s["title"], when(s["start"]), s["minutes"]) for s in data["sessions_attended"]],
        competences=[
            CompetenceEvidence(
                code=c["code"],
                name=c["name"],
                status=c["status"],
                score=c["score"],
                required=c["required"],
                rule=c["rule"],
                items=[
                    EvidenceItem(when(i["when"]), i["what"], i["weight"], i["statement_id"])
                    for i in c["evidence"]
                ],
            )
            for c in data["competences"]
        ],
        credentials=[(c["achievement"], c["id"], c["verify_url"]) for c in data["credentials"]],
    )


# --- Badge images ------------------------------------------------------------------------------------------

BADGE_SIZE = 400


def badge_png(code: str, name: str) -> bytes:
    """A square PNG badge: a disc with the code (« CERTIFICAT » for a track's certificate, nothing for the
    issuer) and the name beneath, in the shipped DejaVu fonts; the name is also the PNG's Title."""
    from PIL import Image, ImageDraw, ImageFont
    from PIL.PngImagePlugin import PngInfo

    size = BADGE_SIZE
    image = Image.new("RGBA", (size, size), (255, 255, 255, 0))
    draw = ImageDraw.Draw(image)
    draw.ellipse((4, 4, size - 4, size - 4), fill="#1f4e79")
    draw.ellipse((22, 22, size - 22, size - 22), outline="#ffffff", width=5)
    label = "CERTIFICAT" if code.startswith("certificate-") else code
    title = name.split(" — ", 1)[-1]
    bold = str(FONTS_DIR / "DejaVuSans-Bold.ttf")
    regular = str(FONTS_DIR / "DejaVuSans.ttf")
    top = 150.0
    if label:
        font = ImageFont.truetype(bold, 72 if len(label) <= 3 else 40)
        draw.text((size / 2, top), label, font=font, fill="#ffffff", anchor="mm")
        top += 70
    else:
        top = 120.0
    text_font = ImageFont.truetype(regular, 22)
    for number, line in enumerate(_wrap_pixels(draw, title, text_font, size - 110)[:4]):
        draw.text((size / 2, top + number * 28), line, font=text_font, fill="#ffffff", anchor="mm")
    info = PngInfo()
    info.add_itxt("Title", name, lang="fr")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", pnginfo=info, optimize=True)
    return buffer.getvalue()


def _wrap_pixels(draw: Any, text: str, font: Any, width: float) -> list[str]:
    lines: list[str] = []
    for word in text.split():
        if lines and draw.textlength(f"{lines[-1]} {word}", font=font) <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return lines
