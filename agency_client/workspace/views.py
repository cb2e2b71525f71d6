"""The workspace's pages: open, unlock and lock; the inbox; a case, a message; the research
response form; the agency's actions; keys and log; check for new messages."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final

from aiohttp import web

from agency_client import sending
from agency_client.outbound import action_update, research_response
from agency_client.rotation import DEFAULT_ROTATION, current_key
from agency_client.store import Store, StoreError
from agency_client.workspace.casebook import KINDS, Casebook
from agency_client.workspace.documents import readable
from agency_client.workspace.forms import (
    MAX_ROWS,
    STATUSES,
    ResearchForm,
    parse_action,
    parse_research,
)
from agency_client.workspace.guard import COOKIE, Guard, Unlocked
from agency_client.workspace.rendering import GUARD, render, stylesheet
from hub.protocol.envelope import format_timestamp
from hub.protocol.errors import CryptoError, HubError

__all__ = ["add_routes"]

REF: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,39}$")
ULID: Final = re.compile(r"^[0-7][0-9A-HJKMNP-TV-Z]{25}$")
MAX_PASSPHRASE: Final = 1024
MAX_QUERY: Final = 200


def add_routes(app: web.Application) -> None:
    """Register every page."""
    app.router.add_get("/open", open_link)
    app.router.add_get("/static/workspace.css", css)
    app.router.add_get("/unlock", unlock_form)
    app.router.add_post("/unlock", unlock)
    app.router.add_post("/lock", lock)
    app.router.add_get("/", inbox)
    app.router.add_get("/cases/{ref}", case_page)
    app.router.add_get("/cases/{ref}/research", research_page)
    app.router.add_post("/cases/{ref}/research", research_post)
    app.router.add_get("/messages/{envelope_id}", message_page)
    app.router.add_get("/actions", actions_page)
    app.router.add_post("/actions/{action_id}", action_post)
    app.router.add_get("/status", status_page)
    app.router.add_post("/receive", receive)


def _guard(request: web.Request) -> Guard:
    return request.app[GUARD]


def _unlocked(request: web.Request) -> Unlocked:
    unlocked = _guard(request).unlocked
    if unlocked is None:  # the session middleware sends locked requests to /unlock
        raise web.HTTPSeeOther("/unlock")
    return unlocked


def _flash(request: web.Request) -> str | None:
    guard = _guard(request)
    message, guard.flash = guard.flash, None
    return message


def _safe_next(value: object) -> str:
    text = value if isinstance(value, str) else "/"
    if not text.startswith("/") or text.startswith("//") or "\\" in text or len(text) > 500:
        return "/"
    return text


# -- open, unlock, lock ----------------------------------------------------------------


async def open_link(request: web.Request) -> web.StreamResponse:
    """Exchange the one-time token for the session cookie."""
    guard = _guard(request)
    if guard.is_session(request.cookies.get(COOKIE)):  # the same browser, the link again
        raise web.HTTPSeeOther("/")
    token = request.query.get("token", "")
    session = guard.exchange(token[:200]) if token else None
    if session is None:
        return render(
            request,
            "problem.html",
            status=403,
            title="This link has been used",
            detail="The workspace link works once. Start 'agency-client ui' again for a new link.",
        )
    response = web.Response(status=303, headers={"Location": "/unlock"})
    response.set_cookie(COOKIE, session, httponly=True, samesite="Strict", path="/")
    return response


async def css(_request: web.Request) -> web.StreamResponse:
    """The stylesheet."""
    return web.Response(body=stylesheet(), content_type="text/css")


async def unlock_form(request: web.Request) -> web.StreamResponse:
    """Ask for the passphrase (or go on if already unlocked)."""
    guard = _guard(request)
    target = _safe_next(request.query.get("next", "/"))
    if guard.unlocked is not None:
        raise web.HTTPSeeOther(target)
    return render(
        request, "unlock.html", next=target, reason=guard.locked_reason, error=None, title="Unlock"
    )


async def unlock(request: web.Request) -> web.StreamResponse:
    """Open the keys and the store with the passphrase."""
    guard = _guard(request)
    form = await request.post()
    target = _safe_next(form.get("next", "/"))
    passphrase = form.get("passphrase")
    error = None
    if not isinstance(passphrase, str) or not passphrase:
        error = "Enter the key passphrase."
    elif len(passphrase) > MAX_PASSPHRASE:
        error = "That passphrase does not open this agency's keys."
    else:
        try:
            await guard.unlock(passphrase)
        except CryptoError as exc:
            error = (
                "That passphrase does not open this agency's keys."
                if exc.code == "wrong-passphrase"
                else f"The keys cannot be opened: {exc.message}"
            )
        except HubError as exc:
            error = f"The store cannot be opened: {exc.message}"
    if error is not None:
        return render(
            request,
            "unlock.html",
            status=400,
            next=target,
            reason=None,
            error=error,
            title="Unlock",
        )
    raise web.HTTPSeeOther(target)


async def lock(request: web.Request) -> web.StreamResponse:
    """Lock now: drop the keys and close the store."""
    _guard(request).lock("Locked.")
    raise web.HTTPSeeOther("/unlock")


# -- reading -----------------------------------------------------------------------------


def _book(request: web.Request) -> Casebook:
    return Casebook(_unlocked(request).store)


async def inbox(request: web.Request) -> web.StreamResponse:
    """Meetings with their cases, messages not tied to a meeting, and search."""
    book = _book(request)
    query = request.query.get("q", "")[:MAX_QUERY].strip()
    kind = request.query.get("type", "")
    kind = kind if kind in KINDS else ""
    results = book.search(query, kind) if (query or kind) else None
    return render(
        request,
        "inbox.html",
        title="Inbox",
        book=book,
        meetings=book.meetings_by_date(),
        unplaced=book.unplaced(),
        query=query,
        kind=kind,
        kinds=KINDS,
        results=results,
        today=date.today(),
        flash=_flash(request),
    )


def _case_ref(request: web.Request) -> str:
    ref = request.match_info["ref"]
    if not REF.match(ref):
        raise web.HTTPNotFound()
    return ref


async def case_page(request: web.Request) -> web.StreamResponse:
    """Everything stored about one case, printable."""
    ref = _case_ref(request)
    book = _book(request)
    case = book.cases.get(ref)
    if case is None:
        raise web.HTTPNotFound()
    actions = [a for a in book.actions.values() if a.action.case_ref == ref]
    return render(
        request,
        "case.html",
        title=f"Case {ref}",
        case=case,
        book=book,
        actions=actions,
        readable=readable,
        today=date.today(),
        flash=_flash(request),
    )


async def message_page(request: web.Request) -> web.StreamResponse:
    """One message, readable (FHIR and POLE documents as labelled records)."""
    envelope_id = request.match_info["envelope_id"]
    if not ULID.match(envelope_id):
        raise web.HTTPNotFound()
    book = _book(request)
    entry = book.entry(envelope_id)
    if entry is None:
        raise web.HTTPNotFound()
    return render(
        request,
        "message.html",
        title=entry.label,
        entry=entry,
        book=book,
        readable=readable,
        today=date.today(),
    )


# -- research responses -------------------------------------------------------------------


def _research(
    request: web.Request, form: ResearchForm, *, status: int = 200, saved_at: str | None = None
) -> web.Response:
    ref = _case_ref(request)
    book = _book(request)
    case = book.cases.get(ref)
    if case is None or case.open_request is None:
        raise web.HTTPNotFound()
    items, withheld = form.rows()
    return render(
        request,
        "research.html",
        status=status,
        title=f"Research response: {ref}",
        case=case,
        research_request=case.open_request,
        form=form,
        items=items,
        withheld=withheld,
        saved_at=saved_at,
        max_rows=MAX_ROWS,
        flash=_flash(request),
    )


async def research_page(request: web.Request) -> web.StreamResponse:
    """The form, filled from the draft if there is one."""
    ref = _case_ref(request)
    draft = _unlocked(request).store.draft(ref)
    if draft is None:
        return _research(request, ResearchForm())
    return _research(request, ResearchForm.from_draft(draft[0]), saved_at=draft[1])


async def research_post(request: web.Request) -> web.StreamResponse:
    """Save the draft (sealed in the store), add rows, or send the response to the hub."""
    ref = _case_ref(request)
    unlocked = _unlocked(request)
    book = Casebook(unlocked.store)
    if ref not in book.cases or book.cases[ref].open_request is None:
        raise web.HTTPNotFound()
    posted = await request.post()
    form = parse_research(posted)
    step = posted.get("step")
    now = _now()
    if step != "send" or form.errors:
        unlocked.store.save_draft(ref, form.to_draft(), now)
        if step == "send":
            return _research(request, form, status=400, saved_at=_stamp(now))
        form.errors = []
        _guard(request).flash = "Draft saved (encrypted in this agency's store)."
        raise web.HTTPSeeOther(f"/cases/{ref}/research#saved")
    answer = form.answer()

    def build(store: Store, agency_id: str, at: Any) -> Any:
        return research_response(store, ref, answer, agency_id=agency_id, now=at)

    open_request = book.cases[ref].open_request
    assert open_request is not None  # checked above
    request_id = open_request.request_id
    try:
        async with _guard(request).sending:
            if _already_sent(unlocked.store, request_id, answer):
                unlocked.store.delete_draft(ref)
                _guard(request).flash = "This response was already sent to the hub."
                raise web.HTTPSeeOther(f"/cases/{ref}")
            message, sent = await sending.send_built(unlocked.identity, unlocked.store, build)
    except HubError as exc:
        unlocked.store.save_draft(ref, form.to_draft(), now)
        form.errors = [f"Not sent: {exc.message} (the draft is kept)."]
        return _research(request, form, status=400, saved_at=_stamp(now))
    unlocked.store.delete_draft(ref)
    _guard(request).flash = (
        f"Research response for case {message.case_ref} sent to the hub "
        f"(envelope {sent['envelope_id']})."
    )
    raise web.HTTPSeeOther(f"/cases/{ref}")


def _already_sent(store: Store, answers: str, fields: dict[str, Any]) -> bool:
    """True if the last message sent for ``answers`` (a request or action id) said exactly
    this: the same form posted twice (a double click, a reload) is sent once."""
    last = [s for s in store.sent() if s.answers == answers]
    if not last:
        return False
    sent = last[-1].payload
    return all(_same(sent.get(k), v) for k, v in fields.items())


def _same(sent: Any, posted: Any) -> bool:
    if isinstance(posted, list):
        return (
            isinstance(sent, list)
            and len(sent) == len(posted)
            and all(_same(a, b) for a, b in zip(sent, posted, strict=True))
        )
    if isinstance(posted, dict):
        keys = set(posted) | set(sent or {})
        return isinstance(sent, dict) and all(_same(sent.get(k), posted.get(k)) for k in keys)
    return bool(sent == posted or (not sent and not posted))


def _now() -> datetime:
    return datetime.now(UTC)


def _stamp(now: datetime) -> str:
    return format_timestamp(now)


# -- actions ------------------------------------------------------------------------------


def _actions(
    request: web.Request, *, status: int = 200, errors: dict[str, list[str]] | None = None
) -> web.Response:
    book = _book(request)
    today = date.today()
    actions = sorted(
        book.actions.values(),
        key=lambda a: (a.status not in ("open", "in_progress"), a.action.due_date),
    )
    return render(
        request,
        "actions.html",
        status=status,
        title="Actions",
        actions=actions,
        book=book,
        statuses=STATUSES,
        errors=errors or {},
        today=today,
        soon=today + timedelta(days=7),
        flash=_flash(request),
    )


async def actions_page(request: web.Request) -> web.StreamResponse:
    """This agency's actions: due dates, status, reasons, and a form to update each."""
    return _actions(request)


async def action_post(request: web.Request) -> web.StreamResponse:
    """Send an update on one action, as ``agency-client action update`` does."""
    action_id = request.match_info["action_id"]
    if not ULID.match(action_id):
        raise web.HTTPNotFound()
    unlocked = _unlocked(request)
    if action_id not in Casebook(unlocked.store).actions:
        raise web.HTTPNotFound()
    form = parse_action(await request.post())
    if form.errors:
        return _actions(request, status=400, errors={action_id: form.errors})

    def build(store: Store, _agency_id: str, at: Any) -> Any:
        return action_update(
            store, action_id, status=form.status, now=at, note=form.note, reason=form.reason
        )

    update = {"status": form.status, "note": form.note, "reason": form.reason}
    try:
        async with _guard(request).sending:
            if _already_sent(unlocked.store, action_id, update):
                _guard(request).flash = "This update was already sent to the hub."
                raise web.HTTPSeeOther(f"/actions#action-{action_id}")
            message, sent = await sending.send_built(unlocked.identity, unlocked.store, build)
    except HubError as exc:
        return _actions(request, status=400, errors={action_id: [f"Not sent: {exc.message}"]})
    _guard(request).flash = (
        f"Action on case {message.case_ref} is now {message.status.replace('_', ' ')}: "
        f"sent to the hub (envelope {sent['envelope_id']})."
    )
    raise web.HTTPSeeOther(f"/actions#action-{action_id}")


# -- keys, log, receiving -----------------------------------------------------------------


async def status_page(request: web.Request) -> web.StreamResponse:
    """The key rotation and the last check of the hub's log."""
    store = _unlocked(request).store
    keys = store.key_records()
    current = current_key(keys)
    newest = max((k.created_at for k in keys if k.destroyed_at is None), default=None)
    heads = store.log_heads()
    return render(
        request,
        "status.html",
        title="Keys and log",
        keys=keys,
        current=current,
        next_rotation=newest + DEFAULT_ROTATION if newest else None,
        heads=heads,
        newest_head=max(heads, key=lambda h: h.head.size, default=None),
        counts=store.log_check_counts(),
        last_check=store.last_log_check(),
        alarms=store.alarms(),
        hub_url=store.config("hub_url"),
        flash=_flash(request),
    )


async def receive(request: web.Request) -> web.StreamResponse:
    """Check the hub once for new messages (as ``agency-client run --once`` does)."""
    from agency_client.cli._common import connection_options  # noqa: PLC0415
    from agency_client.hub_client import HubClient  # noqa: PLC0415
    from agency_client.rotation import KeyRotation  # noqa: PLC0415
    from agency_client.runner import Runner, RunnerSettings  # noqa: PLC0415

    guard = _guard(request)
    unlocked = _unlocked(request)
    store = unlocked.store
    target = _safe_next((await request.post()).get("next", "/"))
    try:
        hub_key = store.hub_key()
        if hub_key is None:
            raise StoreError("no pinned hub key: enrol first")
        with guard.data.run_lock():
            async with HubClient(
                store.require_config("hub_url"),
                store.require_config("agency_id"),
                unlocked.identity,
                **connection_options(store),
            ) as client:
                rotation = KeyRotation(client, store, guard.data.keys, unlocked.passphrase)
                runner = Runner(
                    client, store, rotation, hub_key, None, settings=RunnerSettings(wait=0)
                )
                await runner.start()
                report = await runner.cycle(wait=0)
    except StoreError as exc:
        guard.flash = (
            "'agency-client run' is already receiving for this agency: new messages appear "
            "here as it stores them."
            if exc.code == "busy"
            else f"Could not check: {exc.message}"
        )
    except HubError as exc:
        guard.flash = f"Could not reach the hub: {exc.message}"
    else:
        stored = report.stored if report is not None else 0
        guard.flash = (
            f"{stored} new message{'s' if stored != 1 else ''} received."
            if stored
            else "No new messages."
        )
    raise web.HTTPSeeOther(target)
