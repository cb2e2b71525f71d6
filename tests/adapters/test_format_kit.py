"""The bundled formats pass the format conformance kit."""

from __future__ import annotations

import pytest

from hub.adapters.formats import Format, load_format
from hub.adapters.testing.formats import FormatConformance


class TestJsonConformance(FormatConformance):
    @pytest.fixture
    def fmt(self) -> Format:
        return load_format("json")


class TestFhirR4Conformance(FormatConformance):
    @pytest.fixture
    def fmt(self) -> Format:
        return load_format("fhir-r4")


class TestPoleConformance(FormatConformance):
    @pytest.fixture
    def fmt(self) -> Format:
        return load_format("pole")
