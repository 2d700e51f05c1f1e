"""The DU jury's files: the summary table (one line per learner) and the jury ZIP (each learner's evidence
file with that summary), produced as chunks a response can stream or a caller write to a file. No Flask
here."""

from __future__ import annotations

import json
import re
import unicodedata
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import IO, Any

from sqlalchemy import func, select

from lti_tool.certificates import credentials as ob
from lti_tool.certificates import evidence, issuing
from lti_tool.certificates.documents import PARIS, evidence_json, evidence_pdf
from lti_tool.certificates.models import Credential
from lti_tool.competences.models import CompetenceState
from lti_tool.competences.services import rules_of
from lti_tool.content.loader import Content
from lti_tool.dashboard.scope import StaffScope
from lti_tool.db import DbSession
from lti_tool.exports.selection import EVERYTHING, Member, Selection, followed, members, track_of, tracks
from lti_tool.exports.writing import IDENTITY_HEADER, csv_bytes, csv_chunks, day, decimal
from lti_tool.training.models import Attendance, LiveSession


# -- the jury ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class JuryLine:
    member: Member
    track: str
    row: list[str]


def jury_header(content: Content, with_files: bool = False) -> list[str]:
    header = [*IDENTITY_HEADER, "Parcours"]
    for bloc in content.programme.blocs:
        header += [bloc.code, f"{bloc.code} acquis le", f"{bloc.code} certificat (identifiant)"]
    header += [
        "Certificat d'aptitude",
        "Certificat délivré le",
        "Certificat d'aptitude (identifiant)",
        "Certificats révoqués",
        "Première activité",
        "Heures suivies (modules terminés)",
        "Séances en direct suivies",
        "Heures de séances en direct",
    ]
    if with_files:
        header.append("Dossier de preuves")
    return header


def jury_lines(
    session: DbSession,
    scope: StaffScope,
    content: Content,
    chosen: Selection = EVERYTHING,
    tz: tzinfo = PARIS,
) -> list[JuryLine]:
    """The jury's summary, one line per learner and course: each bloc's result, date and credential id, the
    certificate, hours followed and live sessions attended. Six queries, whatever the cohort's size."""
    people = members(session, scope, chosen)
    known_tracks = tracks(session, scope, content, chosen)
    rules = rules_of(content)
    programme = content.programme
    bloc_codes = [b.code for b in programme.blocs]
    met: dict[tuple[int, int, str], datetime | None] = {}
    for learner_id, context_pk, code, met_at in session.execute(
        select(
            CompetenceState.learner_id,
            CompetenceState.context_pk,
            CompetenceState.code,
            CompetenceState.met_at,
        ).where(
            CompetenceState.code.in_(bloc_codes),
            CompetenceState.is_met.is_(True),
            *chosen.where(scope, CompetenceState.context_pk, CompetenceState.learner_id),
        )
    ):
        met[(learner_id, context_pk, code)] = met_at
    issued: dict[tuple[int, int, str], Any] = {}
    for issued_row in session.execute(
        select(
            Credential.id,
            Credential.learner_id,
            Credential.context_pk,
            Credential.achievement,
            Credential.issued_at,
            Credential.revoked_at,
        )
        .where(*chosen.where(scope, Credential.context_pk, Credential.learner_id))
        # Earned again after a revocation: the latest credential is the one the row names.
        .order_by(Credential.issued_at, Credential.revoked_at.is_(None))
    ):
        issued[(issued_row.learner_id, issued_row.context_pk, issued_row.achievement)] = issued_row
    hours = followed(session, scope, content, chosen)
    live: dict[tuple[int, int], tuple[int, int]] = {}
    for learner_id, context_pk, count, minutes in session.execute(
        select(
            Attendance.learner_id,
            LiveSession.context_pk,
            func.count(Attendance.id),
            func.sum(LiveSession.duration_minutes),
        )
        .join(LiveSession, LiveSession.id == Attendance.session_id)
        .where(
            Attendance.is_present.is_(True),
            *chosen.where(scope, LiveSession.context_pk, Attendance.learner_id),
        )
        .group_by(Attendance.learner_id, LiveSession.context_pk)
    ):
        live[(learner_id, context_pk)] = (int(count), int(minutes or 0))
    track_names = {t.code: t.name.fr for t in programme.tracks}
    lines = []
    for member in people:
        learner_id, context_pk = member.key
        track = track_of(known_tracks, member)
        in_track = set(rules.tracks.get(track, []))
        row = [*member.identity(), track_names.get(track, track)]
        revoked = []
        for code in bloc_codes:
            credential = issued.get((learner_id, context_pk, code))
            met_at = met.get((learner_id, context_pk, code))
            is_met = (learner_id, context_pk, code) in met
            result = "acquis" if is_met else ("en cours" if code in in_track else "hors parcours")
            row += [
                result,
                day(met_at, tz) if is_met else "",
                credential.id if credential is not None else "",
            ]
            if credential is not None and credential.revoked_at is not None:
                revoked.append(code)
        certificate = issued.get((learner_id, context_pk, issuing.CERTIFICATE + track))
        if certificate is None:
            row += ["en cours", "", ""]
        else:
            row += [
                "révoqué" if certificate.revoked_at is not None else "délivré",
                day(certificate.issued_at, tz),
                certificate.id,
            ]
            if certificate.revoked_at is not None:
                revoked.append("certificat")
        activity = hours.get(member.key)
        sessions_count, sessions_minutes = live.get(member.key, (0, 0))
        row += [
            ", ".join(revoked),
            day(activity.first_at, tz) if activity is not None else "",
            decimal(activity.hours if activity is not None else 0.0, 2),
            str(sessions_count),
            decimal(sessions_minutes / 60, 2),
        ]
        lines.append(JuryLine(member, track, row))
    return lines


def jury_summary(
    session: DbSession,
    scope: StaffScope,
    content: Content,
    chosen: Selection = EVERYTHING,
    tz: tzinfo = PARIS,
) -> Iterator[bytes]:
    """The jury's summary alone, as CSV chunks (the whole cohort in seconds, without the evidence files)."""
    lines = jury_lines(session, scope, content, chosen, tz)
    return csv_chunks(jury_header(content), (line.row for line in lines))


def slug(text: str, limit: int = 40) -> str:
    """ASCII for a file name inside the ZIP (every unzip tool reads it the same)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:limit].strip("-")


def evidence_file_name(member: Member) -> str:
    """Where a learner's evidence files go in the jury ZIP (without the extension): one folder per course,
    the name then the start of the Socle reference, so that two namesakes never collide."""
    course = f"{member.context_pk}-{slug(member.course) or 'cours'}"
    person = slug(member.full_name) or "apprenant"
    return f"dossiers/{course}/{person}-{member.ref[:8]}"


class _Chunks:
    """A write-only file for ``zipfile``: keeps what was written until the next ``drain``. It has no
    ``tell``/``seek``, so ``zipfile`` writes data descriptors and never goes back (a streamable ZIP)."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def write(self, data: bytes) -> int:
        self._parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass

    def drain(self) -> bytes:
        data = b"".join(self._parts)
        self._parts.clear()
        return data


def jury_zip(
    session: DbSession,
    scope: StaffScope,
    content: Content,
    urls: ob.Urls,
    chosen: Selection = EVERYTHING,
    tz: tzinfo = PARIS,
) -> Iterator[bytes]:
    """The jury file as ZIP chunks: ``synthese.csv`` first (the summary, naming each learner's files), then
    per learner and course the evidence file as PDF and JSON (``certificates.evidence``). A PDF is rendered
    per learner (bench/exports.py: 0.03–0.04 s each, longer for long histories): a chunk is yielded after
    each learner, so a response streams while the next is rendered, whatever the cohort's size."""
    lines = jury_lines(session, scope, content, chosen, tz)
    names = {line.member.key: evidence_file_name(line.member) for line in lines}
    sink = _Chunks()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        summary = csv_bytes(
            jury_header(content, with_files=True),
            ([*line.row, names[line.member.key] + ".pdf"] for line in lines),
        )
        archive.writestr(_entry("synthese.csv"), summary, zipfile.ZIP_DEFLATED)
        yield sink.drain()
        for line in lines:
            learner_id, context_pk = line.member.key
            document = evidence.evidence_document(session, learner_id, context_pk, content, urls)
            name = names[line.member.key]
            # reportlab compresses its page streams already: store the PDF, deflate the JSON.
            archive.writestr(_entry(name + ".pdf"), evidence_pdf(document), zipfile.ZIP_STORED)
            archive.writestr(
                _entry(name + ".json"),
                json.dumps(evidence_json(document), ensure_ascii=False, indent=2),
                zipfile.ZIP_DEFLATED,
            )
            yield sink.drain()
    yield sink.drain()


def _entry(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=_zip_time())
    info.external_attr = 0o644 << 16
    return info


def _zip_time() -> tuple[int, int, int, int, int, int]:
    now = datetime.now(PARIS)  # ZIP times carry no zone: the programme's local time
    return (now.year, now.month, now.day, now.hour, now.minute, now.second)


def write(chunks: Iterable[bytes], out: IO[bytes]) -> int:
    """Write an export's chunks to a file; return the bytes written."""
    size = 0
    for chunk in chunks:
        out.write(chunk)
        size += len(chunk)
    return size
