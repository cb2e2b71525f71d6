"""What the store holds, decrypted in memory and arranged by meeting and by case.

Built afresh for each page from the unlocked store (a DMO's store holds hundreds of
messages, not millions). Nothing here is written anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Final

from agency_client.rendered import content_of
from agency_client.store import MessageInfo, SentMessage, Store
from agency_client.workspace.documents import DocumentFacts, facts_of
from agency_client.workspace.formatting import as_date
from hub.protocol.errors import HubError
from hub.protocol.messages import (
    ActionNotice,
    ActionSummary,
    Agenda,
    CaseExtract,
    Message,
    Minutes,
    ResearchRequest,
    parse_message,
)

__all__ = ["KINDS", "ActionView", "Case", "Casebook", "Entry", "Meeting"]

KINDS: Final = {
    "agenda": "Agenda",
    "case_extract": "Case extract",
    "research_request": "Research request",
    "action_notice": "Action notice",
    "minutes": "Minutes",
    "notice": "Notice",
}
FORMATS: Final = {"json": "", "fhir-r4": "FHIR R4", "pole": "POLE"}


@dataclass(slots=True)
class Entry:
    """One received message, opened."""

    info: MessageInfo
    kind: str
    format: str
    document: dict[str, Any]
    message: Message | None
    facts: DocumentFacts
    text: str = ""

    @property
    def label(self) -> str:
        """``Case extract`` or ``Case extract (FHIR R4)``."""
        name = KINDS.get(self.kind, self.kind.replace("_", " ").capitalize())
        fmt = FORMATS.get(self.format, self.format)
        return f"{name} ({fmt})" if fmt else name


@dataclass(slots=True)
class Meeting:
    """A meeting, as the agenda, minutes or any message naming it show it."""

    meeting_id: str
    meeting_date: date | None = None
    area: str | None = None
    location: str | None = None
    case_refs: list[str] = field(default_factory=list)
    entries: list[Entry] = field(default_factory=list)


@dataclass(slots=True)
class ActionView:
    """An action this agency owns: its latest notice and what the agency sent since."""

    action: ActionSummary
    notice: Entry
    updates: list[SentMessage] = field(default_factory=list)

    @property
    def status(self) -> str:
        """The newest status: this agency's last update, else the notice's."""
        return str(self.updates[-1].payload["status"]) if self.updates else self.action.status

    @property
    def reason(self) -> str | None:
        """Why it is not completed, if given."""
        if self.updates and self.updates[-1].payload.get("reason"):
            return str(self.updates[-1].payload["reason"])
        return self.action.reason

    def overdue(self, today: date) -> bool:
        """Past its due date and not finished."""
        return self.status in ("open", "in_progress") and self.action.due_date < today


@dataclass(slots=True)
class Case:
    """Everything stored about one case."""

    ref: str
    victim: str | None = None
    entries: list[Entry] = field(default_factory=list)
    meetings: list[str] = field(default_factory=list)
    requests: list[tuple[Entry, ResearchRequest]] = field(default_factory=list)
    responses: list[SentMessage] = field(default_factory=list)
    has_draft: bool = False
    must_not_know: bool = False  # an extract or action notice said so

    @property
    def open_request(self) -> ResearchRequest | None:
        """The newest research request (the one a response answers)."""
        if not self.requests:
            return None
        return max(self.requests, key=lambda r: (r[0].info.sent_at, r[0].info.envelope_id))[1]


class Casebook:
    """The store's messages by meeting and case, this agency's actions and what it sent."""

    def __init__(self, store: Store) -> None:
        self.agency_id = store.config("agency_id") or ""
        self.entries = [_entry(store, info) for info in store.messages()]
        self.sent = store.sent()
        self.meetings: dict[str, Meeting] = {}
        self.cases: dict[str, Case] = {}
        self.actions: dict[str, ActionView] = {}
        drafts = set(store.draft_cases())
        for entry in self.entries:
            self._place(entry)
        for entry in self.entries:  # notices after every meeting and case is known
            if isinstance(entry.message, ActionNotice):
                self._action(entry, entry.message)
        for sent in self.sent:
            if sent.type == "research_response":
                self._case(sent.case_ref).responses.append(sent)
            elif sent.answers in self.actions:
                self.actions[sent.answers].updates.append(sent)
        for ref in drafts:
            self._case(ref).has_draft = True

    def _case(self, ref: str) -> Case:
        return self.cases.setdefault(ref, Case(ref))

    def _meeting(self, meeting_id: str) -> Meeting:
        return self.meetings.setdefault(meeting_id, Meeting(meeting_id))

    def _place(self, entry: Entry) -> None:
        facts = entry.facts
        refs = list(dict.fromkeys([*facts.case_refs, entry.info.case_ref]))
        for ref in filter(None, refs):
            case = self._case(ref)
            case.entries.append(entry)
            case.victim = case.victim or facts.victims.get(ref)
            if facts.meeting_id and facts.meeting_id not in case.meetings:
                case.meetings.append(facts.meeting_id)
        if isinstance(entry.message, ResearchRequest):
            self._case(entry.message.case_ref).requests.append((entry, entry.message))
        if isinstance(entry.message, (CaseExtract, ActionNotice)) and (
            entry.message.perpetrator_must_not_know
        ):
            for ref in filter(None, refs):
                self._case(ref).must_not_know = True
        if facts.meeting_id:
            meeting = self._meeting(facts.meeting_id)
            meeting.entries.append(entry)
            meeting.meeting_date = meeting.meeting_date or as_date(facts.meeting_date)
            meeting.area = meeting.area or facts.area
            meeting.location = meeting.location or facts.location
            if entry.kind in ("agenda", "minutes") or not meeting.case_refs:
                for ref in facts.case_refs:
                    if ref not in meeting.case_refs:
                        meeting.case_refs.append(ref)

    def _action(self, entry: Entry, notice: ActionNotice) -> None:
        action = notice.action
        if action.owner_agency != self.agency_id:
            return
        known = self.actions.get(action.action_id)
        if known is None or (known.notice.info.sent_at, known.notice.info.envelope_id) <= (
            entry.info.sent_at,
            entry.info.envelope_id,
        ):
            self.actions[action.action_id] = ActionView(action, entry)

    def meetings_by_date(self) -> list[Meeting]:
        """Meetings, the next one first, then later ones, then past ones newest first."""
        return sorted(
            self.meetings.values(),
            key=lambda m: (m.meeting_date is None, -(m.meeting_date or date.min).toordinal()),
        )

    def unplaced(self) -> list[Entry]:
        """Messages no meeting names (notices, extracts sent outside a meeting)."""
        return [e for e in self.entries if not e.facts.meeting_id]

    def search(self, query: str, kind: str = "") -> list[Entry]:
        """Messages whose content has every word of ``query`` (case-insensitive)."""
        words = [w for w in query.lower().split() if w][:20]
        return [
            e
            for e in self.entries
            if (not kind or e.kind == kind) and all(w in e.text for w in words)
        ]

    def entry(self, envelope_id: str) -> Entry | None:
        """A message by its envelope id."""
        return next((e for e in self.entries if e.info.envelope_id == envelope_id), None)


def _entry(store: Store, info: MessageInfo) -> Entry:
    payload = store.message(info.envelope_id).payload
    try:
        content = content_of(info.type, payload)
    except HubError:
        return Entry(info, info.type, "json", payload, None, DocumentFacts(), _text(payload))
    message: Message | None = None
    facts = DocumentFacts()
    if content.format == "json":
        try:
            message = parse_message(content.message_type, content.document)
        except HubError:
            message = None
        facts = _json_facts(message)
    else:
        facts = facts_of(content.document)
    if info.case_ref and info.case_ref not in facts.case_refs:
        facts.case_refs.insert(0, info.case_ref)
    text = " ".join([info.case_ref or "", info.envelope_id, _text(content.document)])
    return Entry(info, content.message_type, content.format, content.document, message, facts, text)


def _json_facts(message: Message | None) -> DocumentFacts:
    facts = DocumentFacts()
    if isinstance(message, (Agenda, Minutes)):
        facts.meeting_id, facts.area = message.meeting_id, message.area
        facts.meeting_date = message.meeting_date.isoformat()
        facts.case_refs = [item.case_ref for item in message.items]
        facts.victims = {
            i.case_ref: i.victim.name for i in message.items if i.victim and i.victim.name
        }
        if isinstance(message, Agenda):
            facts.location = message.location
    elif isinstance(message, (CaseExtract, ResearchRequest)):
        facts.meeting_id = message.meeting_id
        facts.case_refs = [message.case_ref]
        people = [message.victim] if isinstance(message, CaseExtract) else list(message.subjects)
        for person in people:
            if person is not None and person.role == "victim" and person.name:
                facts.victims[message.case_ref] = person.name
    elif isinstance(message, ActionNotice):
        facts.meeting_id = message.meeting_id
        facts.case_refs = [message.action.case_ref]
        if message.victim and message.victim.name:
            facts.victims[message.action.case_ref] = message.victim.name
    return facts


def _text(node: Any, limit: int = 200_000) -> str:
    """Every string and number in ``node``, lowercased, for search (bounded)."""
    out: list[str] = []
    stack = [node]
    size = 0
    while stack and size < limit:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, (str, int, float)) and not isinstance(item, bool):
            text = str(item).lower()
            out.append(text)
            size += len(text)
    return " ".join(out)
