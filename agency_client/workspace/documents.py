"""FHIR R4 Bundles, POLE documents (and any other JSON document) as readable sections.

An agency set to ``fhir-r4`` or ``pole`` receives case extracts, agendas and minutes as
those documents; the workspace shows them as headed records of labelled fields rather
than JSON: a FHIR resource by its type, a POLE entity by its list, references and links
resolved to what they point at, extensions and coded values by their last path segment.
:func:`facts_of` reads what the inbox needs from any of them: the meeting, its date, the
case references and the victim's name.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Final

from agency_client.workspace.formatting import as_date, format_date, humanize

__all__ = ["DocumentFacts", "Record", "Section", "facts_of", "readable"]

MAX_FIELDS: Final = 400  # per record: a hostile document cannot make a page endless
MAX_RECORDS: Final = 500
_FHIR_TITLES: Final = {
    "Patient": "People (FHIR Patient)",
    "RelatedPerson": "Related people (FHIR RelatedPerson)",
    "Flag": "Case flags (FHIR Flag)",
    "Task": "Actions (FHIR Task)",
    "Communication": "Communications (FHIR Communication)",
}
_POLE_LISTS: Final = (
    ("persons", "Persons"),
    ("objects", "Objects"),
    ("locations", "Locations"),
    ("events", "Events"),
)
_SKIP: Final = frozenset({"resourceType", "fullUrl", "meta", "use"})
_TRANSPARENT: Final = frozenset({"extension", "identifier", "payload"})
_LABELS: Final = {"birthDate": "Date of birth", "contentString": "Text"}


@dataclass(frozen=True, slots=True)
class Record:
    """One resource or entity: a title and its labelled values."""

    title: str
    fields: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class Section:
    """A heading and its records."""

    title: str
    records: tuple[Record, ...]


@dataclass(slots=True)
class DocumentFacts:
    """What the inbox needs to place a document."""

    meeting_id: str | None = None
    meeting_date: str | None = None
    area: str | None = None
    location: str | None = None
    case_refs: list[str] = field(default_factory=list)
    victims: dict[str, str] = field(default_factory=dict)  # case ref -> name


def readable(document: dict[str, Any], fmt: str) -> list[Section]:
    """The document as sections of records (FHIR, POLE, or generic)."""
    if fmt.startswith("fhir") or document.get("resourceType") == "Bundle":
        return _fhir(document)
    if fmt == "pole" or "pole_version" in document:
        return _pole(document)
    return [Section("Document", (Record("Fields", tuple(_fields(document, "", {}))),))]


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if value is None:
        return "-"
    if as_date(value) is not None:
        return format_date(value)
    return str(value)


def _last(url: object) -> str:
    text = str(url).rstrip("/")
    return text.rsplit("/", 1)[-1]


def _join(prefix: str, label: str) -> str:
    return f"{prefix}: {label}" if prefix else label


def _fields(node: Any, prefix: str, names: dict[str, str]) -> Iterator[tuple[str, str]]:
    """Labelled values of a JSON value, FHIR idioms understood."""
    if isinstance(node, list):
        for item in node:
            yield from _fields(item, prefix, names)
        return
    if not isinstance(node, dict):
        yield (prefix or "Value", _value(node))
        return
    yield from _dict_fields(node, prefix, names)


def _dict_fields(
    node: dict[str, Any], prefix: str, names: dict[str, str]
) -> Iterator[tuple[str, str]]:
    values = [k for k in node if k.startswith("value") and k != "value"]
    if "url" in node and values:
        yield (_join(prefix, humanize(_last(node["url"]))), _value(node[values[0]]))
        return
    if "url" in node and "extension" in node:
        yield from _fields(node["extension"], _join(prefix, humanize(_last(node["url"]))), names)
        return
    if "system" in node and ("value" in node or "code" in node):
        label = humanize(_last(node["system"]))
        shown = node.get("display") or node.get("value") or node.get("code")
        yield (_join(prefix, label), _value(shown))
        return
    if "reference" in node and len(node) <= 2:
        yield (prefix or "Refers to", names.get(str(node["reference"]), str(node["reference"])))
        return
    if "coding" in node and "text" in node:
        yield (prefix or "Code", _value(node["text"]))
        return
    for key, value in node.items():
        if key in _SKIP or (key == "id" and not prefix):
            continue
        label = _LABELS.get(key) or humanize(key)
        if key in _TRANSPARENT or (key == "text" and prefix):
            label = ""
        yield from _fields(value, _join(prefix, label) if label else prefix, names)


def _bounded(fields: Iterator[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    out: list[tuple[str, str]] = []
    for pair in fields:
        if len(out) >= MAX_FIELDS:
            out.append(("…", "more fields not shown"))
            break
        out.append(pair)
    return tuple(out)


def _fhir_name(resource: dict[str, Any]) -> str | None:
    for name in _list(resource.get("name")):
        if isinstance(name, dict) and name.get("text"):
            return str(name["text"])
    return None


def _fhir(bundle: dict[str, Any]) -> list[Section]:
    entries = [e for e in _list(bundle.get("entry")) if isinstance(e, dict)][:MAX_RECORDS]
    names: dict[str, str] = {}
    for entry in entries:
        resource = entry.get("resource")
        if isinstance(resource, dict):
            kind = str(resource.get("resourceType", "Resource"))
            label = _fhir_name(resource) or _title_of(resource) or kind
            names[str(entry.get("fullUrl"))] = f"{label} ({kind})"
    grouped: dict[str, list[Record]] = {}
    for entry in entries:
        resource = entry.get("resource")
        if not isinstance(resource, dict):
            continue
        kind = str(resource.get("resourceType", "Resource"))
        title = _fhir_name(resource) or _title_of(resource) or kind
        grouped.setdefault(kind, []).append(Record(title, _bounded(_fields(resource, "", names))))
    return [
        Section(_FHIR_TITLES.get(kind, humanize(kind)), tuple(records))
        for kind, records in grouped.items()
    ]


def _title_of(resource: dict[str, Any]) -> str | None:
    for key in ("description",):
        if isinstance(resource.get(key), str):
            return str(resource[key])[:120]
    code = resource.get("code")
    if isinstance(code, dict) and code.get("text"):
        return str(code["text"])
    category = resource.get("category")
    if isinstance(category, list) and category and isinstance(category[0], dict):
        return str(category[0].get("text") or "") or None
    return None


def _pole_title(entity: dict[str, Any]) -> str:
    if entity.get("name"):
        role = f" ({entity['role']})" if entity.get("role") else ""
        return f"{entity['name']}{role}"
    kind = humanize(str(entity.get("type") or entity.get("role") or "entry"))
    detail = entity.get("address") or entity.get("value") or entity.get("case_ref") or ""
    return f"{kind}: {detail}" if detail else kind


def _pole(document: dict[str, Any]) -> list[Section]:
    titles: dict[str, str] = {}
    for key, _ in _POLE_LISTS:
        for entity in (_list(document.get(key)))[:MAX_RECORDS]:
            if isinstance(entity, dict) and "id" in entity:
                titles[str(entity["id"])] = _pole_title(entity)
    links: dict[str, list[tuple[str, str]]] = {}
    for link in _list(document.get("links"))[: MAX_RECORDS * 4]:
        if isinstance(link, dict):
            a, b, relation = (
                str(link.get("from")),
                str(link.get("to")),
                humanize(str(link.get("relation", "linked"))),
            )
            links.setdefault(a, []).append((relation, titles.get(b, b)))
            links.setdefault(b, []).append((f"{relation} (of)", titles.get(a, a)))
    sections = []
    source = document.get("source")
    if isinstance(source, dict):
        sections.append(
            Section("Source", (Record("About this document", _bounded(_fields(source, "", {}))),))
        )
    for key, heading in _POLE_LISTS:
        records = []
        for entity in (_list(document.get(key)))[:MAX_RECORDS]:
            if not isinstance(entity, dict):
                continue
            fields = list(_fields({k: v for k, v in entity.items() if k != "name"}, "", {}))
            fields += [
                (f"Link: {rel}", other) for rel, other in links.get(str(entity.get("id")), [])
            ]
            records.append(Record(_pole_title(entity), _bounded(iter(fields))))
        if records:
            sections.append(Section(heading, tuple(records)))
    return sections


def facts_of(document: dict[str, Any]) -> DocumentFacts:
    """The meeting, its date, area and venue, the case references and victims' names."""
    facts = DocumentFacts()
    if "pole_version" in document:
        _pole_facts(document, facts)
    elif document.get("resourceType") == "Bundle":
        _fhir_facts(document, facts)
    return facts


def _pole_facts(document: dict[str, Any], facts: DocumentFacts) -> None:
    source = document.get("source") if isinstance(document.get("source"), dict) else {}
    assert isinstance(source, dict)
    facts.meeting_id = _str(source.get("meeting_id"))
    facts.case_refs = [str(r) for r in _list(source.get("case_refs")) if isinstance(r, str)]
    for event in _list(document.get("events")):
        if isinstance(event, dict) and event.get("type") == "marac_meeting":
            facts.meeting_date = _str(event.get("date"))
            meeting = event.get("meeting") if isinstance(event.get("meeting"), dict) else {}
            assert isinstance(meeting, dict)
            facts.area = _str(meeting.get("area"))
            facts.meeting_id = facts.meeting_id or _str(meeting.get("meeting_id"))
    for location in _list(document.get("locations")):
        if isinstance(location, dict) and location.get("type") == "venue":
            facts.location = _str(location.get("address"))
    for person in _list(document.get("persons")):
        if isinstance(person, dict) and person.get("role") == "victim" and person.get("name"):
            facts.victims.setdefault(str(person.get("case_ref")), str(person["name"]))


def _fhir_facts(bundle: dict[str, Any], facts: DocumentFacts) -> None:
    patients: dict[str, str] = {}
    for entry in _list(bundle.get("entry")):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict):
            continue
        for ident in _list(resource.get("identifier")):
            if not isinstance(ident, dict):
                continue
            system, value = str(ident.get("system", "")), _str(ident.get("value"))
            if system.endswith("/meeting-id"):
                facts.meeting_id = value
            elif system.endswith("/case-ref") and value and value not in facts.case_refs:
                facts.case_refs.append(value)
        for ext in _list(resource.get("extension")):
            if not isinstance(ext, dict):
                continue
            name = _last(ext.get("url", ""))
            value = next((v for k, v in ext.items() if k.startswith("value")), None)
            if name in ("meeting-date", "area", "location"):
                setattr(facts, name.replace("-", "_"), _str(value))
            if name == "marac-role" and value == "victim" and _fhir_name(resource):
                patients[str(entry.get("fullUrl"))] = str(_fhir_name(resource))
        if resource.get("resourceType") == "Flag":
            refs = [
                _str(i.get("value"))
                for i in _list(resource.get("identifier"))
                if isinstance(i, dict) and str(i.get("system", "")).endswith("/case-ref")
            ]
            subject = resource.get("subject")
            who = patients.get(str(subject.get("reference"))) if isinstance(subject, dict) else None
            if refs and refs[0] and who:
                facts.victims.setdefault(refs[0], who)


def _list(value: object) -> list[Any]:
    """``value`` if it is a JSON array, else nothing (a malformed document is shown, not
    trusted)."""
    return value if isinstance(value, list) else []


def _str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
