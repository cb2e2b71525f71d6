"""The kinds of agency a MARAC shares with (a module of its own: light to import)."""

from typing import Literal

__all__ = ["AgencyKind"]

AgencyKind = Literal[
    "police",
    "idva",
    "childrens_social_care",
    "adult_social_care",
    "health",
    "mental_health",
    "housing",
    "probation",
    "education",
    "substance_misuse",
    "cafcass",
    "refuge",
    "other",
]
