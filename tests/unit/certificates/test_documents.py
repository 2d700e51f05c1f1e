"""The PDF certificate and the evidence file (PDF and JSON), read back with pypdf."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from uuid import UUID

import pytest
import segno
from pypdf import PdfReader
from pypdf.generic import ContentStream
from reportlab.pdfbase.ttfonts import TTFontFile

from lti_tool.certificates.documents import (
    FONTS_DIR,
    CertificateDocument,
    CompetenceEvidence,
    CompetenceLine,
    EvidenceDocument,
    EvidenceItem,
    badge_png,
    certificate_pdf,
    evidence_from_json,
    evidence_json,
    evidence_pdf,
    french_date,
    french_duration,
    french_percent,
)

VERIFY_URL = "https://socle.example.org/verify/urn:uuid:6f1c2a4e-1b7d-4c2e-9a51-0d3e8b7f2c10"
FRENCH_SAMPLE = "é è à ç œ « » ’ —"


def certificate(**changes: object) -> CertificateDocument:
    doc = CertificateDocument(
        credential_id="urn:uuid:6f1c2a4e-1b7d-4c2e-9a51-0d3e8b7f2c10",
        learner_name="Apprenant·e Test",
        learner_ref="lrn-7f3a",
        programme="Formation « Socle » des fundraisers",
        achievement="Certificat d’aptitude — Parcours fundraiser",
        track="Fundraiser en poste",
        blocs=[
            CompetenceLine("B1", "Analyser et mettre en cohérence", "Acquis", date(2026, 11, 1)),
            CompetenceLine("B2", "Élaborer la stratégie de collecte", "Acquis", date(2026, 11, 20)),
        ],
        competences=[
            CompetenceLine("C1", "Diagnostiquer l’organisation et son œuvre", "82 %", date(2026, 10, 3)),
            CompetenceLine(
                "C2", "Choisir les leviers de collecte à privilégier", "Acquise", date(2026, 10, 9)
            ),
            CompetenceLine("C3", "Fidéliser les donateurs", "Reconnue (acquis antérieurs)", None),
        ],
        first_activity=date(2026, 3, 2),
        issued_on=date(2026, 11, 26),
        hours=12.5,
        issuer_name="Organisme de formation test",
        issuer_url="https://socle.example.org",
        verify_url=VERIFY_URL,
        rules_version=3,
    )
    return replace(doc, **changes)


def statement_id(n: int) -> str:
    return str(UUID(int=0x5EED_0000_0000_0000 + n))


def evidence(items: int, **changes: object) -> EvidenceDocument:
    start = datetime(2026, 3, 2, 8, 30, tzinfo=UTC)
    competences = []
    for c in range(3):
        share = range(c, items, 3)  # items spread over three competences
        competences.append(
            CompetenceEvidence(
                code=f"C{c + 1}",
                name=f"Compétence {c + 1} — élaborer la stratégie",
                status=("acquise", "en cours", "reconnue")[c],
                score=(82.5, 40.0, None)[c],
                required=(70.0, 70.0, None)[c],
                rule="Score pondéré des quiz M1 et M2 ≥ 70 % ; modules M1 et M2 terminés",
                items=[
                    EvidenceItem(
                        start + timedelta(hours=n),
                        f"Quiz M1 réussi (tentative {n}) — 83 %",
                        0.25,
                        statement_id(n),
                    )
                    for n in share
                ],
            )
        )
    doc = EvidenceDocument(
        learner_name="Apprenant·e Test",
        learner_ref="lrn-7f3a",
        programme="Formation « Socle » des fundraisers",
        track="Fundraiser en poste",
        context_title="Promotion test",
        platform="Plateforme de test",
        generated_at=datetime(2026, 11, 26, 13, 5, tzinfo=UTC),
        rules_version=3,
        content_version=2,
        hours=12.5,
        sessions_attended=[("Séance M5 — étude de cas", datetime(2026, 6, 4, 16, 0, tzinfo=UTC), 90)],
        competences=competences,
        credentials=[("Certificat d’aptitude — Parcours fundraiser", "urn:uuid:test-credential", VERIFY_URL)],
    )
    return replace(doc, **changes)


def read(pdf: bytes) -> PdfReader:
    return PdfReader(io.BytesIO(pdf))


def text_of(reader: PdfReader) -> str:
    """All the pages' text, lines joined (a wrapped paragraph reads as one line)."""
    return " ".join(" ".join(page.extract_text().split()) for page in reader.pages)


def test_certificate_is_one_a4_page() -> None:
    reader = read(certificate_pdf(certificate()))

    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842)


def test_certificate_shows_learner_achievement_every_line_dates_and_verification() -> None:
    doc = certificate()
    text = text_of(read(certificate_pdf(doc)))

    for expected in (
        "Apprenant·e Test",
        "délivré à",
        "Certificat d’aptitude — Parcours fundraiser",
        "Formation « Socle » des fundraisers",
        "Parcours : Fundraiser en poste",
        "Formation suivie du 2 mars 2026 au 26 novembre 2026, soit 12 h 30 de formation.",
        "Délivré le 26 novembre 2026 par Organisme de formation test.",
        "Vérifier ce certificat :",
        VERIFY_URL,
        "urn:uuid:6f1c2a4e-1b7d-4c2e-9a51-0d3e8b7f2c10",
        "Règles de validation : version 3",
        "1er novembre 2026",
        "Reconnue (acquis antérieurs)",
    ):
        assert expected in text
    for line in [*doc.blocs, *doc.competences]:
        assert line.code in text
        assert line.name in text


LONG_ISSUER = "Socle — programme (Re)connaissance des modèles socio-économiques"


@pytest.mark.parametrize("issuer", [LONG_ISSUER, LONG_ISSUER + " et des fondations d'intérêt général"])
def test_certificate_header_names_the_issuing_body_whole(issuer: str) -> None:
    text = text_of(
        read(certificate_pdf(certificate(issuer_name=issuer, issuer_url="https://socle.example.org")))
    )

    header = text.split("https://socle.example.org", 1)[0]
    assert " ".join(issuer.split()) in " ".join(header.split()) and "…" not in header, header


def test_certificate_names_the_signatory_for_the_issuing_body() -> None:
    doc = certificate(signatory_name="Claire Martin", signatory_title="Responsable pédagogique")
    text = text_of(read(certificate_pdf(doc)))

    assert "Délivré le 26 novembre 2026 par Organisme de formation test." in text
    assert "Pour l'organisme, Claire Martin, Responsable pédagogique." in text
    assert "Pour l'organisme" not in text_of(read(certificate_pdf(certificate())))


def test_badge_images_are_square_pngs_named_after_their_achievement() -> None:
    from PIL import Image

    images = {}
    for code, name in (
        ("B1", "Bloc B1 — Analyser et mettre en cohérence"),
        ("certificate-fundraiser", "Certificat d'aptitude — Parcours fundraiser"),
        ("", "Socle — programme (Re)connaissance des modèles socio-économiques"),
    ):
        png = badge_png(code, name)
        image = Image.open(io.BytesIO(png))
        assert image.format == "PNG" and image.size == (400, 400)
        assert image.text["Title"] == name  # type: ignore[attr-defined]
        assert badge_png(code, name) == png  # the same bytes every time (cacheable)
        images[code] = png
    assert len(set(images.values())) == 3


def test_evidence_json_reads_back_into_the_same_document() -> None:
    doc = evidence(7)
    data = evidence_json(doc)

    assert evidence_json(evidence_from_json(json.loads(json.dumps(data)))) == data


def test_certificate_keeps_french_characters_intact() -> None:
    text = text_of(read(certificate_pdf(certificate(track=FRENCH_SAMPLE))))

    assert f"Parcours : {FRENCH_SAMPLE}" in text


def test_certificate_names_the_learner_by_reference_when_there_is_no_name() -> None:
    reader = read(certificate_pdf(certificate(learner_name="  ")))

    assert "Apprenant·e lrn-7f3a" in text_of(reader)
    assert reader.metadata is not None
    assert reader.metadata.title == "Certificat d’aptitude — Parcours fundraiser — Apprenant·e lrn-7f3a"


def test_certificate_qr_code_is_the_verification_url() -> None:
    page = read(certificate_pdf(certificate())).pages[0]
    form = page["/Resources"]["/XObject"]["/FormXob.qr"].get_object()
    assert b"/FormXob.qr Do" in page.get_contents().get_data()

    rects = [
        [float(value) for value in operands]
        for operands, operator in ContentStream(form, None).operations
        if operator == b"re"
    ]
    module = min(height for _, _, _, height in rects)
    size = round(float(form["/BBox"][2]) / module)
    drawn = set()
    for x, y, width, _ in rects:
        row = size - 1 - round(y / module)
        for column in range(round(x / module), round((x + width) / module)):
            drawn.add((row, column))

    matrix = segno.make(VERIFY_URL, error="m", micro=False).matrix
    quiet = (size - len(matrix)) // 2
    expected = {
        (row + quiet, column + quiet)
        for row, values in enumerate(matrix)
        for column, value in enumerate(values)
        if value
    }
    assert quiet >= 4  # the quiet zone the QR specification requires
    assert drawn == expected


def test_certificate_stays_on_one_page_with_many_long_lines() -> None:
    long_name = "Concevoir, piloter et évaluer une stratégie de collecte pluriannuelle " * 2
    lines = [
        CompetenceLine(f"C{n}", long_name, "Reconnue (acquis antérieurs)", date(2026, 10, 1))
        for n in range(1, 31)
    ]
    reader = read(certificate_pdf(certificate(competences=lines, blocs=lines[:8])))

    assert len(reader.pages) == 1
    assert "C30" in text_of(reader)


def test_certificate_metadata_and_language() -> None:
    reader = read(certificate_pdf(certificate()))

    assert reader.metadata is not None
    assert reader.metadata.title == "Certificat d’aptitude — Parcours fundraiser — Apprenant·e Test"
    assert reader.metadata.author == "Organisme de formation test"
    assert reader.metadata.subject == "Formation « Socle » des fundraisers"
    assert reader.trailer["/Root"]["/Lang"] == "fr-FR"


def test_certificate_is_reproducible() -> None:
    assert certificate_pdf(certificate()) == certificate_pdf(certificate())


@pytest.mark.parametrize("pdf", [lambda: certificate_pdf(certificate()), lambda: evidence_pdf(evidence(3))])
def test_every_font_is_embedded(pdf: Callable[[], bytes]) -> None:
    reader = read(pdf())
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            assert "/FontFile2" in font.get_object()["/FontDescriptor"]


@pytest.mark.parametrize("file", ["DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSansMono.ttf"])
def test_shipped_fonts_have_every_french_glyph(file: str) -> None:
    glyphs = TTFontFile(str(FONTS_DIR / file)).charToGlyph

    assert all(ord(char) in glyphs for char in FRENCH_SAMPLE + "ÉÈÀÇŒ·\u00a0\u202f")


def test_french_formats() -> None:
    assert french_date(date(2026, 11, 26)) == "26\u00a0novembre\u00a02026"
    assert french_date(date(2026, 8, 1)) == "1er\u00a0août\u00a02026"
    assert french_duration(12.5) == "12\u00a0h\u00a030"
    assert french_duration(3) == "3\u00a0h"
    assert french_duration(0.75) == "45\u00a0min"
    assert french_duration(1 + 5 / 60) == "1\u00a0h\u00a005"
    assert french_percent(82) == "82\u00a0%"
    assert french_percent(82.46) == "82,5\u00a0%"
    assert french_percent(0) == "0\u00a0%"


def test_evidence_pdf_flows_over_pages_and_lists_every_statement() -> None:
    reader = read(evidence_pdf(evidence(300)))
    text = text_of(reader)

    assert len(reader.pages) > 5
    assert f"page 1 sur {len(reader.pages)}" in text
    for n in range(300):
        assert statement_id(n) in text


def test_evidence_pdf_shows_each_section() -> None:
    text = text_of(read(evidence_pdf(evidence(6))))

    for expected in (
        "Dossier de preuves",
        "Apprenant·e Test",
        "Heures suivies 12 h 30",
        "Généré le 26 novembre 2026 à 14 h 05 (heure de Paris)",
        "C1 — Compétence 1 — élaborer la stratégie",
        "Statut : Acquise · Score : 82,5 % (requis : 70 %)",
        "Statut : En cours · Score : 40 % (requis : 70 %)",
        "Statut : Reconnue · Score : —",
        "Règle : Score pondéré des quiz M1 et M2 ≥ 70 % ; modules M1 et M2 terminés",
        "02/03/2026 09:30 Quiz M1 réussi (tentative 0) — 83 % 25 %",  # UTC 08:30 shown in Paris time
        "Séance M5 — étude de cas 04/06/2026 18:00 1 h 30",
        "Attestations délivrées",
        "urn:uuid:test-credential",
        VERIFY_URL,
        "Il prépare la décision du jury ; il ne la remplace pas.",
    ):
        assert expected in text


def test_evidence_pdf_without_name_sessions_or_credentials() -> None:
    doc = evidence(0, learner_name="", sessions_attended=[], credentials=[], track=None, context_title=None)
    text = text_of(read(evidence_pdf(doc)))

    assert "Apprenant·e lrn-7f3a" in text
    assert "Aucune déclaration." in text
    assert "Aucune séance en direct enregistrée." in text
    assert "Aucune attestation délivrée." in text


def test_evidence_json_round_trips_and_lists_every_statement() -> None:
    data = evidence_json(evidence(300))

    assert json.loads(json.dumps(data)) == data
    assert (data["format"], data["version"]) == ("socle-evidence", 1)
    ids = [item["statement_id"] for competence in data["competences"] for item in competence["evidence"]]
    assert sorted(ids) == sorted(statement_id(n) for n in range(300))
    assert data["generated_at"] == "2026-11-26T13:05:00Z"
    assert data["competences"][0]["evidence"][0] == {
        "when": "2026-03-02T08:30:00Z",
        "what": "Quiz M1 réussi (tentative 0) — 83 %",
        "weight": 0.25,
        "statement_id": statement_id(0),
    }
    assert data["sessions_attended"] == [
        {"title": "Séance M5 — étude de cas", "start": "2026-06-04T16:00:00Z", "minutes": 90}
    ]
    assert data["credentials"] == [
        {
            "achievement": "Certificat d’aptitude — Parcours fundraiser",
            "id": "urn:uuid:test-credential",
            "verify_url": VERIFY_URL,
        }
    ]
    assert data["learner"] == {"name": "Apprenant·e Test", "ref": "lrn-7f3a"}


def test_evidence_json_has_no_name_when_the_learner_has_none() -> None:
    assert evidence_json(evidence(1, learner_name=""))["learner"] == {"name": None, "ref": "lrn-7f3a"}


def test_evidence_times_must_be_aware() -> None:
    naive = evidence(0, generated_at=datetime(2026, 11, 26, 13, 5))  # noqa: DTZ001

    with pytest.raises(ValueError, match="timezone-aware"):
        evidence_json(naive)
    with pytest.raises(ValueError, match="timezone-aware"):
        evidence_pdf(naive)
