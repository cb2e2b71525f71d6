"""Staff API tokens that expire and may be narrowed (issue 23): made by admins, listed and
revoked by admins or their own user, never wider than their user, refused once expired.
Through the real API and CLI of one hub (the agency-administration kit's staff: nora in
north, sam in south, bo in both, dana a DPO, ada an admin)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, update

from hub.cases.tables import user_areas
from hub.service.appkeys import ENGINE
from hub.users.tables import staff_tokens, users

sys.path.insert(0, str(Path(__file__).resolve().parent))
from agencykit import HubThread, Kit


@pytest.fixture(autouse=True)
def cli_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI reaches the serving hub's database and keys (as its operator would)."""
    monkeypatch.setenv("MARAC_HUB_KEY_PASSPHRASE", "marac-hub-testing")
    for name in ("DATABASE_URL", "POLICY_FILE", "CONFIG_FILE"):
        monkeypatch.delenv(f"MARAC_HUB_{name}", raising=False)


@pytest.fixture(scope="module")
def kit(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kit]:
    """Areas north and south and their staff."""
    hub = HubThread(tmp_path_factory.mktemp("tokens"))
    try:
        made = Kit(hub)
        made.seed()
        yield made
    finally:
        hub.stop()


def _new(kit: Kit, user: str, body: dict[str, Any], by: str = "ada") -> tuple[int, Any]:
    return kit.api("POST", f"/api/v1/users/{user}/tokens", by, body)


def _as(kit: Kit, token: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    """One API call with ``token`` (not one of the kit's)."""
    kit.tokens["__probe"] = token
    try:
        return kit.api(method, path, "__probe", body)
    finally:
        del kit.tokens["__probe"]


def _areas_seen(kit: Kit, token: str) -> set[str]:
    status, doc = _as(kit, token, "GET", "/api/v1/areas")
    assert status == 200, doc
    return {a["id"] for a in doc["areas"]}


def _sql(kit: Kit, statement: Any) -> None:
    """Change the database behind the hub's back (as time, or an operator's SQL, would)."""

    async def go() -> None:
        async with kit.hub.hub.app[ENGINE].begin() as conn:
            await conn.execute(statement)

    kit.hub.run(go())


def test_an_admin_makes_an_expiring_token_and_its_listing_never_shows_the_secret(
    kit: Kit,
) -> None:
    status, made = _new(kit, "nora", {"expires_in_days": 7, "label": "reports"})
    assert status == 201, made
    expires = datetime.fromisoformat(made["expires_at"])
    assert timedelta(days=6, hours=23) < expires - datetime.now(UTC) <= timedelta(days=7)
    assert _as(kit, made["token"], "GET", "/api/v1/alerts")[0] == 200
    status, listed = kit.api("GET", "/api/v1/users/nora/tokens", "ada")
    assert status == 200, listed
    mine = next(t for t in listed["tokens"] if t["id"] == made["id"])
    assert mine["state"] == "active" and mine["label"] == "reports"
    assert mine["created_by"] == "admin:ada" and mine["last_used_at"] is not None
    assert made["token"].startswith(mine["prefix"])
    secret = made["token"].split("_", 2)[2]  # the whole secret: it may hold "_" itself
    assert secret not in json.dumps(listed)
    # the token made with the account expires by default 90 days after it was made
    first = listed["tokens"][-1]
    made_at = datetime.fromisoformat(first["created_at"])
    assert datetime.fromisoformat(first["expires_at"]) - made_at == timedelta(days=90)


def test_an_expired_token_is_refused_with_a_problem_saying_it_expired(kit: Kit) -> None:
    status, made = _new(kit, "sam", {"expires_in_days": 1})
    assert status == 201 and _as(kit, made["token"], "GET", "/api/v1/alerts")[0] == 200
    yesterday = datetime.now(UTC) - timedelta(days=1)
    _sql(
        kit,
        update(staff_tokens).where(staff_tokens.c.id == made["id"]).values(expires_at=yesterday),
    )
    status, problem = _as(kit, made["token"], "GET", "/api/v1/alerts")
    assert status == 401 and problem["type"].endswith("/unauthorized"), problem
    assert "expired" in problem["detail"]
    # a wrong secret under the expired token's id learns nothing about its expiry
    forged = made["token"][:-4] + ("AAAA" if not made["token"].endswith("AAAA") else "BBBB")
    status, problem = _as(kit, forged, "GET", "/api/v1/alerts")
    assert status == 401 and "expired" not in problem["detail"]


@pytest.mark.parametrize(
    ("user", "body", "status", "kind"),
    [
        ("nora", {"role": "admin"}, 403, "forbidden"),  # wider role than the user's
        ("dana", {"role": "coordinator", "areas": ["north"]}, 403, "forbidden"),
        ("nora", {"areas": ["south"]}, 403, "forbidden"),  # an area she does not work in
        ("nora", {"areas": ["atlantis"]}, 404, "not-found"),
        ("dana", {"areas": ["north"]}, 400, "malformed"),  # areas narrow coordinators only
        (
            "ada",
            {"role": "coordinator"},
            400,
            "malformed",
        ),  # an admin's coordinator token names areas
        ("nora", {"expires_in_days": 0}, 400, "malformed"),
        ("nora", {"expires_in_days": 400}, 400, "malformed"),
        ("nora", {"expires_in_days": True}, 400, "malformed"),
        ("nora", {"expires_on": "2020-01-01"}, 400, "malformed"),
        ("nora", {"expires_on": "2027-02-30"}, 400, "malformed"),
        ("nora", {"expires_in_days": 3, "expires_on": "2027-01-01"}, 400, "malformed"),
        ("nora", {"areas": "north"}, 400, "wrong-type"),
        ("nora", {"areas": [7]}, 400, "wrong-type"),
        ("nora", {"label": "x" * 65}, 400, "malformed"),
        ("nora", {"scope": "all"}, 400, "malformed"),
        ("nobody", {}, 404, "not-found"),
    ],
)
def test_a_token_cannot_be_made_wider_than_its_user_or_from_bad_input(
    kit: Kit, user: str, body: dict[str, Any], status: int, kind: str
) -> None:
    got, problem = _new(kit, user, body)
    assert got == status and problem["type"].endswith(f"/{kind}"), problem


def test_a_token_narrowed_to_an_area_cannot_reach_its_users_other_area(kit: Kit) -> None:
    status, made = _new(kit, "bo", {"areas": ["north"]})
    assert status == 201, made
    assert _areas_seen(kit, made["token"]) == {"north"}
    assert _areas_seen(kit, kit.tokens["bo"]) == {"north", "south"}
    status, problem = _as(
        kit, made["token"], "POST", "/api/v1/meetings", {"area": "south", "date": "2027-03-01"}
    )
    assert status == 403, problem


def test_an_admins_token_narrowed_to_a_dpo_cannot_act_as_an_admin(kit: Kit) -> None:
    status, made = _new(kit, "ada", {"role": "dpo"})
    assert status == 201, made
    token = made["token"]
    assert _as(kit, token, "GET", "/api/v1/users")[0] == 403
    assert _as(kit, token, "POST", "/api/v1/users/nora/tokens", {})[0] == 403
    assert _as(kit, token, "GET", "/api/v1/users/nora/tokens")[0] == 403
    assert _as(kit, token, "GET", "/api/v1/users/ada/tokens")[0] == 200  # her own
    status, made = _new(kit, "ada", {"role": "coordinator", "areas": ["south"]})
    assert status == 201 and _areas_seen(kit, made["token"]) == {"south"}


def test_a_token_shrinks_when_its_user_does(kit: Kit) -> None:
    status, both = _new(kit, "bo", {"areas": ["north", "south"]})
    assert status == 201, both
    _sql(
        kit,
        delete(user_areas).where(user_areas.c.user_name == "bo", user_areas.c.area_id == "south"),
    )
    try:
        assert _areas_seen(kit, both["token"]) == {"north"}
    finally:
        _sql(kit, user_areas.insert().values(user_name="bo", area_id="south"))
    # a coordinator token of an admin who is an admin no longer (now a DPO) is refused
    assert kit.api("POST", "/api/v1/users", "ada", {"name": "ida", "role": "admin"})[0] == 201
    status, narrowed = _new(kit, "ida", {"role": "coordinator", "areas": ["north"]})
    assert status == 201 and _areas_seen(kit, narrowed["token"]) == {"north"}
    _sql(kit, update(users).where(users.c.name == "ida").values(role="dpo"))
    assert _as(kit, narrowed["token"], "GET", "/api/v1/areas")[0] == 401


def test_a_revoked_token_is_refused_at_once_and_the_users_others_still_work(kit: Kit) -> None:
    first, second = (_new(kit, "sam", {})[1] for _ in range(2))
    status, done = kit.api("DELETE", f"/api/v1/users/sam/tokens/{first['id']}", "ada")
    assert status == 200 and done == {"user": "sam", "revoked": 1}
    assert _as(kit, first["token"], "GET", "/api/v1/alerts")[0] == 401
    assert _as(kit, second["token"], "GET", "/api/v1/alerts")[0] == 200
    status, problem = kit.api("DELETE", f"/api/v1/users/sam/tokens/{first['id']}", "ada")
    assert status == 404, problem
    listed = kit.api("GET", "/api/v1/users/sam/tokens", "ada")[1]["tokens"]
    assert next(t for t in listed if t["id"] == first["id"])["state"] == "revoked"


def test_who_may_make_list_and_revoke_tokens_through_the_api(kit: Kit) -> None:
    # only an admin makes tokens, even for oneself (a stolen token cannot renew itself)
    assert _new(kit, "nora", {}, by="nora")[0] == 403
    assert _new(kit, "sam", {}, by="nora")[0] == 403
    assert _new(kit, "dana", {}, by="dana")[0] == 403
    assert _new(kit, "nora", {}, by=None)[0] == 401
    # each lists and revokes their own; an admin anyone's; nobody else another's
    assert kit.api("GET", "/api/v1/users/nora/tokens", "nora")[0] == 200
    assert kit.api("GET", "/api/v1/users/nora/tokens", "sam")[0] == 403
    assert kit.api("GET", "/api/v1/users/nora/tokens", "dana")[0] == 403
    assert kit.api("GET", "/api/v1/users/dana/tokens", "ada")[0] == 200
    assert kit.api("GET", "/api/v1/users/nora/tokens", None)[0] == 401
    spare = _new(kit, "nora", {})[1]
    assert kit.api("DELETE", f"/api/v1/users/nora/tokens/{spare['id']}", "sam")[0] == 403
    assert kit.api("DELETE", "/api/v1/users/nora/tokens", "dana")[0] == 403
    assert _as(kit, spare["token"], "GET", "/api/v1/alerts")[0] == 200
    assert kit.api("DELETE", f"/api/v1/users/nora/tokens/{spare['id']}", "nora")[0] == 200
    assert _as(kit, spare["token"], "GET", "/api/v1/alerts")[0] == 401


def test_revoking_all_of_ones_tokens_ends_this_very_token_too(kit: Kit) -> None:
    status, made = _new(kit, "dana", {})
    assert status == 201
    status, done = _as(kit, made["token"], "DELETE", "/api/v1/users/dana/tokens")
    assert status == 200 and done["revoked"] >= 2, done
    assert _as(kit, made["token"], "GET", "/api/v1/users/dana/tokens")[0] == 401
    assert kit.api("GET", "/api/v1/users/dana/tokens", "dana")[0] == 401  # the seeded one too
    kit.tokens["dana"] = _new(kit, "dana", {})[1]["token"]


def test_who_may_make_list_and_revoke_tokens_through_the_cli(
    kit: Kit, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = kit.cli(
        capsys, "user", "token", "new", "nora", "--expires-in", "12h", by="ada"
    )
    assert status == 0, err
    token = out.strip().splitlines()[-1]
    ident = token.split("_")[1]
    assert _as(kit, token, "GET", "/api/v1/alerts")[0] == 200
    status, out, err = kit.cli(capsys, "user", "token", "list", "nora", by="nora")
    assert status == 0 and ident in out and token.split("_", 2)[2] not in out, err
    for argv, by in (
        (("user", "token", "list", "nora"), "sam"),
        (("user", "token", "new", "nora"), "nora"),
        (("user", "token", "revoke", "nora", ident), "dana"),
    ):
        status, out, err = kit.cli(capsys, *argv, by=by)
        assert status == 1 and "forbidden" in err and "Traceback" not in err, (argv, err)
    status, out, err = kit.cli(capsys, "user", "token", "revoke", "nora", ident, by="nora")
    assert status == 0 and "1 token(s) of nora revoked" in out, err
    assert _as(kit, token, "GET", "/api/v1/alerts")[0] == 401


@pytest.mark.parametrize(
    ("argv", "status", "says"),
    [
        (("new", "nora", "--expires-in", "soon"), 2, "not a duration"),
        (("new", "nora", "--expires-in", "400d"), 2, "366d"),
        (("new", "nora", "--expires-on", "2020-01-01"), 1, "expire in the future"),
        (("new", "nora", "--expires-on", "tomorrow"), 2, "not a date"),
        (("new", "nora", "--expires-in", "1d", "--expires-on", "2027-01-01"), 2, "not allowed"),
        (("new", "nora", "--role", "admin"), 1, "cannot exceed its user"),
        (("new", "nora", "--area", "south"), 1, "does not work in south"),
        (("revoke", "nora"), 1, "ID or --all"),
        (("revoke", "nora", "feedfacefeedface"), 1, "no unrevoked token"),
    ],
)
def test_the_cli_refuses_bad_token_arguments_in_one_line(
    kit: Kit, capsys: pytest.CaptureFixture[str], argv: tuple[str, ...], status: int, says: str
) -> None:
    try:
        got, _, err = kit.cli(capsys, "user", "token", *argv, by="ada")
    except SystemExit as exit_:  # argparse's usage error
        got, err = int(exit_.code or 0), capsys.readouterr().err
    assert got == status and says in err and "Traceback" not in err, err


def test_a_narrowed_token_stays_narrow_when_its_user_is_promoted(kit: Kit) -> None:
    assert (
        kit.api("POST", "/api/v1/users", "ada", {"name": "cody", "role": "coordinator"})[0] == 201
    )
    assert kit.api("POST", "/api/v1/areas/north/users", "ada", {"user": "cody"})[0] == 201
    status, north = _new(kit, "cody", {"areas": ["north"]})
    assert status == 201, north
    status, own_role = _new(kit, "cody", {"role": "coordinator"})
    assert status == 201, own_role
    _sql(kit, update(users).where(users.c.name == "cody").values(role="admin"))
    for token in (north["token"], own_role["token"]):
        assert _as(kit, token, "GET", "/api/v1/users")[0] == 403  # still no admin
    assert _areas_seen(kit, north["token"]) == {"north"}
