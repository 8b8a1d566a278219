"""The bibliography: well-formed entries, and no known-bad citation left in the code or README."""

from __future__ import annotations

from pathlib import Path

import pytest

from models.references import KEY_PATTERN, REFERENCES, Reference, cite

ROOT = Path(__file__).resolve().parents[2]

# citations that do not exist as written: the CS:GO loot-box figures are Zendle, Petrovskaya &
# Wardle 2020 (a preprint), and R. Soc. Open Sci. 6:190049 is Zendle, Meyer & Over 2019
KNOWN_BAD = ("7:190049", "Zendle et al. 2020")


def test_every_key_is_well_formed_and_matches_its_entry() -> None:
    assert REFERENCES, "the bibliography is empty"
    for key, ref in REFERENCES.items():
        assert isinstance(ref, Reference)
        assert ref.key == key
        assert KEY_PATTERN.fullmatch(key), key
        year = key.rsplit("-", 1)[1]
        assert year in ref.citation, f"{key}: year {year} not in its citation"


def test_every_entry_has_a_citation_and_says_what_it_shows() -> None:
    for key, ref in REFERENCES.items():
        assert ref.citation.strip() == ref.citation, key
        assert len(ref.citation) > 20, key
        assert ref.shows.strip() == ref.shows, key
        assert len(ref.shows) > 20, key
        assert ref.shows.endswith("."), key
        assert ref.citation.startswith(ref.short), key


def test_citations_are_unique() -> None:
    citations = [ref.citation for ref in REFERENCES.values()]
    assert len(set(citations)) == len(citations)


def test_cite_gives_the_citation_and_what_the_work_shows() -> None:
    text = cite("zendle-petrovskaya-wardle-2020")
    assert text.startswith("Zendle D, Petrovskaya E, Wardle H 2020.")
    assert "PsyArXiv" in text
    assert "26.33 %" in text
    assert cite("braverman-shaffer-2012").startswith("Braverman J, Shaffer HJ 2012.")
    assert "22:273" in cite("braverman-shaffer-2012")


def test_cite_fails_loudly_on_an_unknown_key() -> None:
    with pytest.raises(KeyError):
        cite("zendle-et-al-2020")


def test_the_mapping_is_read_only() -> None:
    with pytest.raises(TypeError):
        REFERENCES["x-2000"] = Reference("x-2000", "X 2000. T. V.", "Shows a thing.")  # type: ignore[index]


def test_entries_are_immutable() -> None:
    ref = next(iter(REFERENCES.values()))
    with pytest.raises(AttributeError):
        ref.shows = "something else"  # type: ignore[misc]


def _scanned_files() -> list[Path]:
    files = [ROOT / "README.md"]
    for folder in ("models", "service"):
        files.extend(sorted((ROOT / folder).rglob("*.py")))
    return [f for f in files if f.is_file()]


@pytest.mark.parametrize("bad", KNOWN_BAD)
def test_no_known_bad_citation_in_models_service_or_readme(bad: str) -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for path in _scanned_files()
        if path.name != "references.py" and bad in path.read_text(encoding="utf-8")
    ]
    assert not offenders, f"{bad!r} still cited in {offenders}"
