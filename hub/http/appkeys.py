"""Typed keys for what the application holds."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.app.notices import NoticeSender
from hub.app.runtime import Runtime
from hub.crypto.signature_checker import SignatureChecker
from hub.delivery.push import Dispatcher
from hub.delivery.waiters import Waiters
from hub.hub_keys import HubKeys
from hub.policy.policy import Policy
from hub.settings import Settings
from hub.users import TokenCache

__all__ = [
    "CHECKER",
    "DISPATCHER",
    "ENGINE",
    "KEYS",
    "NOTICES",
    "POLICY",
    "RUNTIME",
    "SETTINGS",
    "TOKENS",
    "WAITERS",
]

SETTINGS = web.AppKey("settings", Settings)
ENGINE = web.AppKey("engine", AsyncEngine)
KEYS = web.AppKey("keys", HubKeys)
WAITERS = web.AppKey("waiters", Waiters)
TOKENS = web.AppKey("tokens", TokenCache)
POLICY = web.AppKey("policy", Policy)
NOTICES = web.AppKey("notices", NoticeSender)
CHECKER = web.AppKey("signature_checker", SignatureChecker)
RUNTIME = web.AppKey("runtime", Runtime)
DISPATCHER = web.AppKey("push_dispatcher", Dispatcher)
