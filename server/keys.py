"""Typed keys under which the application stores its resources."""

from typing import Any

from aiohttp import web
from arq.connections import ArqRedis
from sqlalchemy.ext.asyncio import AsyncEngine

from server.deadlines import Deadlines
from server.expiry import Expiry
from server.ratelimit import RateLimiter
from server.settings import Settings
from server.storage import Storage
from server.uploads import Uploads

SETTINGS = web.AppKey("settings", Settings)
ENGINE = web.AppKey("engine", AsyncEngine)
# python-socketio ships no type hints, so its server is stored as Any.
SIO: web.AppKey[Any] = web.AppKey("sio")
STORAGE = web.AppKey("storage", Storage)
UPLOADS = web.AppKey("uploads", Uploads)
EXPIRY = web.AppKey("expiry", Expiry)
# In-process timers in embedded mode, arq jobs with Redis configured.
SCHEDULER: web.AppKey[Deadlines] = web.AppKey("scheduler")
# Set only when DROPSPACE_REDIS_URL is.
REDIS = web.AppKey("redis", ArqRedis)
GUEST_LIMITER: web.AppKey[RateLimiter] = web.AppKey("guest_limiter")
JOIN_LIMITER: web.AppKey[RateLimiter] = web.AppKey("join_limiter")
SESSION_LIMITER: web.AppKey[RateLimiter] = web.AppKey("session_limiter")
