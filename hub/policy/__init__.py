"""Proportionate disclosure: lawful bases, the ISP, the policy file, projection, decisions.

The decision function is ``hub.policy.decide.decide``: the package's names load lazily,
and a name its own module shares could not be told from the module.
"""

from typing import TYPE_CHECKING

from hub.protocol.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from hub.policy.decide import Decision, Verdict, explain
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
    "explain",
    "free_text_paths",
    "load_policy",
    "project",
]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "Decision": "decide",
        "Verdict": "decide",
        "explain": "decide",
        "CATEGORIES": "fields",
        "FIELDS": "fields",
        "FREE_TEXT": "fields",
        "PURPOSE_FIELDS": "fields",
        "PURPOSES": "fields",
        "free_text_paths": "fields",
        "Policy": "policy",
        "Rule": "policy",
        "check_policy": "policy",
        "load_policy": "policy",
        "project": "projection",
    },
)
