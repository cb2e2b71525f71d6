"""The field catalogue matches the wire messages exactly."""

from __future__ import annotations

from hub.policy import CATEGORIES, FIELDS, PURPOSE_FIELDS, PURPOSES
from hub.policy.fields import FREE_TEXT, REQUIRED_IN_GROUP
from hub.protocol.messages import (
    ActionNotice,
    CaseExtract,
    PersonDetails,
    ReferralInfo,
    RiskSummary,
    SafeContact,
)


def _under(group: str) -> set[str]:
    return {p.split(".", 1)[1] for p in FIELDS if p.startswith(group + ".")}


def test_every_path_is_a_field_of_its_message_model() -> None:
    person = set(PersonDetails.model_fields) - {"subject_id", "role"}
    assert _under("victim") <= person
    assert _under("perpetrator") <= person
    assert _under("children") <= person
    assert "relationship_to_victim" in _under("perpetrator")
    assert "school" in _under("children")
    assert _under("risk") == set(RiskSummary.model_fields)
    assert _under("referral") == set(ReferralInfo.model_fields)
    assert _under("safe_contact") == set(SafeContact.model_fields)
    assert "perpetrator_must_not_know" in CaseExtract.model_fields


def test_the_catalogue_names_the_fields_the_brief_lists() -> None:
    assert _under("victim") == {
        "name",
        "other_names",
        "date_of_birth",
        "gender",
        "address",
        "ethnicity",
        "disability",
        "sexual_orientation",
    }
    assert _under("perpetrator") == _under("victim") | {"relationship_to_victim"}
    assert _under("children") == {"name", "date_of_birth", "gender", "school", "address"}


def test_required_members_of_a_group_are_the_models_required_fields() -> None:
    for group, model in (
        ("risk", RiskSummary),
        ("referral", ReferralInfo),
        ("safe_contact", SafeContact),
    ):
        required = {f"{group}.{n}" for n, f in model.model_fields.items() if f.is_required()}
        assert REQUIRED_IN_GROUP[group] == required


def test_every_field_has_a_known_category_and_special_data_is_marked() -> None:
    assert set(FIELDS.values()) <= set(CATEGORIES)
    for person in ("victim", "perpetrator"):
        for attr in ("ethnicity", "disability", "sexual_orientation"):
            assert FIELDS[f"{person}.{attr}"] == "special_category"
    assert FIELDS["perpetrator.name"] == "offence"
    assert FIELDS["children.school"] == "contact"


def test_what_each_purpose_can_carry() -> None:
    assert set(PURPOSE_FIELDS) == set(PURPOSES)
    persons = {p for p in FIELDS if p.split(".")[0] in ("victim", "perpetrator", "children")}
    assert PURPOSE_FIELDS["research_request"] == persons
    # Free text has paths of its own, per message type.
    assert PURPOSE_FIELDS["agenda"] == persons | {
        "carried_forward.description",
        "carried_forward.reason",
    }
    assert PURPOSE_FIELDS["minutes"] == persons | {
        "discussion",
        "actions.description",
        "actions.reason",
    }
    notice = PURPOSE_FIELDS["action_notice"]
    assert {p.split(".")[0] for p in notice} == {
        "victim",
        "safe_contact",
        "perpetrator_must_not_know",
        "action",
    }
    assert set(ActionNotice.model_fields) >= {"victim", "safe_contact", "perpetrator_must_not_know"}
    assert not set(FREE_TEXT) & set(FIELDS)
    assert set(FREE_TEXT.values()) <= set(CATEGORIES)
    assert PURPOSE_FIELDS["case_extract"] == set(FIELDS)
