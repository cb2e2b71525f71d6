"""The referral a coordinator submits: validated strictly, errors name fields, never values.

The hub counts the risk checklist's "yes" answers itself and derives the level from them.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any, Final, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from hub.protocol.errors import ProtocolError
from hub.protocol.messages import AgencyId, Name, SafeContact, Short, Text

__all__ = [
    "ANSWERS",
    "MAX_AGE",
    "Child",
    "Consent",
    "Perpetrator",
    "Referral",
    "Risk",
    "SafeContact",
    "Victim",
    "level_for",
    "parse_referral",
]

Answer = Literal["yes", "no", "not_known"]
ANSWERS: Final = 24
EARLIEST_BIRTH: Final = date(1900, 1, 1)
MAX_AGE: Final = timedelta(days=2 * 366)  # a referral older than two years is refused
MAX_CHILDREN: Final = 15


def _today(info: ValidationInfo) -> date:
    today = (info.context or {}).get("today")
    if not isinstance(today, date):
        raise ValueError("validation needs today's date")
    return today


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class _Person(_Model):
    name: Name
    date_of_birth: date | None = None
    gender: Short | None = None
    address: Text | None = None

    @field_validator("date_of_birth")
    @classmethod
    def _born(cls, value: date | None, info: ValidationInfo) -> date | None:
        if value is not None and value > _today(info):
            raise ValueError("a date of birth cannot be in the future")
        if value is not None and value < EARLIEST_BIRTH:
            raise ValueError("a date of birth cannot be before 1900")
        return value


class Victim(_Person):
    """The victim-survivor, with the equality fields the SafeLives return needs."""

    other_names: tuple[Name, ...] = Field(default=(), max_length=20)
    ethnicity: Short | None = None
    disability: Short | None = None
    sexual_orientation: Short | None = None


class Perpetrator(_Person):
    """The person causing harm."""

    relationship_to_victim: Short | None = None


class Child(_Person):
    """A child in the household."""

    school: Name | None = None


class Risk(_Model):
    """The risk identification checklist as completed: 24 answers."""

    tool: Literal["DASH", "DARA"]
    answers: tuple[Answer, ...] = Field(min_length=ANSWERS, max_length=ANSWERS)

    @property
    def yes_count(self) -> int:
        """The hub's own count of "yes" answers."""
        return sum(1 for a in self.answers if a == "yes")


class Consent(_Model):
    """Whether consent was sought and given, and the exception relied on if not."""

    status: Literal["sought_given", "sought_refused", "not_sought"]
    exception: Text | None = None

    @model_validator(mode="after")
    def _exception(self) -> Consent:
        if self.status != "sought_given" and self.exception is None:
            raise ValueError("exception: required unless consent was given")
        return self


class Referral(_Model):
    """A referral to MARAC."""

    referring_agency: AgencyId
    referred_on: date
    victim: Victim
    perpetrator: Perpetrator
    children: tuple[Child, ...] = Field(default=(), max_length=MAX_CHILDREN)
    risk: Risk
    criterion: Literal[
        "visible_high_risk", "professional_judgement", "potential_escalation", "repeat"
    ]
    rationale: Text | None = None
    police_callouts_12m: int | None = Field(default=None, ge=0, le=1000)
    consent: Consent
    safe_contact: SafeContact
    perpetrator_must_not_know: bool

    @field_validator("referred_on")
    @classmethod
    def _when(cls, value: date, info: ValidationInfo) -> date:
        today = _today(info)
        if value > today:
            raise ValueError("a referral cannot be dated in the future")
        if value < today - MAX_AGE:
            raise ValueError("a referral cannot be more than two years old")
        return value

    @model_validator(mode="after")
    def _criterion(self) -> Referral:
        if self.criterion == "visible_high_risk" and self.risk.yes_count < 14:
            raise ValueError("criterion: visible high risk needs 14 or more 'yes' answers")
        if self.criterion == "professional_judgement" and self.rationale is None:
            raise ValueError("rationale: professional judgement needs a rationale")
        if self.criterion == "potential_escalation" and self.police_callouts_12m is None:
            raise ValueError("police_callouts_12m: potential escalation needs the count")
        born = self.victim.date_of_birth
        if born is not None and born > self.referred_on:
            raise ValueError("victim.date_of_birth: after the referral date")
        return self

    @property
    def level(self) -> str:
        """The risk level: from the count, raised (never lowered) by professional judgement."""
        if self.criterion == "professional_judgement":
            return "high"
        return level_for(self.risk.yes_count)


def level_for(yes_count: int) -> str:
    """14+ high, 10-13 medium, otherwise standard."""
    if yes_count >= 14:
        return "high"
    if yes_count >= 10:
        return "medium"
    return "standard"


def parse_referral(data: Any, *, today: date) -> Referral:
    """Validate a referral; a ``ProtocolError`` (``invalid-referral``) names the fields."""
    try:
        return Referral.model_validate(data, context={"today": today})
    except ValidationError as exc:
        where = "; ".join(
            _explain(err) for err in exc.errors(include_input=False, include_url=False)[:5]
        )
        raise ProtocolError(f"invalid referral: {where}", code="invalid-referral") from None


def _explain(err: Any) -> str:
    """``field.path: reason`` for one error; an unknown key is input, so it is not repeated."""
    parts = [str(p) for p in err["loc"]]
    if err["type"] == "extra_forbidden" and parts:
        parts[-1] = "(unknown field)"
        return ".".join(parts) + ": not allowed"
    message = str(err.get("msg", err["type"]))
    if err["type"] == "value_error":  # ours: "field: reason" or a plain reason
        message = message.removeprefix("Value error, ")
        if ":" in message.split(" ", 1)[0]:
            head, _, message = message.partition(": ")
            parts.append(head)
    return f"{'.'.join(parts) or '(referral)'}: {message}"
