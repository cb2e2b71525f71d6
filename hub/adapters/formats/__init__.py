"""Formats: what the plaintext inside an agency's envelopes looks like.

A format turns a typed, already policy-projected hub message into the document an
agency's own system imports (a FHIR R4 Bundle for a health trust, a POLE document for a
police force) *inside the hub*, before sealing: the transport only ever carries sealed
envelopes. The hub seals the document as a :class:`~hub.protocol.messages.Rendered`
message; ``json`` is the exception and keeps today's typed message exactly.

A format renders from the message alone, so it can only carry what the policy let into
the message. Message types it does not render (``renders``) travel as typed JSON.

Bundled: ``json``, ``fhir-r4``, ``pole``. Installed packages add theirs under the
``marac_hub.adapters`` entry-point group (see docs/formats.md), found by
:mod:`hub.adapters.registry`; ``load_format`` finds either.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any, Final, Literal, Protocol, runtime_checkable

from pydantic import ValidationError

from hub.protocol.errors import ProtocolError
from hub.protocol.messages import MAX_DOCUMENT_BYTES, MAX_DOCUMENT_DEPTH, Message, Rendered

__all__ = [
    "BUNDLED",
    "Format",
    "FormatError",
    "bounded",
    "load_format",
]

BUNDLED: Final = {
    "json": "hub.adapters.formats.json_format:JsonFormat",
    "fhir-r4": "hub.adapters.formats.fhir:FhirR4Format",
    "pole": "hub.adapters.formats.pole:PoleFormat",
}


class FormatError(ProtocolError):
    """A document that is not valid in its format, or a message a format cannot render.

    The message names locations and rule names only, never values (they are personal
    data). ``code`` is ``invalid-message`` or ``payload-too-large``.
    """

    default_code = "invalid-message"


@runtime_checkable
class Format(Protocol):
    """A payload format. Implementations are small classes with no required arguments.

    ``name`` is the format's name as agencies choose it (``marac-hub agency set-delivery
    --format NAME``) and as its entry point is registered; ``kind`` is ``"format"``.
    ``renders`` lists the message types it renders (``case_extract``, ``agenda``, ...):
    any other type is sealed as the typed JSON message.
    """

    name: str
    kind: Literal["format"]
    renders: frozenset[str]

    def render(self, message: Message) -> dict[str, Any]:
        """The plaintext document for ``message``, built from the message alone.

        Raise :class:`FormatError` for a message it cannot render. The result must pass
        :meth:`validate`.
        """
        ...

    def validate(self, document: object) -> None:
        """Raise :class:`FormatError` unless ``document`` is a valid document of this format.

        It must refuse oversized and malformed input (anything an agency or a conformance
        test may hand it), with a message that names no value.
        """
        ...


def load_format(name: str) -> Format:
    """The format called ``name``: bundled, or installed (``hub.adapters.registry``)."""
    target = BUNDLED.get(name)
    if target is None:
        from hub.adapters import registry  # noqa: PLC0415 (loads every entry point once)

        try:
            adapter: Any = registry.format(name)
        except ProtocolError as exc:
            raise FormatError(exc.message) from None
    else:
        module, _, attribute = target.partition(":")
        adapter = getattr(import_module(module), attribute)()
    if getattr(adapter, "kind", None) != "format" or not isinstance(adapter, Format):
        raise FormatError(f"{name[:40]!r} is not a format adapter")
    return adapter


def bounded(document: object, fmt: str) -> dict[str, Any]:
    """``document`` as a JSON object within the size and depth a sealed document may have
    (``FormatError``: ``payload-too-large`` if larger, ``invalid-message`` otherwise)."""
    if not isinstance(document, dict):
        raise FormatError(f"a {fmt} document must be a JSON object")
    try:
        Rendered.model_validate({"format": fmt, "original_type": "notice", "document": document})
    except ValidationError as exc:
        detail = " ".join(str(e.get("ctx", {}).get("error", e["type"])) for e in exc.errors())
        if "larger than" in detail:
            raise FormatError(
                f"the {fmt} document is larger than {MAX_DOCUMENT_BYTES} bytes",
                code="payload-too-large",
            ) from None
        if "deeper than" in detail:
            raise FormatError(
                f"the {fmt} document is nested deeper than {MAX_DOCUMENT_DEPTH}"
            ) from None
        raise FormatError(f"the {fmt} document is not plain JSON") from None
    except ProtocolError:
        raise FormatError(f"the {fmt} document is not plain JSON") from None
    return document
