"""The installed adapters as this hub may use them: push transports limited to the
destinations the operator's settings allow (``delivery_allow_networks``,
``delivery_ca_dir``; see :mod:`hub.adapters.destinations`)."""

from __future__ import annotations

from hub.adapters.destinations import Destinations, restrict
from hub.adapters.registry import Registry, default_registry
from hub.settings import Settings

__all__ = ["destinations_of", "registry_for"]


def destinations_of(settings: Settings) -> Destinations:
    """Where the settings let push transports connect, and which CA files they may read."""
    return Destinations.of(settings.delivery_allow_networks, settings.delivery_ca_dir)


def registry_for(settings: Settings) -> Registry:
    """The installed adapters, push transports limited to ``settings``' destinations."""
    return restrict(default_registry(), destinations_of(settings))
