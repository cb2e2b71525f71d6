"""Where a push transport may connect, and which CA certificates it may trust.

A coordinator chooses an agency's webhook URL, so the URL must not turn the hub into a
way into its own network (SSRF): a webhook may reach only public addresses, unless the
hub's operator allows a network (``delivery_allow_networks``, CIDRs). The check runs when
the settings are chosen (an address in the URL, ``localhost``) and again when connecting:
the host name is resolved, every address checked, and the connection made to a checked
address, so a name that later resolves elsewhere (DNS rebinding) is refused too.

A private CA is given inline (``ca_pem``) or as ``ca_file``, a file in the directory the
operator names (``delivery_ca_dir``); any other path, a missing file and a file that is
not PEM CA certificates get the same answer, so the setting tells nothing about the
hub's file system.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Final, Protocol

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

from hub.adapters import _config
from hub.adapters.registry import Registry
from hub.adapters.transport import Transport
from hub.protocol.errors import ProtocolError

__all__ = [
    "CheckedResolver",
    "Destinations",
    "RefusedAddress",
    "restrict",
]

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
MAX_PEM: Final = 64 * 1024
_CA_REFUSED: Final = (
    "ca_file must be a file of PEM CA certificates in the hub's CA directory "
    "(delivery_ca_dir), or give the certificates inline as ca_pem"
)
_ADDRESS_REFUSED: Final = (
    "the destination is a loopback, link-local or private address; only public addresses "
    "unless the hub's operator allows the network (delivery_allow_networks)"
)


class RefusedAddress(OSError):
    """A destination resolved only to addresses the hub may not reach."""


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    ip = ipaddress.ip_address(text.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


@dataclass(frozen=True, slots=True)
class Destinations:
    """The operator's limits on push destinations (default: public addresses, no CA files)."""

    allow_networks: tuple[Network, ...] = ()
    ca_dir: Path | None = None

    @classmethod
    def of(cls, networks: Iterable[str] = (), ca_dir: Path | None = None) -> Destinations:
        """From the hub's settings: CIDR strings and a directory."""
        return cls(tuple(ipaddress.ip_network(n, strict=False) for n in networks), ca_dir)

    def permits(self, address: str) -> bool:
        """True if the hub may connect to ``address`` (an IP address)."""
        try:
            ip = _address(address)
        except ValueError:
            return False
        if any(ip.version == net.version and ip in net for net in self.allow_networks):
            return True
        return ip.is_global and not ip.is_multicast

    def check_host(self, host: str) -> None:
        """Refuse a URL's host that is (or names) an address the hub may not reach; other
        names are checked when connecting."""
        name = host.strip("[]").rstrip(".").lower()
        if name == "localhost" or name.endswith(".localhost"):
            name = "127.0.0.1"
        try:
            _address(name)
        except ValueError:
            return  # a host name: resolved and checked at connection time
        if not self.permits(name):
            raise ProtocolError(_ADDRESS_REFUSED, code="bad-config")

    def trust(self, config: Mapping[str, Any]) -> dict[str, str]:
        """The optional ``ca_file`` (in ``ca_dir``) or ``ca_pem`` settings, checked."""
        if "ca_file" in config and "ca_pem" in config:
            raise ProtocolError("give ca_file or ca_pem, not both", code="bad-config")
        if "ca_pem" in config:
            pem = config["ca_pem"]
            if not isinstance(pem, str) or not pem.strip() or len(pem) > MAX_PEM:
                raise ProtocolError("ca_pem must hold PEM CA certificates", code="bad-config")
            _load(cadata=pem, message="ca_pem must hold PEM CA certificates")
            return {"ca_pem": pem}
        if "ca_file" not in config:
            return {}
        path = _config.text(config, "ca_file", limit=4096)
        inside = self._inside_ca_dir(path)
        if inside is None:
            raise ProtocolError(_CA_REFUSED, code="bad-config")
        _load(cafile=str(inside), message=_CA_REFUSED)
        return {"ca_file": path}

    def _inside_ca_dir(self, path: str) -> Path | None:
        if self.ca_dir is None:
            return None
        try:
            base = self.ca_dir.resolve(strict=True)
            target = (base / path).resolve(strict=False)
        except (OSError, RuntimeError, ValueError):
            return None
        return target if target.is_relative_to(base) and target != base else None

    def tls_context(self, settings: Mapping[str, Any]) -> ssl.SSLContext:
        """Certificate and host-name checks, TLS 1.2 at least; the configured CA or the
        system's."""
        ca_file = settings.get("ca_file")
        inside = self._inside_ca_dir(ca_file) if ca_file else None
        if ca_file and inside is None:
            raise ProtocolError(_CA_REFUSED, code="bad-config")
        context = _load(
            cafile=str(inside) if inside else None,
            cadata=settings.get("ca_pem"),
            message=_CA_REFUSED,
        )
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        return context


def _load(*, cafile: str | None = None, cadata: str | None = None, message: str) -> ssl.SSLContext:
    """A default client context trusting ``cafile``/``cadata``; one message for any fault."""
    try:
        context = ssl.create_default_context(cafile=cafile, cadata=cadata)
    except (OSError, ssl.SSLError, ValueError, UnicodeError):
        raise ProtocolError(message, code="bad-config") from None
    if (cafile or cadata) and not context.get_ca_certs():
        raise ProtocolError(message, code="bad-config")
    return context


class _Resolver(Protocol):
    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]: ...

    async def close(self) -> None: ...


@dataclass
class CheckedResolver(AbstractResolver):
    """aiohttp's resolver, keeping only the addresses ``destinations`` permits (aiohttp
    then connects to one of those: the address checked is the address used)."""

    destinations: Destinations
    inner: _Resolver = field(default_factory=DefaultResolver)

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        """The permitted addresses of ``host``; ``RefusedAddress`` if there are none."""
        found = await self.inner.resolve(host, port, family)
        kept = [info for info in found if self.destinations.permits(info["host"])]
        if not kept:
            raise RefusedAddress("the receiver's host has no address the hub may reach")
        return kept

    async def close(self) -> None:
        """Close the inner resolver."""
        await self.inner.close()


def restrict(registry: Registry, destinations: Destinations) -> Registry:
    """``registry`` with each transport that takes destinations limited to these."""
    transports: dict[str, Transport] = {}
    for name, transport in registry.transports.items():
        limit = getattr(transport, "with_destinations", None)
        transports[name] = limit(destinations) if callable(limit) else transport
    return replace(registry, transports=transports)
