"""fhir-r4: the Bundle's resources, and validation with fhir.resources (R4 models)."""

from __future__ import annotations

from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle

from hub.adapters.formats import FormatError, load_format
from hub.adapters.formats.fhir import ACTION_SYSTEM, SUBJECT_SYSTEM
from hub.adapters.testing.formats import CASE, full_extract, sample_messages, without

FHIR = load_format("fhir-r4")


def _resources(document: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in document["entry"] if e["resource"]["resourceType"] == kind]


def _subject(resource: dict[str, Any]) -> str:
    (ident,) = [i for i in resource["identifier"] if i["system"] == SUBJECT_SYSTEM]
    return str(ident["value"])


def test_an_extract_is_a_bundle_of_patients_flag_communication_and_tasks() -> None:
    document = FHIR.render(full_extract())
    bundle = Bundle.model_validate(document)  # fhir.resources itself, not our wrapper
    assert bundle.type == "collection"
    patients = _resources(document, "Patient")
    assert sorted(_subject(p) for p in patients) == ["S-KITCHILD", "S-KITVICTIM"]
    (perpetrator,) = _resources(document, "RelatedPerson")
    victim_url = next(e["fullUrl"] for e in document["entry"] if e["resource"] in patients[:1])
    assert perpetrator["patient"] == {"reference": victim_url}
    (flag,) = _resources(document, "Flag")
    assert flag["status"] == "active"
    assert flag["code"]["coding"][0]["code"] == "marac-high-risk-domestic-abuse"
    assert flag["subject"] == {"reference": victim_url}
    urls = {e["url"].rsplit("/", 1)[1]: e for e in flag["extension"]}
    assert urls["perpetrator-must-not-know"]["valueBoolean"] is True
    assert {"risk", "safe-contact"} <= set(urls)
    (communication,) = _resources(document, "Communication")
    assert communication["identifier"][0]["value"] == CASE
    assert communication["payload"] == [{"contentString": "Kit summary of the case."}]
    (task,) = _resources(document, "Task")
    assert task["identifier"] == [{"system": ACTION_SYSTEM, "value": "01HZX3P4Q5R6S7T8V9W0X1Y2Z3"}]
    assert (task["status"], task["intent"]) == ("requested", "order")
    assert task["restriction"]["period"]["end"] == "2026-12-15"


def test_a_task_for_each_action_with_its_status() -> None:
    extract = full_extract()
    (action,) = extract.actions or ()
    actions = tuple(
        action.model_copy(update={"action_id": f"01HZX3P4Q5R6S7T8V9W0X1Y2Z{n}", "status": s})
        for n, s in enumerate(["open", "in_progress", "completed", "cancelled"])
    )
    document = FHIR.render(extract.model_copy(update={"actions": actions}))
    statuses = [t["status"] for t in _resources(document, "Task")]
    assert statuses == ["requested", "in-progress", "completed", "cancelled"]
    Bundle.model_validate(document)


def test_without_the_victim_the_flag_still_names_the_case() -> None:
    document = FHIR.render(without(without(full_extract(), "victim"), "children"))
    Bundle.model_validate(document)
    assert _resources(document, "Patient") == []
    (flag,) = _resources(document, "Flag")
    assert flag["subject"]["identifier"]["value"] == CASE


def test_a_bare_extract_is_still_a_valid_bundle() -> None:
    extract = full_extract()
    for group in ("victim", "perpetrator", "children", "risk", "referral", "safe_contact"):
        extract = without(extract, group)
    extract = extract.model_copy(
        update={"actions": None, "summary": None, "perpetrator_must_not_know": None}
    )
    document = FHIR.render(extract)
    Bundle.model_validate(document)
    assert [e["resource"]["resourceType"] for e in document["entry"]] == ["Flag", "Communication"]


@pytest.mark.parametrize("message_type", ["agenda", "minutes"])
def test_agendas_and_minutes_are_bundles_too(message_type: str) -> None:
    document = FHIR.render(sample_messages()[message_type])
    Bundle.model_validate(document)
    assert _resources(document, "Flag") and _resources(document, "Task")


@pytest.mark.parametrize("gender", ["Female", "m", "non-binary", "prefer not to say"])
def test_free_text_gender_maps_to_a_fhir_code_and_keeps_its_words(gender: str) -> None:
    extract = full_extract()
    assert extract.victim is not None
    victim = extract.victim.model_copy(update={"gender": gender})
    document = FHIR.render(extract.model_copy(update={"victim": victim}))
    patient = _resources(document, "Patient")[0]
    assert patient["gender"] in {"female", "male", "other", "unknown"}
    assert {"url": patient["extension"][1]["url"], "valueString": gender} in patient["extension"]


def test_whitespace_heavy_text_still_validates() -> None:
    extract = full_extract()
    assert extract.victim is not None
    victim = extract.victim.model_copy(update={"name": "  spaced  name  ", "address": " \n "})
    FHIR.validate(FHIR.render(extract.model_copy(update={"victim": victim})))


@pytest.mark.parametrize(
    "document",
    [
        {"resourceType": "Patient"},
        {"resourceType": "Bundle", "type": "searchset", "entry": []},
        {"resourceType": "Bundle", "type": "collection", "entry": {"x": 1}},
        {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": {}}]},
        {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [{"resource": {"resourceType": "Observation", "status": "final"}}],
        },
        {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [{"resource": {"resourceType": "Flag", "status": "maybe"}}],
        },
        {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [{"resource": {"resourceType": "Patient", "birthDate": "Secret Name"}}],
        },
    ],
)
def test_malformed_bundles_are_refused_naming_no_value(document: dict[str, Any]) -> None:
    with pytest.raises(FormatError) as info:
        FHIR.validate(document)
    assert info.value.code == "invalid-message"
    assert "Secret Name" not in info.value.diagnostics()
