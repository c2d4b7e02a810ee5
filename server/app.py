"""The application factory: routes, middlewares and resource lifecycles."""

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web
from arq.connections import ArqRedis

from server import (
    account_api,
    api,
    bus,
    cluster,
    downloads,
    events,
    jobs,
    keys,
    pages,
    pairing_events,
    pairing_pages,
    realtime,
    self_service,
    subscriptions,
)
from server.counters import MemoryWindowCounter, RedisWindowCounter, WindowCounter
from server.datalock import lock_data_dir, unlock_data_dir
from server.db import create_engine, migrate
from server.deadlines import QueuedDeadlines
from server.expiry import Expiry
from server.guesses import WINDOW_S, CodeGuesses, GuessLimits
from server.health import HEALTH_PATH, LIVENESS_PATH, health_handler, livez
from server.middleware import device_cookie, errors, origin_check, security_headers
from server.passwords import Passwords
from server.plans import sync_guest_plan
from server.presence_heartbeat import heartbeat_context
from server.ratelimit import create_limiter
from server.scheduler import Scheduler
from server.settings import Settings
from server.shared_presence import SharedPresence
from server.socket_audit import socket_audit
from server.storage import Storage
from server.storage_start import settle_marker
from server.sweeping import SweepContext
from server.throttle import (
    FailureStore,
    MemoryFailureStore,
    RedisFailureStore,
    SignInThrottle,
)
from server.transfers import Transfers
from server.uploads import Uploads

# aiohttp rejects a longer request line with a plain-text 400 before any
# middleware runs. Its default of 8190 bytes made an over-long token miss our
# error shape. Up to this size, the routes reject such a token themselves.
# NOTE: a request line over this size still gets aiohttp's plain-text 400.
MAX_REQUEST_LINE_BYTES = 64 * 1024


def web_dir() -> Path:
    """Return the folder of templates and static files, installed or not."""
    installed = Path(__file__).parent / "web"
    return installed if installed.is_dir() else Path(__file__).parent.parent / "web"


def _template_loader(folder: Path) -> jinja2.DictLoader:
    """Read every template once, so that no page render opens a file.

    A loader that reads from disk on first use would block the event loop
    in the middle of serving. Templates change only with a new release.
    """
    return jinja2.DictLoader(
        {path.name: path.read_text("utf-8") for path in folder.glob("*.html")}
    )


def create_app(settings: Settings) -> web.Application:
    """Build the application; resources open when it starts, not here."""
    app = web.Application(
        middlewares=[device_cookie, security_headers, errors, origin_check],
        handler_args={"max_line_size": MAX_REQUEST_LINE_BYTES},
        client_max_size=api.MAX_JSON_BODY_BYTES,
    )
    app[keys.SETTINGS] = settings
    app[keys.TRANSFERS] = Transfers()
    app[keys.PASSWORDS] = Passwords(settings.password_hash_concurrency)
    aiohttp_jinja2.setup(
        app,
        loader=_template_loader(web_dir() / "templates"),
        autoescape=jinja2.select_autoescape(default=True),
    )
    _add_routes(app)
    app.cleanup_ctx.extend(
        [
            _data_dir,
            _database,
            _redis,
            _socket_server,
            _services,
            socket_audit,
            heartbeat_context,
        ]
    )
    return app


def _add_guess_limits(app: web.Application, redis: ArqRedis | None) -> None:
    settings = app[keys.SETTINGS]
    limits = GuessLimits(
        per_account=settings.code_failures_per_account,
        per_address=settings.code_failures_per_address,
        per_service=settings.code_failures_per_service,
    )
    counter: WindowCounter = MemoryWindowCounter(WINDOW_S)
    if redis is not None:
        counter = RedisWindowCounter(
            redis, settings.redis_prefix, "code-guesses", WINDOW_S
        )
    app[keys.CODE_GUESSES] = CodeGuesses(counter, limits)


def _add_signin_throttles(app: web.Application, redis: ArqRedis | None) -> None:
    settings = app[keys.SETTINGS]
    store: FailureStore = MemoryFailureStore()
    if redis is not None:
        store = RedisFailureStore(redis, settings.redis_prefix)
    max_delay_s = settings.signin_max_delay_s
    free_failures = settings.signin_free_failures
    app[keys.ACCOUNT_THROTTLE] = SignInThrottle(store, free_failures, max_delay_s)
    # One address may be a whole office behind NAT, so it gets more tries.
    app[keys.ADDRESS_THROTTLE] = SignInThrottle(store, 4 * free_failures, max_delay_s)


def _add_routes(app: web.Application) -> None:
    router = app.router
    router.add_get("/", pages.lobby)
    for path in ("/signin", "/signup", "/account"):
        router.add_get(path, pages.account_page)
    router.add_get("/s/{join_token}", pages.session_page)
    router.add_get("/p/{link_token}", pairing_pages.pick_page)
    router.add_get("/api/me", api.me)
    router.add_post("/api/guest", account_api.guest)
    router.add_get("/api/sessions", api.list_sessions)
    router.add_post("/api/sessions", api.create_session)
    router.add_delete("/api/sessions/{session_id}", api.delete_session)
    router.add_post("/api/sessions/{session_id}/extend", api.extend_session)
    router.add_get("/api/sessions/{session_id}/qr.svg", api.session_qr)
    router.add_get("/api/pairing/qr.svg", pairing_pages.lobby_qr)
    router.add_put("/api/files/{file_id}", api.put_chunk)
    router.add_get("/api/files/{file_id}", downloads.download)
    router.add_delete("/api/files/{file_id}", api.delete_file)
    router.add_get("/socket.io/", realtime.socketio_endpoint)
    router.add_get(HEALTH_PATH, health_handler())
    router.add_get(LIVENESS_PATH, livez)
    _add_account_routes(router)
    router.add_static("/static/", web_dir() / "static", append_version=False)


def _add_account_routes(router: web.UrlDispatcher) -> None:
    router.add_post("/api/signup", account_api.signup)
    router.add_post("/api/signin", account_api.signin)
    router.add_post("/api/signout", account_api.signout)
    router.add_post("/api/upgrade", account_api.upgrade)
    router.add_post("/api/password", self_service.change_password)
    router.add_post("/api/signout-everywhere", self_service.sign_out_everywhere)
    router.add_delete("/api/account", self_service.delete_account)
    router.add_get("/api/devices", self_service.list_devices)
    router.add_patch("/api/devices/{device_id}", self_service.rename)


def shares_data_dir(settings: Settings) -> bool:
    """Tell whether other server processes may use this data dir too."""
    return not settings.sqlalchemy_url.startswith("sqlite")


async def _data_dir(app: web.Application) -> AsyncIterator[None]:
    settings = app[keys.SETTINGS]
    fd = lock_data_dir(settings.data_dir, shared=shares_data_dir(settings))
    yield
    unlock_data_dir(fd)


async def _database(app: web.Application) -> AsyncIterator[None]:
    engine = create_engine(app[keys.SETTINGS])
    await migrate(engine)
    await sync_guest_plan(engine, app[keys.SETTINGS])
    app[keys.ENGINE] = engine
    yield
    await engine.dispose()


async def _redis(app: web.Application) -> AsyncIterator[None]:
    settings = app[keys.SETTINGS]
    redis = await jobs.connect(settings) if settings.redis_url else None
    if redis is not None:
        app[keys.REDIS] = redis
    prefix = settings.redis_prefix
    app[keys.GUEST_LIMITER] = create_limiter(
        redis, prefix, settings.guest_starts_per_hour, 3600, "guest account"
    )
    app[keys.SIGNUP_LIMITER] = create_limiter(
        redis, prefix, settings.signups_per_hour, 3600, "sign-up"
    )
    app[keys.SESSION_LIMITER] = create_limiter(
        redis, prefix, settings.session_creations_per_hour, 3600, "session creation"
    )
    app[keys.JOIN_LIMITER] = create_limiter(redis, prefix, 20, 600, "join link")
    app[keys.PULL_LIMITER] = create_limiter(redis, prefix, 20, 600, "device link")
    app[keys.DEVICE_LIMITER] = create_limiter(
        redis, prefix, settings.device_creations_per_hour, 3600, "new device"
    )
    app[keys.OFFER_LIMITER] = create_limiter(
        redis, prefix, settings.pairing_offers_per_hour, 3600, "pairing code"
    )
    _add_guess_limits(app, redis)
    _add_signin_throttles(app, redis)
    app[keys.PRESENCE] = SharedPresence(
        redis, prefix, settings.presence_heartbeat_ttl_s
    )
    app[keys.SUBSCRIPTIONS] = subscriptions.Watch()
    app[keys.BUS] = bus.Bus(redis, bus.channel_name(prefix), app[keys.SUBSCRIPTIONS])
    yield
    if redis is not None:
        await redis.aclose()


async def _socket_server(app: web.Application) -> AsyncIterator[None]:
    sio = realtime.create_socket_server(app[keys.SETTINGS], app[keys.SUBSCRIPTIONS])
    app[keys.SIO] = sio
    app[keys.SOCKET_TASKS] = set()
    realtime.register_handlers(app, pairing_events.HANDLERS)
    app.on_shutdown.append(realtime.end_connections)
    yield


async def _services(app: web.Application) -> AsyncIterator[None]:
    settings = app[keys.SETTINGS]
    engine = app[keys.ENGINE]
    sio = app[keys.SIO]
    storage = Storage(settings.files_dir)
    has_marker = await settle_marker(storage, engine)
    broadcast = realtime.make_broadcast(sio)
    uploads = Uploads(
        engine,
        storage,
        broadcast,
        settings.progress_interval_s,
        settings.max_files_per_session,
    )

    async def on_ended(session_id: str) -> None:
        await app[keys.BUS].tell(bus.SESSION_ENDED, session_id=session_id)
        await app[keys.PRESENCE].forget_shared(session_id)
        await sio.close_room(events.session_room(session_id))

    expiry = Expiry(engine, storage, broadcast, on_ended)
    app[keys.STORAGE] = storage
    app[keys.UPLOADS] = uploads
    app[keys.EXPIRY] = expiry
    cluster.install(app, app[keys.BUS])
    app[keys.BUS].start()
    if has_marker and not shares_data_dir(settings):
        # Alone on the data dir, this process can repair every upload now.
        # Shared, each chunk's writer repairs its file under a write claim,
        # and the sweeps handle missing files. Without the marker, every
        # partial file looks missing, and recovery would fail its upload.
        await uploads.recover()
    if keys.REDIS in app:
        # The worker (`dropspace worker`) runs deadline jobs and sweeps, and
        # tells every web process on the bus when it ends a session.
        app[keys.SCHEDULER] = QueuedDeadlines(app[keys.REDIS], settings)
        yield
        await app[keys.BUS].close()
        return
    context = SweepContext(settings, engine, storage, expiry, broadcast)
    scheduler = Scheduler(context, settings.sweep_interval_s)
    app[keys.SCHEDULER] = scheduler
    await scheduler.start()
    yield
    await scheduler.close()
    await app[keys.BUS].close()
