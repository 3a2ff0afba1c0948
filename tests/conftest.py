"""Shared test helpers: paths of the bundled samples and fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SEED = SAMPLES / "realself-000-botox-atrophy.txt"


@pytest.fixture
def seed_bytes() -> bytes:
    return SEED.read_bytes()
