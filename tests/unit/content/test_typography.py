"""French typography applied by the content pipeline: spacing in text, never in URLs, times, code or links."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from lti_tool.content.loader import ContentError, load_content
from lti_tool.content.typography import (
    NBSP,
    NNBSP,
    apply_to_data,
    check_text,
    french,
    render_markdown,
)

ROOT = Path(__file__).resolve().parents[3] / "modules"
MD = MarkdownIt("commonmark", {"html": False}).enable("table")


def show(text: str) -> str:
    """Visible spaces for readable assertions: ⍽ narrow no-break, ° no-break."""
    return text.replace(NNBSP, "⍽").replace(NBSP, "°")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Exact : la réponse.", "Exact⍽: la réponse."),
        ("Pourquoi ? Parce que ; enfin !", "Pourquoi⍽? Parce que⍽; enfin⍽!"),
        ("Pourquoi? Parce que; enfin!", "Pourquoi⍽? Parce que⍽; enfin⍽!"),
        ("« Un modèle au service de quoi ? »", "«⍽Un modèle au service de quoi⍽?⍽»"),
        ("«Coluche»", "«⍽Coluche⍽»"),
        ("Juris Associations n°603 et N° 643", "Juris Associations n°°603 et N°°643"),
        ("déjà\u00a0: fait", "déjà⍽: fait"),  # an author's no-break space becomes the thin one
        ("Déjà\u202f: fait", "Déjà⍽: fait"),  # idempotent
        ("« de la maison »,", "«⍽de la maison⍽»,"),
    ],
)
def test_french_spacing(text: str, expected: str) -> None:
    assert show(french(text)) == expected
    assert french(french(text)) == french(text)  # applying twice changes nothing


@pytest.mark.parametrize(
    "text",
    [
        "Rendez-vous à 10:30 ou 13:00.",  # times
        "Voir https://www.lerameau.fr/36814-2/?a=1&b=2 pour le détail.",  # a URL keeps every character
        "Le site www.service-public.fr/particuliers?x=y est une source.",
        "Le ratio 3:1 et la condition a!=b.",  # glued signs are not spaced
        "mailto:contact@example.org",
    ],
)
def test_what_is_left_alone(text: str) -> None:
    assert french(text) == text


def test_a_url_inside_a_sentence_keeps_its_characters_but_the_sentence_is_spaced() -> None:
    text = "Source : https://bofip.impots.gouv.fr/bofip/10963-PGP?x=1 ; voir aussi."
    assert show(french(text)) == "Source⍽: https://bofip.impots.gouv.fr/bofip/10963-PGP?x=1⍽; voir aussi."


def test_markdown_spacing_only_in_text_tokens() -> None:
    html = render_markdown(
        MD,
        "Le [site : officiel](https://example.org/a?b=c:d) dit : `x ? y : z` !\n\n"
        "```\ncode ; ici : rien\n```\n\n"
        "**Exact** : oui ; «[lien](https://example.org)»",
    )
    # link target untouched, link text spaced
    assert 'href="https://example.org/a?b=c:d"' in html
    assert f"site{NNBSP}: officiel" in html
    # inline code and code blocks untouched
    assert "<code>x ? y : z</code>" in html
    assert "code ; ici : rien" in html
    # text around inline elements spaced, including signs glued to a link
    assert f"</strong>{NNBSP}: oui{NNBSP};" in html
    assert f"«{NNBSP}<a " in html and f"</a>{NNBSP}»" in html


def test_markdown_tables_and_attributes_untouched() -> None:
    html = render_markdown(MD, '| A : b | C |\n|---|---|\n| ? | [x](https://e.org/"q") |\n')
    assert f"A{NNBSP}: b" in html
    assert 'href="https://e.org/%22q%22"' in html


def test_yaml_data_french_only_and_never_ids_or_conditions() -> None:
    data = {
        "id": "q01",
        "prompt": "Quoi ?",
        "choices": [{"id": "a", "text": "Oui !", "correct": True, "feedback": "Exact : bien."}],
        "label": {"fr": "Votre rôle ?", "en": "Your role?"},
        "when": {"profile": {"P1": "a ? b"}},
        "feedback": {"correct": "Bien : oui.", "incorrect": "Non : relisez."},
        "items": ["Un : deux"],
    }
    out = apply_to_data(data)
    assert out["id"] == "q01" and out["when"] == data["when"]
    assert out["prompt"] == f"Quoi{NNBSP}?"
    assert out["choices"][0]["text"] == f"Oui{NNBSP}!" and out["choices"][0]["correct"] is True
    assert out["choices"][0]["feedback"] == f"Exact{NNBSP}: bien."
    assert out["label"] == {"fr": f"Votre rôle{NNBSP}?", "en": "Your role?"}
    assert out["feedback"]["incorrect"] == f"Non{NNBSP}: relisez."
    assert out["items"] == [f"Un{NNBSP}: deux"]


def test_check_text_names_what_the_pipeline_cannot_fix() -> None:
    text = (
        "Selon les chiffres de Le RAMEAU.\n"
        "Un Chercheur·se, une salarié.e, un(e) ami(e).\n"
        "Voir https://example.org/de Le RAMEAU et du RAMEAU.\n"
    )
    found = [(line, excerpt) for line, excerpt, _ in check_text(text)]
    assert (1, "de Le RAMEAU") in found
    assert (2, "Chercheur·se") in found
    assert (2, "salarié.e") in found
    assert all(line != 3 for line, _ in found)  # URLs are not wording; « du RAMEAU » is right


def test_the_shipped_content_is_typeset() -> None:
    content = load_content(ROOT)
    pages = "".join(page.html for module in content.modules for page in module.pages)
    assert NNBSP in pages
    assert " :" not in pages and " ?" not in pages and "« " not in pages
    m4 = content.module("M4")
    assert m4 is not None
    assert all(NNBSP in q.prompt or not q.prompt.rstrip().endswith("?") for q in m4.quiz.questions)
    assert content.diagnostic.profiling[0].prompt.fr.endswith(f"{NNBSP}?")
    assert content.diagnostic.profiling[0].prompt.en.endswith("e?")


def test_modules_check_reports_wording(tmp_path: Path) -> None:
    target = tmp_path / "modules"
    shutil.copytree(ROOT, target)
    page = target / "m1-fondamentaux" / "pages" / "01-trois-leviers.md"
    page.write_text(page.read_text(encoding="utf-8") + "\nLes travaux de Le RAMEAU.\n", encoding="utf-8")
    with pytest.raises(ContentError) as error:
        load_content(target)
    messages = [str(p) for p in error.value.problems]
    assert len(messages) == 1
    assert messages[0].startswith("modules/m1-fondamentaux/pages/01-trois-leviers.md: line ")
    assert "du RAMEAU" in messages[0]


class _Source:
    """A catalogue with no French translation: the msgid is the text (French is the source language)."""

    def ugettext(self, message: str) -> str:
        return message

    def ungettext(self, singular: str, plural: str, n: int) -> str:
        return singular if n == 1 else plural

    def upgettext(self, context: str, message: str) -> str:
        return message


def test_the_french_catalogue_spaces_ui_strings_and_keeps_placeholders() -> None:
    from lti_tool.content.typography import FrenchCatalogue

    catalogue = FrenchCatalogue(_Source())
    assert show(catalogue.ugettext("Score : %(score)s %% (seuil : %(t)s %%)")) == (
        "Score⍽: %(score)s %% (seuil⍽: %(t)s %%)"
    )
    assert catalogue.ugettext("Score : %(s)s") % {"s": "a : b"} == f"Score{NNBSP}: a : b"  # values untouched
    assert show(catalogue.ungettext("%(n)s essai ?", "%(n)s essais !", 2)) == "%(n)s essais⍽!"
    assert show(catalogue.upgettext("quiz", "Relire « %(title)s »")) == "Relire «⍽%(title)s⍽»"
    # what is glued stays glued: addresses, times, query strings
    assert catalogue.ugettext("Voir https://socle.example/a?b=1 à 10:30") == (
        "Voir https://socle.example/a?b=1 à 10:30"
    )


def test_french_markup_spaces_text_but_not_tags_or_character_references() -> None:
    from lti_tool.content.typography import french_markup

    html = '<a href="/x?a=b" title="Quoi ?">l&#39; ? Voir :</a> <b>Ok</b> !'
    assert show(french_markup(html)) == '<a href="/x?a=b" title="Quoi ?">l&#39;⍽? Voir⍽:</a> <b>Ok</b>⍽!'
