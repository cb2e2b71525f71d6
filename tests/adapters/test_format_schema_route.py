"""GET /api/v1/schemas/pole.json: the published POLE schema, public, read-only."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import jsonschema

from hub.adapters.formats.pole import schema, schema_bytes
from hub.testing import running_hub


async def test_the_pole_schema_is_published_to_anyone_and_only_for_reading(
    tmp_path: Path,
) -> None:
    async with running_hub(tmp_path) as hub, aiohttp.ClientSession() as http:
        url = hub.url + "/api/v1/schemas/pole.json"
        for headers in ({}, {"Authorization": "Bearer not-a-token"}):  # no account needed
            async with http.get(url, headers=headers) as resp:
                assert resp.status == 200
                assert resp.content_type == "application/schema+json"
                body = await resp.read()
        assert body == schema_bytes()
        jsonschema.Draft202012Validator.check_schema(schema())
        for method in ("POST", "PUT", "DELETE"):
            async with http.request(method, url, data=b"{}") as resp:
                assert resp.status == 405
                assert resp.content_type == "application/problem+json"
        async with http.get(hub.url + "/api/v1/schemas/fhir.json") as resp:
            assert resp.status == 404
