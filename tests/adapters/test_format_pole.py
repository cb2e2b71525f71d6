"""pole: Person, Object, Location, Event entities, validated against the published schema."""

from __future__ import annotations

import copy
from typing import Any

import jsonschema
import pytest

from hub.adapters.formats import FormatError, load_format
from hub.adapters.formats.pole import SCHEMA_ID, schema
from hub.adapters.testing.formats import CANARIES, CASE, full_extract, sample_messages

POLE = load_format("pole")


def _check(document: dict[str, Any]) -> None:
    """Validate with jsonschema directly, as an integrator would."""
    jsonschema.Draft202012Validator(schema()).validate(document)


def test_the_schema_is_a_valid_draft_2020_12_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(schema())
    assert schema()["$id"] == SCHEMA_ID


def test_an_extract_holds_persons_objects_locations_and_events() -> None:
    document = POLE.render(full_extract())
    _check(document)
    roles = sorted(p["role"] for p in document["persons"])
    assert roles == ["child", "perpetrator", "victim"]
    victim = next(p for p in document["persons"] if p["role"] == "victim")
    assert victim["subject_id"] == "S-KITVICTIM" and victim["case_ref"] == CASE
    assert document["objects"] == [
        {"id": "O1", "type": "telephone", "case_ref": CASE, "value": CANARIES["safe_contact.phone"]}
    ]
    kinds = sorted(loc["type"] for loc in document["locations"])
    assert kinds == ["address", "address", "safe_address", "school"]
    events = {e["type"]: e for e in document["events"]}
    assert set(events) == {"marac_case", "referral", "risk_assessment", "safe_contact", "action"}
    assert events["marac_case"]["markers"] == {
        "high_risk_domestic_abuse": True,
        "perpetrator_must_not_know": True,
    }
    assert events["action"]["action"]["status"] == "open"
    kinds = ("persons", "objects", "locations", "events")
    ids = {e["id"] for kind in kinds for e in document[kind]}
    assert all(link["from"] in ids and link["to"] in ids for link in document["links"])
    links = {(link["from"], link["relation"]) for link in document["links"]}
    assert (victim["id"], "resides_at") in links and (victim["id"], "victim") in links


@pytest.mark.parametrize("message_type", ["agenda", "minutes"])
def test_agendas_and_minutes_validate(message_type: str) -> None:
    document = POLE.render(sample_messages()[message_type])
    _check(document)
    assert document["message_type"] == message_type
    assert document["events"][0]["type"] == "marac_meeting"


def _broken(change: str) -> dict[str, Any]:
    document = copy.deepcopy(POLE.render(full_extract()))
    if change == "extra top-level":
        document["notes"] = "Secret Name"
    elif change == "extra person field":
        document["persons"][0]["nickname"] = "Secret Name"
    elif change == "bad date":
        document["persons"][0]["date_of_birth"] = "Secret Name"
    elif change == "unknown role":
        document["persons"][0]["role"] = "Secret Name"
    elif change == "missing list":
        del document["events"]
    elif change == "wrong version":
        document["pole_version"] = "2.0"
    elif change == "bad link":
        document["links"][0]["relation"] = "Secret Name"
    return document


@pytest.mark.parametrize(
    "change",
    [
        "extra top-level",
        "extra person field",
        "bad date",
        "unknown role",
        "missing list",
        "wrong version",
        "bad link",
    ],
)
def test_malformed_documents_are_refused_naming_no_value(change: str) -> None:
    document = _broken(change)
    with pytest.raises(jsonschema.ValidationError):
        _check(document)
    with pytest.raises(FormatError) as info:
        POLE.validate(document)
    assert info.value.code == "invalid-message"
    assert "Secret Name" not in info.value.diagnostics()
