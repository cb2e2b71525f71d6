"""The integrity page shows the log's witnesses (agency, kind, last cosigned size and time)
and a witness's fork alarm, to the DPO; a coordinator is refused the page."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from webkit import HubThread, WebClient

from agency_client.witness import Witness
from hub.crypto.checkpoint import Checkpoint
from hub.crypto.signed_note import parse_note


@pytest.fixture(scope="module")
def witnessed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubThread]:
    """A seeded hub (police-north, idva-north; staff without second factors) whose agencies
    both witnessed the log once,
    and whose police witness then reported a fork alarm."""
    hub = HubThread(tmp_path_factory.mktemp("witnesses"), mfa_required_roles=())
    try:
        seeded = hub.run(hub.seed(), timeout=120)

        async def witness_all() -> None:
            for agency in seeded.agencies.values():
                key = agency.store.hub_key()
                assert key is not None
                step = await Witness(agency.client, agency.store, agency.identity, key).step()
                assert step.kind == "cosigned", step.message
            police = seeded.agencies["police-north"]
            note = await police.client.log_checkpoint()
            size = Checkpoint.parse(parse_note(note).text).size
            await police.client.post_witness_alarm("smaller", note, note)
            assert size >= 0

        hub.run(witness_all())
        yield hub
    finally:
        hub.stop()


def test_the_dpo_sees_the_witnesses_and_the_fork_alarm(witnessed: HubThread) -> None:
    web = WebClient(witnessed)
    try:
        assert web.login("dana") == 303
        status, body, resp = web.get("/log/integrity")
        assert status == 200, resp.headers.get("Location")
        assert "Agencies as witnesses" in body
        assert "<td>police-north</td><td>police</td>" in body
        assert "<td>idva-north</td><td>idva</td>" in body
        assert "witnessed by a quorum" in body  # police and idva: two kinds
        assert 'id="fork-alarms"' in body and "Fork alarm." in body
        assert "police-north: smaller than the checkpoint it cosigned" in body
    finally:
        web.close()


def test_a_coordinator_is_refused_the_integrity_page(witnessed: HubThread) -> None:
    web = WebClient(witnessed)
    try:
        assert web.login("casey") == 303
        status, body, _ = web.get("/log/integrity")
        assert status == 403 and "police-north" not in body
    finally:
        web.close()
