"""Proportionate disclosure: lawful bases, the ISP, the policy file, projection, decisions."""

from hub.policy.decide import Decision, Outcome, decide, explain
from hub.policy.fields import CATEGORIES, FIELDS, PURPOSE_FIELDS, PURPOSES
from hub.policy.policy import Policy, Rule, check_policy, load_policy
from hub.policy.projection import project

__all__ = [
    "CATEGORIES",
    "FIELDS",
    "PURPOSES",
    "PURPOSE_FIELDS",
    "Decision",
    "Outcome",
    "Policy",
    "Rule",
    "check_policy",
    "decide",
    "explain",
    "load_policy",
    "project",
]
