"""The DPO's log browser exports what its filters select (CSV and JSON Lines), every page
of it, streamed in chunks (memory bounded however large the log), headed by a signed
head; the export is itself logged; who may not export, may not (web, API, CLI)."""

from __future__ import annotations

import csv
import io
import json
import re
import sys
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "app"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "log"))
from agencykit import HubThread, Kit, WebClient
from log_store_entries import make_entry

from hub.log import append
from hub.service.appkeys import ENGINE
from hub.web.views_log import EXPORT_CHUNK

ENTRIES = 21_000  # 21 pages of the export's reads; the CSV is about 2.7 MB


@pytest.fixture(autouse=True)
def cli_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI reaches the serving hub's database and keys (as its operator would)."""
    monkeypatch.setenv("MARAC_HUB_KEY_PASSPHRASE", "marac-hub-testing")
    for name in ("DATABASE_URL", "POLICY_FILE", "CONFIG_FILE"):
        monkeypatch.delenv(f"MARAC_HUB_{name}", raising=False)


@pytest.fixture(scope="module")
def kit(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kit]:
    """A hub whose log holds ENTRIES disclosures (agencies agency-0, -1, -2 in turn)."""
    hub = HubThread(tmp_path_factory.mktemp("export"), mfa_required_roles=())
    try:
        made = Kit(hub)
        made.seed()

        async def fill() -> None:
            engine = hub.hub.app[ENGINE]
            for start in range(0, ENTRIES, 5000):
                async with engine.begin() as conn:
                    await append(
                        conn, [make_entry(i) for i in range(start, min(start + 5000, ENTRIES))]
                    )

        hub.run(fill(), timeout=300)
        yield made
    finally:
        hub.stop()


def _export(
    web: WebClient, data: dict[str, str], *, keep: bool = True
) -> tuple[int, dict[str, str], int, bytes, int]:
    """POST the export form: (status, headers, chunks read, the body if ``keep`` else
    nothing, the body's size)."""

    async def go() -> tuple[int, dict[str, str], int, bytes, int]:
        async with web.session.post(
            web.hub.url + "/log/export", data={"csrf": web.csrf, **data}, allow_redirects=False
        ) as resp:
            chunks, size, kept = 0, 0, bytearray()
            async for chunk in resp.content.iter_any():
                chunks, size = chunks + 1, size + len(chunk)
                if keep:
                    kept += chunk
            return resp.status, dict(resp.headers), chunks, bytes(kept), size

    result: tuple[int, dict[str, str], int, bytes, int] = web.hub.run(go(), timeout=300)
    return result


def test_the_dpo_exports_exactly_what_the_filters_select_and_the_export_is_logged(
    kit: Kit,
) -> None:
    web = kit.web("dana")
    try:
        status, page, _ = web.get("/log?agency=agency-1&purpose=agenda")
        assert status == 200 and 'action="/log/export"' in page
        assert re.search(r'<input type="hidden" name="agency" value="agency-1">', page)
        before = kit.log_size()
        status, headers, _, body, _ = _export(web, {"agency": "agency-1", "format": "jsonl"})
        assert status == 200, body[:300]
        assert headers["Content-Type"].startswith("application/jsonl")
        assert "attachment" in headers["Content-Disposition"]
        lines = body.decode().splitlines()
        head, rows = json.loads(lines[0]), [json.loads(x) for x in lines[1:]]
        assert head["filters"] == {"agency": "agency-1"} and head["head"]["size"] == before
        indices = [r["index"] for r in rows]
        assert indices == list(range(1, ENTRIES, 3))  # every match, not the page shown
        logged = kit.entries(before)
        assert [(e["kind"], e["purpose"], e["actor"], e["door"]) for e in logged] == [
            ("access", "log-export", "dpo:dana", "web")
        ]
        assert logged[0]["fields"] == ["filter.agency"] and logged[0]["agency"] == "agency-1"

        status, headers, _, body, _ = _export(
            web, {"case": "C-2", "kind": "disclosure", "format": "csv"}
        )
        assert status == 200 and headers["Content-Type"].startswith("text/csv")
        table = list(csv.reader(io.StringIO(body.decode())))
        data_rows = [r for r in table[2:] if r]
        assert len(data_rows) == len(range(2, ENTRIES, 5))
    finally:
        web.close()


def _peak(web: WebClient, data: dict[str, str]) -> tuple[int, int]:
    """(the export's size, the most memory Python held while it was served and read)."""
    tracemalloc.start()
    try:
        status, headers, chunks, _, size = _export(web, data, keep=False)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert status == 200
    assert "Content-Length" not in headers and headers.get("Transfer-Encoding") == "chunked"
    assert chunks > 1  # arrives as it is read
    return size, peak


def test_a_large_export_streams_in_chunks_with_bounded_memory(kit: Kit) -> None:
    web = kit.web("ada")
    try:
        size, peak = _peak(web, {"format": "csv"})
    finally:
        web.close()
    assert size > 25 * EXPORT_CHUNK
    # Never the whole export at once (nor its entries): a page of entries at a time.
    assert peak < size / 2, (size, peak)
    print(f"export of {size} bytes: peak traced memory {peak} bytes")


def test_who_may_export_and_hostile_export_forms(
    kit: Kit, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    before = kit.log_size()
    for who in ("nora",):  # a coordinator never reads the log
        web = kit.web(who)
        try:
            assert _export(web, {"format": "csv"})[0] == 403
        finally:
            web.close()
        status, doc = kit.api("GET", "/api/v1/log/export?format=csv", who)
        assert status == 403, doc
        status, _, err = kit.cli(capsys, "log", "export", "--format", "csv", by=who)
        assert status == 1 and "forbidden" in err
    anonymous = WebClient(kit.hub)
    try:
        assert _export(anonymous, {"format": "csv"})[0] in (303, 403)
    finally:
        anonymous.close()
    web = kit.web("dana")
    try:
        for data in (
            {"format": "xml"},
            {"format": "csv", "since": "not-a-date"},
            {"format": "csv", "kind": "nonsense"},
            {"format": "csv", "agency": "<script>"},
            {"format": "csv", "case": "C" * 5000},
        ):
            status, _, _, body, _ = _export(web, data)
            assert status == 400, (data, body[:200])
    finally:
        web.close()
    assert kit.log_size() == before  # a refused export logs nothing
    out = tmp_path / "export.jsonl"
    status, text, err = kit.cli(
        capsys,
        "log",
        "export",
        "--format",
        "jsonl",
        "--agency",
        "agency-0",
        "--out",
        str(out),
        by="dana",
    )
    assert status == 0, err
    assert text.strip() == f"wrote {len(range(0, ENTRIES, 3))} entries to {out}"
    logged = kit.entries(before)
    assert [(e["purpose"], e["door"]) for e in logged] == [("log-export", "cli")]
