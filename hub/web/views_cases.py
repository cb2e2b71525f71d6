"""The referral form (the referring agency chosen from the area's agencies, up to 15
children, the 24-question checklist, criteria, consent, safe contact, the "perpetrator
must not know" flag), the case page (with the repeat warning, the previous action plan and
the referral's amendments) and the amendment form (the referral form, prefilled). A
coordinator works only in their own areas."""

from __future__ import annotations

import re
from datetime import date
from typing import Any, Final

from aiohttp import web

from hub.app import cases as cases_app
from hub.app.cases import ANSWERS, MAX_CHILDREN, referral_clock
from hub.http.appkeys import RUNTIME
from hub.protocol.errors import HubError, ProtocolError
from hub.web.checklist import QUESTIONS
from hub.web.pages import form, page_for, render, see_other, web_actor

__all__ = ["routes"]

routes = web.RouteTableDef()
CHILD_ROWS: Final = 3  # rows shown at first; "Add another child" adds one, up to 15
_CHILD_FIELD: Final = re.compile(r"^child(\d{1,4})\.")
CRITERIA: Final = (
    ("visible_high_risk", "Visible high risk (14 or more yes answers)"),
    ("professional_judgement", "Professional judgement (give the rationale)"),
    ("potential_escalation", "Potential escalation (give the police call-outs in 12 months)"),
    ("repeat", "Repeat (the hub checks for a referral in the last 12 months)"),
)
CONSENT: Final = (
    ("sought_given", "Sought and given"),
    ("sought_refused", "Sought and refused"),
    ("not_sought", "Not sought"),
)
_PERSON: Final = ("name", "date_of_birth", "gender", "address")
_VICTIM: Final = (*_PERSON, "ethnicity", "disability", "sexual_orientation")
_PERPETRATOR: Final = (*_PERSON, "relationship_to_victim")
_CHILD: Final = ("name", "date_of_birth", "gender", "school", "address")


def _value(values: dict[str, str], name: str) -> str | None:
    value = values.get(name, "").strip()
    return value or None


def _person(values: dict[str, str], prefix: str, names: tuple[str, ...]) -> dict[str, Any]:
    return {n: v for n in names if (v := _value(values, f"{prefix}.{n}")) is not None}


def referral_from_form(values: dict[str, str]) -> dict[str, Any]:
    """The referral document (as the API takes it) from the form's fields."""
    victim = _person(values, "victim", _VICTIM)
    others = [n.strip() for n in values.get("victim.other_names", "").splitlines() if n.strip()]
    if others:
        victim["other_names"] = others
    children = [
        child for i in _child_indices(values) if (child := _person(values, f"child{i}", _CHILD))
    ]
    doc: dict[str, Any] = {
        "referring_agency": _value(values, "referring_agency"),
        "referred_on": _value(values, "referred_on"),
        "victim": victim,
        "perpetrator": _person(values, "perpetrator", _PERPETRATOR),
        "children": children,
        "risk": {
            "tool": values.get("risk.tool", "DASH"),
            "answers": [values.get(f"q{i}", "not_known") for i in range(1, ANSWERS + 1)],
        },
        "criterion": values.get("criterion"),
        "consent": {"status": values.get("consent.status")},
        "safe_contact": {
            "safe_to_contact": values.get("safe_contact.safe_to_contact") == "yes",
            **_person(values, "safe_contact", ("phone", "address", "times", "notes")),
        },
        "perpetrator_must_not_know": values.get("perpetrator_must_not_know") == "yes",
    }
    for name in ("rationale",):
        if (text := _value(values, name)) is not None:
            doc[name] = text
    if (exception := _value(values, "consent.exception")) is not None:
        doc["consent"]["exception"] = exception
    if (callouts := _value(values, "police_callouts_12m")) is not None:
        try:
            doc["police_callouts_12m"] = int(callouts)
        except ValueError:
            raise ProtocolError("police call-outs must be a whole number") from None
    return doc


def _child_indices(values: dict[str, str]) -> list[int]:
    """The child rows the form sent (any number: more than 15 children is refused by
    the referral's validation, not dropped)."""
    found = {int(m.group(1)) for name in values if (m := _CHILD_FIELD.match(name))}
    return sorted(found)


def _child_rows(values: dict[str, str], more: bool) -> int:
    """Rows to show: at least three, every row sent, one more when asked; at most 15."""
    sent = max(_child_indices(values), default=-1) + 1
    return min(MAX_CHILDREN, max(CHILD_ROWS, sent) + (1 if more else 0))


async def _form_page(
    request: web.Request,
    values: dict[str, str],
    error: str | None,
    status: int = 200,
    *,
    more: bool = False,
    amending: str | None = None,
) -> web.Response:
    rt, actor = request.app[RUNTIME], await web_actor(request)
    choices = await cases_app.referral_agencies(rt, actor)
    if amending is not None:  # the case's own area only (sent back by the form)
        choices = [(a, agencies) for a, agencies in choices if a.id == values.get("area")]
    return render(
        request,
        "referral.html",
        {
            "title": f"Amend the referral of {amending}" if amending else "New referral",
            "amending": amending,
            "areas": [area for area, _ in choices],
            "choices": choices,
            "v": values,
            "error": error,
            "questions": QUESTIONS,
            "criteria": CRITERIA,
            "consent": CONSENT,
            "child_rows": _child_rows(values, more),
            "max_children": MAX_CHILDREN,
            "yes_count": sum(1 for i in range(1, ANSWERS + 1) if values.get(f"q{i}") == "yes"),
        },
        status=status,
    )


def _posted(request: web.Request) -> dict[str, str]:
    return {k: v for k, v in form(request).items() if isinstance(v, str) and len(v) <= 20_000}


@routes.get("/referrals/new")
@page_for("case.referral-agencies")
async def referral_form(request: web.Request) -> web.StreamResponse:
    """A blank referral form."""
    return await _form_page(request, {"referred_on": date.today().isoformat()}, None)


@routes.post("/referrals/new")
@page_for("case.refer")
async def referral_submit(request: web.Request) -> web.StreamResponse:
    """Take the referral; on a mistake, the form again with what was typed and the reason
    ("Add another child": the form again with one more row, nothing taken)."""
    values = _posted(request)
    if "add_child" in values:
        return await _form_page(request, values, None, more=True)
    try:
        done = await cases_app.refer_case(
            request.app[RUNTIME],
            await web_actor(request),
            values.get("area", ""),
            referral_from_form(values),
        )
    except HubError as exc:
        if exc.code == "forbidden":
            raise
        return await _form_page(request, values, exc.message, status=400)
    raise see_other(f"/cases/{done.case_ref}?new=1")


@routes.get("/cases/{ref}")
@page_for("case.page")
async def case_page(request: web.Request) -> web.StreamResponse:
    """One case for a coordinator of its area: the referral, the clock, a repeat's history
    (logged as an access)."""
    ref = request.match_info["ref"]
    shown = await cases_app.case_page(request.app[RUNTIME], await web_actor(request), ref)
    return render(
        request,
        "case.html",
        {
            "title": f"Case {ref}",
            "case": shown.case,
            "area": shown.area,
            "v": shown.case.view,
            "questions": QUESTIONS,
            "clock": referral_clock(shown.case.referred_on, shown.today, shown.area.target_days),
            "actions": shown.actions,
            "previous": shown.previous,
            "previous_area": shown.previous_area,
            "today": shown.today,
            "amendments": shown.amendments,
            "notice": NOTICES.get(
                request.query.get("done", "new" if "new" in request.query else "")
            ),
        },
    )


NOTICES: Final = {"new": "Referral taken.", "amended": "Referral amended."}


def form_from_referral(doc: dict[str, Any]) -> dict[str, str]:
    """The referral form's fields from a referral document (to amend it)."""
    values: dict[str, str] = {}
    for role in ("victim", "perpetrator"):
        for name, value in (doc.get(role) or {}).items():
            if name == "other_names":
                values[f"{role}.other_names"] = "\n".join(value)
            elif value is not None:
                values[f"{role}.{name}"] = str(value)
    for i, child in enumerate(doc.get("children") or []):
        values.update({f"child{i}.{k}": str(v) for k, v in child.items() if v is not None})
    risk = doc.get("risk") or {}
    values["risk.tool"] = str(risk.get("tool", "DASH"))
    values.update({f"q{i}": str(a) for i, a in enumerate(risk.get("answers") or [], start=1)})
    for name in ("referring_agency", "referred_on", "criterion", "rationale"):
        if doc.get(name) is not None:
            values[name] = str(doc[name])
    if doc.get("police_callouts_12m") is not None:
        values["police_callouts_12m"] = str(doc["police_callouts_12m"])
    consent = doc.get("consent") or {}
    values["consent.status"] = str(consent.get("status", ""))
    if consent.get("exception"):
        values["consent.exception"] = str(consent["exception"])
    contact = doc.get("safe_contact") or {}
    values["safe_contact.safe_to_contact"] = "yes" if contact.get("safe_to_contact") else "no"
    for name in ("phone", "address", "times", "notes"):
        if contact.get(name):
            values[f"safe_contact.{name}"] = str(contact[name])
    if doc.get("perpetrator_must_not_know"):
        values["perpetrator_must_not_know"] = "yes"
    return values


@routes.get("/cases/{ref}/amend")
@page_for("case.referral")
async def amend_form(request: web.Request) -> web.StreamResponse:
    """The referral form, prefilled with the case's referral (reading it is logged)."""
    rt, actor = request.app[RUNTIME], await web_actor(request)
    ref = request.match_info["ref"]
    found = await cases_app.referral_document(rt, actor, ref)
    values = {**form_from_referral(found.document), "area": found.area}
    return await _form_page(request, values, None, amending=ref)


@routes.post("/cases/{ref}/amend")
@page_for("case.amend")
async def amend_submit(request: web.Request) -> web.StreamResponse:
    """Amend the referral with what the form holds; on a mistake, the form again with the
    reason ("Add another child": one more row, nothing changed)."""
    rt, actor = request.app[RUNTIME], await web_actor(request)
    ref = request.match_info["ref"]
    values = _posted(request)
    if "add_child" in values:
        return await _form_page(request, values, None, more=True, amending=ref)
    try:
        await cases_app.amend_case(rt, actor, ref, referral_from_form(values), whole=True)
    except HubError as exc:
        if exc.code in ("forbidden", "not-found"):
            raise
        return await _form_page(request, values, exc.message, status=400, amending=ref)
    raise see_other(f"/cases/{ref}?done=amended")
