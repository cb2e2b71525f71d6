"""SMTP delivery end to end: a real hub mails sealed envelopes to aiosmtpd on loopback
(STARTTLS and AUTH required); the mail names no one; only the agency's keys open it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from email.message import Message
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from adapterkit import (
    attachment_of,
    enrolled,
    make_tls,
    notice,
    set_delivery,
    smtp_config,
    smtp_receiver,
    start_smtp,
    stop_smtp,
    wait_for,
)
from sqlalchemy import select
from test_client_cli import cli, one_line_error

from hub.adapters.smtp import BODY, SUBJECT
from hub.delivery.tables import delivery_attempts, outbox
from hub.protocol.envelope import parse_envelope
from hub.service.appkeys import ENGINE
from hub.testing import RunningHub, running_hub

VICTIM, BORN, ADDRESS = "Philippa Quennell-Ashdown", "1984-02-29", "12 Plaintext Row, Exeter"
PERSONAL = (VICTIM, "Quennell", "Philippa", BORN, "Plaintext Row", "Exeter")
FAST = {
    "push_interval_seconds": 0.05,
    "push_retry_initial_seconds": 0.1,
    "push_retry_max_seconds": 0.3,
    "push_dead_letter_after": timedelta(minutes=1),
}


@pytest.fixture
async def hub(tmp_path: Path) -> AsyncIterator[RunningHub]:
    async with running_hub(
        tmp_path / "hub",
        delivery_allow_networks=("127.0.0.0/8",),  # the mail server is on loopback
        delivery_ca_dir=tmp_path,  # its CA is made under tmp_path/tls
        **FAST,
    ) as running:
        yield running


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def status_of(hub: RunningHub, envelope_id: str) -> str:
    async with hub.app[ENGINE].connect() as conn:
        return str(
            (
                await conn.execute(
                    select(outbox.c.status).where(outbox.c.envelope_id == envelope_id)
                )
            ).scalar_one()
        )


def no_personal_data(mail: Message) -> None:
    """No header and no text part names the victim; the attachment is ciphertext."""
    for name, value in mail.items():
        assert not any(p.lower() in f"{name}: {value}".lower() for p in PERSONAL), name
    for part in mail.walk():
        if part.is_multipart():
            continue
        raw = part.get_payload(decode=True)
        assert isinstance(raw, bytes)
        assert not any(p.encode() in raw for p in PERSONAL), part.get_content_type()
        for name, value in part.items():
            assert not any(p in str(value) for p in PERSONAL), name


async def test_mail_names_no_one_and_only_the_agency_opens_it(
    hub: RunningHub, http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    refuge = await enrolled(http, hub, tmp_path, "refuge-east", "refuge")
    other = await enrolled(http, hub, tmp_path, "police-north")
    tls = make_tls(tmp_path / "tls")
    async with smtp_receiver(tls) as receiver:
        await set_delivery(http, hub, refuge.id, "smtp", smtp_config(receiver, tls))
        text = f"{VICTIM}, born {BORN}, lives at {ADDRESS}: safe to call after 6pm."
        [sent] = [e["id"] for e in await notice(http, hub, text, to=refuge.id)]

        async def mailed() -> bool:
            return await status_of(hub, sent) == "sent"

        await wait_for(mailed)
        [mail] = receiver.messages()
        raw = receiver.mails[0]
        wire = b"".join(receiver.wire)
    assert mail["Subject"] == SUBJECT and mail["To"] == "dmo@refuge.example"
    body = mail.get_body(("plain",))
    assert body is not None and body.get_content().replace("\r\n", "\n") == BODY
    no_personal_data(mail)
    assert not any(p.encode() in wire for p in PERSONAL)
    attachment = attachment_of(raw)
    assert parse_envelope(attachment).header.id == sent

    (tmp_path / "mail.eml").write_bytes(raw)
    (tmp_path / "envelope.json").write_bytes(attachment)
    for path in (tmp_path / "mail.eml", tmp_path / "envelope.json"):
        status, out, err = await cli("open", str(path), "--dir", str(refuge.data.path))
        assert status == 0, err
        assert VICTIM in out and sent in err
        # Another agency's keys open nothing, whatever it claims the sender is.
        one_line_error(
            await cli("open", str(path), "--dir", str(other.data.path)), "invalid-envelope"
        )
    (tmp_path / "plain.eml").write_bytes(b"Subject: hello\n\nno attachment here\n")
    one_line_error(
        await cli("open", str(tmp_path / "plain.eml"), "--dir", str(refuge.data.path)),
        "neither an envelope nor a mail",
    )


async def test_a_server_down_for_a_while_gets_the_mail_once_back(
    hub: RunningHub, http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    refuge = await enrolled(http, hub, tmp_path, "refuge-east", "refuge")
    tls = make_tls(tmp_path / "tls")
    async with smtp_receiver(tls) as receiver:
        await set_delivery(http, hub, refuge.id, "smtp", smtp_config(receiver, tls))
        await stop_smtp(receiver)
        sent = [e["id"] for e in await notice(http, hub, "the agenda is out", to=refuge.id)]
        sent += [e["id"] for e in await notice(http, hub, "minutes follow", to=refuge.id)]

        async def failed_twice() -> bool:
            async with hub.app[ENGINE].connect() as conn:
                found = (
                    await conn.execute(
                        select(delivery_attempts.c.outcome).where(
                            delivery_attempts.c.envelope_id == sent[0]
                        )
                    )
                ).all()
            return sum(r.outcome == "failed" for r in found) >= 2

        await wait_for(failed_twice)
        assert receiver.mails == []
        await asyncio.sleep(0.3)
        await start_smtp(receiver, tls, port=receiver.port)

        async def all_mailed() -> bool:
            return [await status_of(hub, e) for e in sent] == ["sent", "sent"]

        await wait_for(all_mailed)
        ids = [parse_envelope(body).header.id for body in receiver.received]
    assert ids == sent  # once each, in order


async def test_bad_smtp_settings_are_refused(
    hub: RunningHub, http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    refuge = await enrolled(http, hub, tmp_path, "refuge-east", "refuge")
    base: dict[str, Any] = {"host": "127.0.0.1", "from": "a@b.example", "to": "c@d.example"}
    for bad in (
        {**base, "to": "Victim Name <c@d.example>"},
        {**base, "security": "ssl3"},
        {**base, "username": "only-a-name"},
        {**base, "port": 70000},
        {**base, "host": "evil\r\nRCPT TO:<x@y>"},
    ):
        headers = {"Authorization": f"Bearer {hub.admin_token}"}
        body = {"transport": "smtp", "format": "json", "config": bad}
        async with http.put(
            f"{hub.url}/api/v1/agencies/{refuge.id}/delivery", json=body, headers=headers
        ) as resp:
            doc = await resp.json()
            assert resp.status == 400 and doc["type"].endswith("/bad-config"), doc
