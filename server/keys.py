"""Typed keys under which the application stores its resources."""

import asyncio
from typing import Any

from aiohttp import web
from arq.connections import ArqRedis
from sqlalchemy.ext.asyncio import AsyncEngine

from server.bus import Bus
from server.deadlines import Deadlines
from server.expiry import Expiry
from server.guesses import CodeGuesses
from server.passwords import Passwords
from server.ratelimit import RateLimiter
from server.settings import Settings
from server.shared_presence import SharedPresence
from server.storage import Storage
from server.subscriptions import Watch
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
# Instructions to every web process; see server.bus.
BUS = web.AppKey("bus", Bus)
# Runs the client resync once the bus and Socket.IO listeners are back.
SUBSCRIPTIONS = web.AppKey("subscriptions", Watch)
UPLOADS = web.AppKey("uploads", Uploads)
EXPIRY = web.AppKey("expiry", Expiry)
# In-process timers in embedded mode, arq jobs with Redis configured.
SCHEDULER: web.AppKey[Deadlines] = web.AppKey("scheduler")
# Set only when DROPSPACE_REDIS_URL is.
REDIS = web.AppKey("redis", ArqRedis)
GUEST_LIMITER: web.AppKey[RateLimiter] = web.AppKey("guest_limiter")
SIGNUP_LIMITER: web.AppKey[RateLimiter] = web.AppKey("signup_limiter")
JOIN_LIMITER: web.AppKey[RateLimiter] = web.AppKey("join_limiter")
SESSION_LIMITER: web.AppKey[RateLimiter] = web.AppKey("session_limiter")
PULL_LIMITER: web.AppKey[RateLimiter] = web.AppKey("pull_limiter")
# New devices and pairing offers, counted per client address.
DEVICE_LIMITER: web.AppKey[RateLimiter] = web.AppKey("device_limiter")
OFFER_LIMITER: web.AppKey[RateLimiter] = web.AppKey("offer_limiter")
PRESENCE = web.AppKey("presence", SharedPresence)
TRANSFERS = web.AppKey("transfers", Transfers)
CODE_GUESSES = web.AppKey("code_guesses", CodeGuesses)
PASSWORDS = web.AppKey("passwords", Passwords)
# Failed sign-ins counted per account name and per client address.
ACCOUNT_THROTTLE = web.AppKey("account_throttle", SignInThrottle)
ADDRESS_THROTTLE = web.AppKey("address_throttle", SignInThrottle)
