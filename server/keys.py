"""Typed keys under which the application stores its resources."""

import asyncio
from typing import Any

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from server.expiry import Expiry
from server.guesses import CodeGuesses
from server.passwords import Passwords
from server.presence import Presence
from server.ratelimit import RateLimiter
from server.scheduler import Scheduler
from server.settings import Settings
from server.storage import Storage
from server.throttle import SignInThrottle
from server.transfers import Transfers
from server.uploads import Uploads

SETTINGS = web.AppKey("settings", Settings)
ENGINE = web.AppKey("engine", AsyncEngine)
# python-socketio ships no type hints, so its server is stored as Any.
SIO: web.AppKey[Any] = web.AppKey("sio")
# The handler tasks of open Socket.IO connections, cancelled at shutdown.
SOCKET_TASKS: web.AppKey[set[asyncio.Task[Any]]] = web.AppKey("socket_tasks")
STORAGE = web.AppKey("storage", Storage)
UPLOADS = web.AppKey("uploads", Uploads)
EXPIRY = web.AppKey("expiry", Expiry)
SCHEDULER = web.AppKey("scheduler", Scheduler)
GUEST_LIMITER = web.AppKey("guest_limiter", RateLimiter)
JOIN_LIMITER = web.AppKey("join_limiter", RateLimiter)
SESSION_LIMITER = web.AppKey("session_limiter", RateLimiter)
PRESENCE = web.AppKey("presence", Presence)
TRANSFERS = web.AppKey("transfers", Transfers)
CODE_GUESSES = web.AppKey("code_guesses", CodeGuesses)
PULL_LIMITER = web.AppKey("pull_limiter", RateLimiter)
PASSWORDS = web.AppKey("passwords", Passwords)
# Failed sign-ins counted per account name and per client address.
ACCOUNT_THROTTLE = web.AppKey("account_throttle", SignInThrottle)
ADDRESS_THROTTLE = web.AppKey("address_throttle", SignInThrottle)
