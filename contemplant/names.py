"""Default worker names: a random line of the names list shipped in the package."""
from __future__ import annotations

import random
from importlib import resources

FALLBACK = "contemplant"


def names() -> list[str]:
    """The shipped names list (contemplant/names.txt, installed as package data)."""
    text = resources.files("contemplant").joinpath("names.txt").read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


def random_name() -> str:
    try:
        return random.choice(names())
    except (OSError, IndexError):
        return FALLBACK
