"""``smtp``: a mail saying only that a secure MARAC message is waiting, the envelope attached.

Settings::

    {"host": "smtp.refuge.example", "port": 587, "security": "starttls",
     "from": "marac-hub@area.example", "to": "dmo@refuge.example",
     "username": "marac-hub", "password": "…", "ca_file": "refuge-ca.pem", "timeout": 30}

``security`` is ``starttls`` (the default; the server must offer it), ``tls`` (implicit
TLS, port 465) or ``none`` (plain, only with ``allow_plain: true``, e.g. a relay on the
same host). Certificates and host names are verified (the system's CAs, ``ca_pem`` or
``ca_file``, a file in the operator's ``delivery_ca_dir``).

Like a webhook's URL (:mod:`hub.adapters.destinations`), the mail server's host may be
only a public address unless the operator allows its network
(``delivery_allow_networks``): checked when the settings are chosen, and again when
sending: the name is resolved, every address checked, and the connection made to a
checked address (a relay on the hub's own host needs ``127.0.0.0/8`` allowed).
The subject and body are the same for every mail and name no one; the attachment
``marac-<envelope id>.json`` is the sealed envelope, which ``agency-client open`` opens
(the whole ``.eml`` file too). The ``Message-ID`` is derived from the envelope id, so a
mail sent twice is recognisably one message.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Mapping
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any, ClassVar, Final, Literal

import aiosmtplib

from hub.adapters import _config
from hub.adapters.destinations import CheckedResolver, Destinations, RefusedAddress
from hub.adapters.transport import (
    Delivered,
    DeliveryFailed,
    Outgoing,
    PayloadTooLarge,
    check_keys,
    refuse_oversized,
)
from hub.protocol.errors import ProtocolError

__all__ = ["BODY", "SUBJECT", "SmtpTransport", "build_mail"]

SUBJECT: Final = "Secure MARAC message waiting"
BODY: Final = (
    "A secure MARAC message is waiting for your agency.\n\n"
    "It is attached as an encrypted file that only your agency's keys can open:\n"
    "save the attachment (or this whole e-mail) and run\n\n"
    "    agency-client open FILE --dir YOUR-CLIENT-DIRECTORY\n\n"
    "This e-mail holds no case details. Do not forward it.\n"
)
_SECURITY: Final = ("starttls", "tls", "none")
_DEFAULT_PORT: Final = {"starttls": 587, "tls": 465, "none": 25}


def build_mail(outgoing: Outgoing, sender: str, recipient: str) -> EmailMessage:
    """The mail for one envelope: fixed subject and body, the envelope as an attachment."""
    mail = EmailMessage()
    mail["Subject"] = SUBJECT
    mail["From"] = sender
    mail["To"] = recipient
    mail["Date"] = formatdate(usegmt=True)
    mail["Message-ID"] = f"<{outgoing.envelope_id}@marac-hub.invalid>"
    mail["X-Marac-Envelope"] = outgoing.envelope_id
    mail.set_content(BODY)
    mail.add_attachment(
        outgoing.envelope,
        maintype="application",
        subtype="json",
        filename=f"marac-{outgoing.envelope_id}.json",
    )
    return mail


def _address(config: Mapping[str, Any], key: str) -> str:
    value = _config.text(config, key, limit=254)
    local, at, domain = value.rpartition("@")
    if not at or not local or not domain or any(c in value for c in " <>,;\"'"):
        raise ProtocolError(f"{key} must be one plain e-mail address", code="bad-config")
    return value


class SmtpTransport:
    """Mail each envelope as an attachment (aiosmtplib)."""

    name: ClassVar[str] = "smtp"
    kind: ClassVar[Literal["transport"]] = "transport"
    push: ClassVar[bool] = True
    max_bytes: int = 7 * 1024 * 1024  # base64 makes ~9.5 MB: under the usual 10 MB limit

    def __init__(self, destinations: Destinations | None = None) -> None:
        self.destinations = destinations or Destinations()

    def with_destinations(self, destinations: Destinations) -> SmtpTransport:
        """This transport limited to ``destinations`` (the hub's operator settings)."""
        return SmtpTransport(destinations)

    def check_config(self, config: Mapping[str, Any]) -> dict[str, Any]:
        """``host``, ``from``, ``to``; optional ``port``, ``security``, credentials, CA, timeout."""
        check_keys(
            config,
            {"host", "from", "to"},
            {
                *("port", "security", "allow_plain", "username", "password"),
                *("ca_file", "ca_pem", "timeout"),
            },
            self.name,
        )
        security = config.get("security", "starttls")
        if security not in _SECURITY:
            raise ProtocolError("security must be starttls, tls or none", code="bad-config")
        if security == "none" and not _config.flag(config, "allow_plain"):
            raise ProtocolError(
                "security none sends in the clear: it needs allow_plain: true", code="bad-config"
            )
        if ("username" in config) != ("password" in config):
            raise ProtocolError("give both username and password, or neither", code="bad-config")
        host = _config.text(config, "host", limit=253)
        self.destinations.check_host(host)
        checked: dict[str, Any] = {
            "host": host,
            "port": int(
                _config.number(config, "port", default=_DEFAULT_PORT[security], low=1, high=65535)
            ),
            "security": security,
            "from": _address(config, "from"),
            "to": _address(config, "to"),
            "timeout": _config.number(config, "timeout", default=30.0, low=0.1, high=300.0),
        }
        if "username" in config:
            checked["username"] = _config.text(config, "username", limit=256)
            checked["password"] = _config.text(config, "password", limit=1024)
        return checked | self.destinations.trust(config)

    async def deliver(self, outgoing: Outgoing, config: Mapping[str, Any]) -> Delivered:
        """Send the mail once; the server's acceptance is the delivery."""
        refuse_oversized(outgoing, self.max_bytes)
        settings = self.check_config(config)
        security = settings["security"]
        mail = build_mail(outgoing, settings["from"], settings["to"])
        sock = await self._connect(settings["host"], settings["port"], settings["timeout"])
        try:
            _, reply = await aiosmtplib.send(
                mail,
                hostname=settings["host"],  # what TLS checks the certificate against
                sock=sock,  # connected to an address the destinations permit
                username=settings.get("username"),
                password=settings.get("password"),
                use_tls=security == "tls",
                start_tls=security == "starttls",
                tls_context=None if security == "none" else self.destinations.tls_context(settings),
                timeout=settings["timeout"],
            )
        except aiosmtplib.SMTPResponseException as exc:
            if exc.code == 552:
                raise PayloadTooLarge("the mail server refused the mail as too large") from None
            raise DeliveryFailed(f"the mail server answered {exc.code}") from None
        except aiosmtplib.SMTPRecipientsRefused:
            raise DeliveryFailed("the mail server refused the recipient") from None
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise DeliveryFailed(f"could not send the mail ({type(exc).__name__})") from None
        finally:
            sock.close()
        return Delivered(f"accepted by the mail server: {reply[:80]}")

    async def _connect(self, host: str, port: int, timeout: float) -> socket.socket:
        """A socket connected to one of ``host``'s addresses the destinations permit."""
        resolver = CheckedResolver(self.destinations)
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                found = await resolver.resolve(host.strip("[]"), port, socket.AF_UNSPEC)
                last: OSError = OSError("no address")
                for info in found:
                    sock = socket.socket(info["family"], socket.SOCK_STREAM)
                    sock.setblocking(False)
                    try:
                        await loop.sock_connect(sock, (info["host"], info["port"]))
                    except OSError as exc:
                        sock.close()
                        last = exc
                        continue
                    return sock
                raise last
        except RefusedAddress:
            raise DeliveryFailed(
                "the mail server's host has no address the hub may reach (delivery_allow_networks)"
            ) from None
        except (OSError, TimeoutError) as exc:
            raise DeliveryFailed(
                f"could not reach the mail server ({type(exc).__name__})"
            ) from None
        finally:
            with contextlib.suppress(OSError):
                await resolver.close()
