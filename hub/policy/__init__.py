"""Proportionate disclosure: lawful bases, the ISP, the policy file, projection, decisions."""

from hub.policy.decide import Decision, Verdict, decide, explain
from hub.policy.fields import (
    CATEGORIES,
    FIELDS,
    FREE_TEXT,
    PURPOSE_FIELDS,
    PURPOSES,
    free_text_paths,
)
from hub.policy.policy import Policy, Rule, check_policy, load_policy
from hub.policy.projection import project

__all__ = [
    "CATEGORIES",
    "FIELDS",
    "FREE_TEXT",
    "PURPOSES",
    "PURPOSE_FIELDS",
    "Decision",
    "Verdict",
    "Policy",
    "Rule",
    "check_policy",
    "decide",
    "explain",
    "free_text_paths",
    "load_policy",
    "project",
]
