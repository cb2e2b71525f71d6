"""The demo's MARAC: one area, a dozen referrals, a meeting with its agenda published,
research answered by the demo agencies, attendance and actions.

Everything goes through the application core (``hub.app``), as a coordinator at the
command line would do it, and the agencies answer with the real ``agency-client``. Every
name, address and telephone number is fictional (the numbers are Ofcom's drama range).
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from hub.app import actions as action_app
from hub.app import areas as area_app
from hub.app import cases as case_app
from hub.app import meetings as meeting_app
from hub.app import users as user_app
from hub.app.actor import operator
from hub.app.bootstrap import open_runtime
from hub.app.identity import cli_actor
from hub.settings import Settings

__all__ = ["AREA", "SEEDED_FILE", "STAFF", "STAFF_FILE", "World", "read_staff", "seed_world"]

AREA = "demo-north"
AREA_NAME = "Demotown MARAC (demo)"
# (user name, role): their passwords are made at random; passwords and API tokens are
# written to STAFF_FILE (the admin's token is also in ``hub.demo``'s demo-admin-token).
STAFF = (("nora", "coordinator"), ("dara", "dpo"), ("admin", "admin"))
STAFF_FILE = "demo-staff.txt"
SEEDED_FILE = "demo-seeded.json"
MEETING_IN_DAYS = 7

# Runs an agency client command for one demo agency: (agency id, argv) -> stdout.
AgencyCommand = Callable[[str, list[str]], Awaitable[str]]


@dataclass(frozen=True, slots=True)
class World:
    """What the demo made: the meeting, its cases, the actions (ids as the hub gave them)."""

    area: str
    meeting_id: str
    meeting_date: date
    listed: list[str]
    waiting: list[str]
    restricted: str
    repeat: str
    research: list[tuple[str, str]]
    actions: list[str]

    def as_json(self) -> dict[str, Any]:
        """The world as stored in the data directory (``SEEDED_FILE``)."""
        return {
            "area": self.area,
            "meeting_id": self.meeting_id,
            "meeting_date": self.meeting_date.isoformat(),
            "listed": self.listed,
            "waiting": self.waiting,
            "restricted": self.restricted,
            "repeat": self.repeat,
            "research": [list(r) for r in self.research],
            "actions": self.actions,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> World:
        """The world ``as_json`` wrote."""
        return cls(
            area=data["area"],
            meeting_id=data["meeting_id"],
            meeting_date=date.fromisoformat(data["meeting_date"]),
            listed=list(data["listed"]),
            waiting=list(data["waiting"]),
            restricted=data["restricted"],
            repeat=data["repeat"],
            research=[(a, c) for a, c in data["research"]],
            actions=list(data["actions"]),
        )


@dataclass(frozen=True, slots=True)
class _Person:
    name: str
    born: str
    gender: str


@dataclass(frozen=True, slots=True)
class _Referral:
    key: str
    victim: _Person
    perpetrator: _Person
    relationship: str
    days_ago: int
    yes: int
    by: str
    children: tuple[_Person, ...] = ()
    criterion: str = "visible_high_risk"
    restricted: bool = False
    safe_to_contact: bool = True
    listed: bool = True


def _p(name: str, born: str, gender: str) -> _Person:
    return _Person(name, born, gender)


# A dozen referrals. "alma-again" is Alma and Boris referred a second time (a repeat);
# "cora" is restricted (the perpetrator must not know); "elin" (listed) and "rosa" (not
# yet) will have waited past the area's 42-day target by the meeting. Children's cases
# come first on the agenda.
REFERRALS = (
    _Referral(
        "alma",
        _p("Alma Fictional", "1990-04-02", "female"),
        _p("Boris Fictional", "1988-01-20", "male"),
        "ex-partner",
        150,
        15,
        "police-demo",
        children=(_p("Carl Fictional", "2019-06-01", "male"),),
        listed=False,
    ),
    _Referral(
        "alma-again",
        _p("Alma Fictional", "1990-04-02", "female"),
        _p("Boris Fictional", "1988-01-20", "male"),
        "ex-partner",
        9,
        17,
        "idva-demo",
        children=(_p("Carl Fictional", "2019-06-01", "male"),),
    ),
    _Referral(
        "cora",
        _p("Cora Placeholder", "1985-11-23", "female"),
        _p("Dev Placeholder", "1983-02-14", "male"),
        "partner",
        12,
        16,
        "police-demo",
        restricted=True,
        safe_to_contact=False,
    ),
    _Referral(
        "elin",
        _p("Elin Sample", "1979-07-30", "female"),
        _p("Frank Sample", "1977-05-05", "male"),
        "husband",
        50,
        14,
        "housing-demo",
        children=(
            _p("Gwen Sample", "2012-03-12", "female"),
            _p("Huw Sample", "2016-09-01", "male"),
        ),
    ),
    _Referral(
        "iris",
        _p("Iris Specimen", "1996-01-17", "female"),
        _p("Jon Specimen", "1994-12-03", "male"),
        "ex-partner",
        20,
        11,
        "idva-demo",
        criterion="professional_judgement",
    ),
    _Referral(
        "kai",
        _p("Kai Example", "1991-08-08", "male"),
        _p("Lee Example", "1989-10-10", "male"),
        "partner",
        16,
        14,
        "police-demo",
    ),
    _Referral(
        "mina",
        _p("Mina Mockup", "2001-05-21", "female"),
        _p("Ned Mockup", "1999-03-13", "male"),
        "boyfriend",
        14,
        18,
        "police-demo",
        children=(_p("Ola Mockup", "2023-02-02", "female"),),
    ),
    _Referral(
        "pia",
        _p("Pia Pretend", "1968-12-24", "female"),
        _p("Quin Pretend", "1965-06-06", "male"),
        "son",
        8,
        12,
        "housing-demo",
        criterion="potential_escalation",
    ),
    _Referral(
        "rosa",
        _p("Rosa Madeup", "1988-09-09", "female"),
        _p("Sid Madeup", "1986-04-04", "male"),
        "ex-husband",
        48,
        15,
        "idva-demo",
        listed=False,
    ),
    _Referral(
        "tess",
        _p("Tess Imaginary", "1993-02-28", "female"),
        _p("Ugo Imaginary", "1990-11-11", "male"),
        "partner",
        4,
        14,
        "police-demo",
        children=(_p("Vic Imaginary", "2020-10-20", "male"),),
        listed=False,
    ),
    _Referral(
        "wren",
        _p("Wren Dummy", "1975-03-03", "female"),
        _p("Xav Dummy", "1972-07-07", "male"),
        "husband",
        3,
        16,
        "housing-demo",
        listed=False,
    ),
    _Referral(
        "yara",
        _p("Yara Notreal", "1999-12-12", "female"),
        _p("Zed Notreal", "1997-01-01", "male"),
        "ex-partner",
        2,
        14,
        "police-demo",
        listed=False,
    ),
)
ETHNICITIES = ("white_british", "mixed_white_black_caribbean", "asian_british_indian", "other")


def _document(r: _Referral, n: int, today: date) -> dict[str, Any]:
    """The referral as docs/referrals.md describes it."""
    street = f"{n + 1} Example Street, Demotown"

    def person(p: _Person, address: str) -> dict[str, Any]:
        return {"name": p.name, "date_of_birth": p.born, "gender": p.gender, "address": address}

    victim = person(r.victim, street) | {
        "ethnicity": ETHNICITIES[n % len(ETHNICITIES)],
        "disability": "no" if n % 3 else "yes",
        "sexual_orientation": "not_known",
    }
    perpetrator = person(r.perpetrator, f"{n + 20} Sample Road, Demotown")
    perpetrator["relationship_to_victim"] = r.relationship
    children = [person(c, street) | {"school": "Demotown Primary (fictional)"} for c in r.children]
    document: dict[str, Any] = {
        "referring_agency": r.by,
        "referred_on": (today - timedelta(days=r.days_ago)).isoformat(),
        "victim": victim,
        "perpetrator": perpetrator,
        "children": children,
        "risk": {"tool": "DASH", "answers": ["yes"] * r.yes + ["no"] * (24 - r.yes)},
        "criterion": r.criterion,
        "consent": {"status": "sought_given"}
        if n % 2
        else {"status": "not_sought", "exception": "sharing is necessary to prevent serious harm"},
        "safe_contact": {"safe_to_contact": r.safe_to_contact},
        "perpetrator_must_not_know": r.restricted,
    }
    if r.safe_to_contact:
        document["safe_contact"] |= {"phone": f"07700 900{n:03d}", "times": "weekday mornings"}
    if r.criterion == "professional_judgement":
        document["rationale"] = "Escalating threats since the separation (demo text)."
    if r.criterion == "potential_escalation":
        document["police_callouts_12m"] = 4
    return document


ANSWERS = {
    "police-demo": {
        "nothing_known": False,
        "items": [
            {"text": "Two call-outs to the address this year (demo).", "kind": "fact"},
            {"text": "Officer's view: the risk is rising (demo).", "kind": "opinion"},
        ],
        "withheld": [{"description": "An open investigation", "reason": "it would prejudice it"}],
    },
    "idva-demo": {
        "nothing_known": False,
        "items": [{"text": "Engaged with the IDVA since the referral (demo).", "kind": "fact"}],
        "withheld": [],
    },
}
ACTIONS = (
    ("alma-again", "housing-demo", "Fit additional locks and a door alarm (demo)", 14),
    ("alma-again", "idva-demo", "Agree a safety plan with the victim (demo)", 7),
    ("elin", "police-demo", "Flag the address for an urgent response (demo)", 3),
    ("mina", "idva-demo", "Offer support at the next court hearing (demo)", 21),
)


def _write_staff(data_dir: Path, passwords: dict[str, str], tokens: dict[str, str]) -> None:
    """The demo staff's web passwords and API tokens, in ``STAFF_FILE`` (0600)."""
    rows = [("# user", "role", "web password", "API token (demo only)")]
    rows += [(name, role, passwords[name], tokens[name]) for name, role in STAFF]
    fd = os.open(data_dir / STAFF_FILE, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write("".join("\t".join(row) + "\n" for row in rows))


def read_staff(data_dir: Path) -> dict[str, tuple[str, str, str]]:
    """``STAFF_FILE``: each user's role, web password and API token."""
    lines = (data_dir / STAFF_FILE).read_text().splitlines()
    rows = [line.split("\t") for line in lines if not line.startswith("#")]
    return {name: (role, password, token) for name, role, password, token in rows}


async def seed_world(
    settings: Settings, agency: AgencyCommand, today: date, admin_token: str
) -> World:
    """Make the demo's MARAC through ``hub.app`` (as the hub's operator, then as the
    coordinator nora); the demo agencies (enrolled, approved) fetch and answer with
    ``agency``. Writes ``SEEDED_FILE``; returns what it made."""
    passwords = {name: secrets.token_urlsafe(12) for name, _role in STAFF}
    tokens = {"admin": admin_token}
    agencies = ("police-demo", "idva-demo", "housing-demo")
    async with open_runtime(settings) as rt:
        op = operator("demo")
        await area_app.add_area(rt, op, AREA, AREA_NAME)
        for agency_id in agencies:
            await area_app.add_area_agency(rt, op, AREA, agency_id)
        for name, role in STAFF:
            if name != "admin":
                tokens[name] = await user_app.add_user(rt, op, name, role)
            await user_app.set_password(rt, op, name, passwords[name])
        _write_staff(settings.data_dir, passwords, tokens)
        await area_app.add_area_user(rt, op, AREA, "nora")
        nora = await cli_actor(rt, "nora")
        refs: dict[str, str] = {}
        for n, referral in enumerate(REFERRALS):
            done = await case_app.refer_case(rt, nora, AREA, _document(referral, n, today))
            refs[referral.key] = done.case_ref
        meeting = await meeting_app.create_meeting(
            rt, nora, AREA, today + timedelta(days=MEETING_IN_DAYS), "Civic Centre, room 2 (demo)"
        )
        listed = [refs[r.key] for r in REFERRALS if r.listed]
        for ref in listed:
            await meeting_app.add_case(rt, nora, meeting.id, ref)
        await meeting_app.publish_agenda(rt, nora, meeting.id)
    research = await _answer_research(settings.data_dir, agency, refs)
    async with open_runtime(settings) as rt:
        nora = await cli_actor(rt, "nora")
        await meeting_app.record_attendance(
            rt,
            nora,
            meeting.id,
            {"police-demo": "attended", "idva-demo": "attended", "housing-demo": "apologies"},
        )
        actions = []
        for key, owner, description, due_in in ACTIONS:
            action, _sent = await action_app.add_action(
                rt,
                nora,
                meeting.id,
                refs[key],
                owner,
                description,
                meeting.meeting_date + timedelta(days=due_in),
            )
            actions.append(action.id)
    world = World(
        area=AREA,
        meeting_id=meeting.id,
        meeting_date=meeting.meeting_date,
        listed=listed,
        waiting=[refs[r.key] for r in REFERRALS if not r.listed],
        restricted=refs["cora"],
        repeat=refs["alma-again"],
        research=research,
        actions=actions,
    )
    (settings.data_dir / SEEDED_FILE).write_text(json.dumps(world.as_json(), indent=2) + "\n")
    return world


async def _answer_research(
    data_dir: Path, agency: AgencyCommand, refs: dict[str, str]
) -> list[tuple[str, str]]:
    """The police answer three cases, the IDVA two; housing has not answered yet."""
    answered = []
    plan = {
        "police-demo": ("alma-again", "cora", "elin"),
        "idva-demo": ("alma-again", "mina"),
    }
    for agency_id, keys in plan.items():
        await agency(agency_id, ["run", "--once"])  # fetch the agenda and research requests
        answer = data_dir / "demo-clients" / f"{agency_id}-answer.json"
        answer.write_text(json.dumps(ANSWERS[agency_id]))
        for key in keys:
            await agency(agency_id, ["research", refs[key], "--file", str(answer)])
            answered.append((agency_id, refs[key]))
    return answered


def read_world(data_dir: Path) -> World | None:
    """The world an earlier run made, if any."""
    path = data_dir / SEEDED_FILE
    if not path.exists():
        return None
    return World.from_json(json.loads(path.read_text()))
