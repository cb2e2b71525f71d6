"""The 24 questions of the SafeLives DASH risk identification checklist (short forms).

The hub stores only the answers (yes, no, not known) in order; these texts label the form.
"""

from __future__ import annotations

from typing import Final

__all__ = ["QUESTIONS"]

QUESTIONS: Final = (
    "Has the current incident resulted in injury?",
    "Is the victim very frightened?",
    "Is the victim afraid of further injury or violence?",
    "Does the victim feel isolated from family or friends?",
    "Is the victim feeling depressed or having suicidal thoughts?",
    "Has the victim separated, or tried to separate, within the past year?",
    "Is there conflict over child contact?",
    "Does the abuser constantly text, call, contact, follow, stalk or harass the victim?",
    "Is the victim pregnant, or has she had a baby in the last 18 months?",
    "Is the abuse happening more often?",
    "Is the abuse getting worse?",
    "Does the abuser try to control everything the victim does, or is excessively jealous?",
    "Has the abuser ever used weapons or objects to hurt the victim?",
    "Has the abuser ever threatened to kill the victim or someone else, and was believed?",
    "Has the abuser ever attempted to strangle, choke, suffocate or drown the victim?",
    "Does the abuser do or say sexual things that make the victim feel bad or that hurt?",
    "Is there any other person who has threatened the victim or whom the victim fears?",
    "Does the victim know whether the abuser has hurt anyone else?",
    "Has the abuser ever mistreated an animal or the family pet?",
    "Are there any financial issues?",
    "Has the abuser had problems with drugs, alcohol or mental health in the past year?",
    "Has the abuser ever threatened or attempted suicide?",
    "Has the abuser ever broken bail, an injunction or a formal contact agreement?",
    "Has the abuser ever been in trouble with the police, or got a criminal history?",
)
assert len(QUESTIONS) == 24
