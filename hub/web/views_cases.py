"""The referral form (the 24-question checklist, criteria, consent, safe contact, the
"perpetrator must not know" flag) and the case page (with the repeat warning and the
previous action plan). A coordinator works only in their own areas."""

from __future__ import annotations

from datetime import date
from typing import Any, Final

from aiohttp import web

from hub.app import areas as area_app
from hub.app import cases as cases_app
from hub.app.cases import ANSWERS, MAX_CHILDREN, referral_clock
from hub.http.appkeys import RUNTIME
from hub.protocol.errors import HubError, ProtocolError
from hub.web.checklist import QUESTIONS
from hub.web.pages import form, page_for, render, see_other, web_actor

__all__ = ["routes"]

routes = web.RouteTableDef()
CHILD_ROWS: Final = 3
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
_CHILD: Final = ("name", "date_of_birth", "school")


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
        child for i in range(MAX_CHILDREN) if (child := _person(values, f"child{i}", _CHILD))
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


async def _form_page(
    request: web.Request, values: dict[str, str], error: str | None, status: int = 200
) -> web.Response:
    areas = await area_app.list_areas(request.app[RUNTIME], await web_actor(request))
    return render(
        request,
        "referral.html",
        {
            "title": "New referral",
            "areas": areas,
            "v": values,
            "error": error,
            "questions": QUESTIONS,
            "criteria": CRITERIA,
            "consent": CONSENT,
            "child_rows": CHILD_ROWS,
            "yes_count": sum(1 for i in range(1, ANSWERS + 1) if values.get(f"q{i}") == "yes"),
        },
        status=status,
    )


@routes.get("/referrals/new")
@page_for("case.refer")
async def referral_form(request: web.Request) -> web.StreamResponse:
    """A blank referral form."""
    return await _form_page(request, {"referred_on": date.today().isoformat()}, None)


@routes.post("/referrals/new")
@page_for("case.refer")
async def referral_submit(request: web.Request) -> web.StreamResponse:
    """Take the referral; on a mistake, the form again with what was typed and the reason."""
    values = {k: v for k, v in form(request).items() if isinstance(v, str) and len(v) <= 20_000}
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
            "notice": "Referral taken." if request.query.get("new") == "1" else None,
        },
    )
