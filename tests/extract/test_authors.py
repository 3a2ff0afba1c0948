"""Author blocks: name with credentials, location + specialty, stars and reviews."""

from __future__ import annotations

import pytest

from scraper.extract.authors import is_name_line, parse_author_block, parse_rating_line, split_name_credentials
from scraper.sites.realself import SITE

VOCAB = SITE.specialties


@pytest.mark.parametrize(
    ("line", "name", "creds"),
    [
        ("Harold J. Kaplan, MD", "Harold J. Kaplan", ["MD"]),
        ("Jessica Krant, MD, MPH", "Jessica Krant", ["MD", "MPH"]),
        ("Sami Nizam II, MD, DMD", "Sami Nizam II", ["MD", "DMD"]),
        ("Anil R. Shah, MD, PhD, FACMS", "Anil R. Shah", ["MD", "PhD", "FACMS"]),
        ("Ken Hughes, DMD, FAGD", "Ken Hughes", ["DMD", "FAGD"]),
        ("Robert Smith Jr., MD", "Robert Smith Jr.", ["MD"]),
        ("Sami Nizam III MD", "Sami Nizam III", ["MD"]),
        ("John Doe III, MD", "John Doe III", ["MD"]),
        ("Kamal Sawan, MBBS (Hons), FRACS (Plast)", "Kamal Sawan", ["MBBS (Hons)", "FRACS (Plast)"]),
        ("Aditya Aggarwal, FRCSEd(Plast), MCh(Plast)", "Aditya Aggarwal", ["FRCSEd(Plast)", "MCh(Plast)"]),
        ("Lisa Chipps, M.D.", "Lisa Chipps", ["M.D."]),
        ("Anne Marie Tremaine, MD, FAAD", "Anne Marie Tremaine", ["MD", "FAAD"]),
        ("Jane Roe, PA-C", "Jane Roe", ["PA-C"]),
        ("Marie-Claire O'Neil, MD, FRCSC", "Marie-Claire O'Neil", ["MD", "FRCSC"]),
    ],
)
def test_display_names_with_real_credentials(line: str, name: str, creds: list[str]) -> None:
    assert split_name_credentials(line) == (name, creds)


@pytest.mark.parametrize(
    "line",
    [
        "Best, Dr. Smith MD",  # a sign-off is body text
        "Dr. Jane Doe, MD",
        "Sincerely, John Smith, MD",
        "Botox is safe, MD approved",
        "I had 3 sessions, MD",
        "Good luck!",
        "Manhattan Dermatologic Surgeon",
    ],
)
def test_prose_and_sign_offs_are_not_display_names(line: str) -> None:
    assert split_name_credentials(line) is None
    assert not is_name_line(line)


@pytest.mark.parametrize(
    ("line", "rating", "reviews"),
    [
        ("4.9 out of 5 stars 38 reviews", 4.9, 38),
        ("4.8 out of 5 stars 1 review", 4.8, 1),
        ("5.0 out of 5 stars 1,112 reviews", 5.0, 1112),
        ("3 out of 5 stars 2 reviews", 3.0, 2),
        ("4.5 out of 5 stars", 4.5, None),
        ("4.7 out of 5 stars (210 reviews)", 4.7, 210),
    ],
)
def test_rating_lines(line: str, rating: float, reviews: int | None) -> None:
    assert parse_rating_line(line) == (rating, reviews)


@pytest.mark.parametrize(
    ("line", "location", "specialty"),
    [
        ("Manhattan Dermatologic Surgeon", "Manhattan", "Dermatologic Surgeon"),
        ("Los Angeles Facial Plastic Surgeon", "Los Angeles", "Facial Plastic Surgeon"),  # longest match wins
        ("Salt Lake City Plastic Surgeon", "Salt Lake City", "Plastic Surgeon"),
        ("St. Louis Facial Plastic Surgeon", "St. Louis", "Facial Plastic Surgeon"),
        ("Fort Lauderdale Oral & Maxillofacial Surgeon", "Fort Lauderdale", "Oral & Maxillofacial Surgeon"),
        ("Boca Raton Board Eligible Plastic Surgeon", "Boca Raton", "Board Eligible Plastic Surgeon"),
        ("Beverly Hills Board Certified Plastic Surgeon", "Beverly Hills", "Board Certified Plastic Surgeon"),
        ("Coeur d'Alene Dermatologist", "Coeur d'Alene", "Dermatologist"),
        ("Winston-Salem Oculoplastic Surgeon", "Winston-Salem", "Oculoplastic Surgeon"),
        ("San Antonio Cosmetic Dentist", "San Antonio", "Cosmetic Dentist"),
        ("London Physician", "London", "Physician"),
    ],
)
def test_location_specialty_lines_split_by_vocabulary(line: str, location: str, specialty: str) -> None:
    block = parse_author_block([line], VOCAB)
    assert block is not None
    assert (block.location, block.specialty) == (location, specialty)


def test_full_block() -> None:
    block = parse_author_block(
        ["Harold J. Kaplan, MD", "Los Angeles Facial Plastic Surgeon", "4.4 out of 5 stars 7 reviews"], VOCAB
    )
    assert block is not None
    assert (block.name, block.location, block.specialty, block.rating, block.review_count) == (
        "Harold J. Kaplan, MD",
        "Los Angeles",
        "Facial Plastic Surgeon",
        4.4,
        7,
    )


def test_unknown_specialty_falls_back_to_location_with_a_warning() -> None:
    block = parse_author_block(["Jane Roe, MD", "Reykjavik Aesthetic Wizard"], VOCAB)
    assert block is not None
    assert block.location == "Reykjavik Aesthetic Wizard"
    assert block.specialty is None
    assert [code for code, _ in block.warnings] == ["location_unsplit"]


def test_rating_only_block() -> None:
    block = parse_author_block(["5.0 out of 5 stars 12 reviews"], VOCAB)
    assert block is not None and block.is_empty() and block.rating == 5.0


@pytest.mark.parametrize(
    "lines",
    [
        ["I recommend seeing a board certified Plastic Surgeon"],
        ["Best,", "Dr. Smith"],
        ["This is a good thing.", "Talk to your Dermatologist"],
        ["Botox will not cause muscle atrophy in the short term"],
    ],
)
def test_prose_is_not_an_author_block(lines: list[str]) -> None:
    assert parse_author_block(lines, VOCAB) is None
