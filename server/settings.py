"""Settings read from `DROPSPACE_*` environment variables.

Each field's metadata names its variable and its help line; the README's
settings table is checked against this class by a test.
"""

import dataclasses
import functools
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from server.addresses import IPNetwork, parse_networks
from server.lan import lan_address

MIB = 1024 * 1024
GIB = 1024 * MIB
# Longer-lived codes would let more of them be live at once than
# docs/security.md allows for.
MAX_PAIRING_CODE_TTL_S = 300


def _setting(default: Any, help_text: str) -> Any:
    return field(default=default, metadata={"help": help_text})


@dataclass(frozen=True)
class Settings:
    """Every setting of a DropSpace process, with its embedded default."""

    host: str = _setting("0.0.0.0", "Address to listen on.")  # noqa: S104
    port: int = _setting(8080, "TCP port to listen on.")
    data_dir: Path = _setting(
        Path("data"), "Folder for stored files and the SQLite file."
    )
    database_url: str = _setting(
        "", "SQLAlchemy URL; default: SQLite file dropspace.db in the data dir."
    )
    redis_url: str = _setting(
        "",
        "Redis URL for the Socket.IO bus, rate limits and the worker queue; "
        "unset: all in-process.",
    )
    redis_prefix: str = _setting(
        "dropspace", "Namespace of every Redis key, channel and queue."
    )
    public_url: str = _setting(
        "", "Origin used in links and QR codes; default: http://LAN-address:port."
    )
    guest_max_sessions: int = _setting(3, "Live sessions a guest account may own.")
    guest_capacity_bytes: int = _setting(2 * GIB, "Capacity of a guest's session.")
    guest_max_lifetime_s: int = _setting(3600, "Longest lifetime of a guest session.")
    min_lifetime_s: int = _setting(60, "Shortest lifetime a session may ask for.")
    guest_account_ttl_s: int = _setting(86400, "Lifetime of a guest account.")
    guest_accounts: bool = _setting(
        True, "Allow one-click guest accounts; false: sign-up or sign-in needed."
    )
    signup_open: bool = _setting(
        True, "Allow anyone to sign up; false: the operator creates accounts."
    )
    guest_starts_per_hour: int = _setting(
        20, "Guest accounts one address may create per hour."
    )
    signups_per_hour: int = _setting(
        10, "Accounts one address may sign up or upgrade from a guest per hour."
    )
    session_creations_per_hour: int = _setting(
        60, "Sessions one account may create per hour."
    )
    signin_free_failures: int = _setting(
        5, "Failed sign-ins per account before a delay; per address, 4 times as many."
    )
    signin_max_delay_s: int = _setting(
        900, "Longest delay after failed sign-ins; it doubles per failure."
    )
    password_hash_concurrency: int = _setting(
        2, "Password hashes computed at once; each uses 64 MiB."
    )
    trusted_proxies: str = _setting(
        "",
        "Comma-separated proxy addresses or CIDR networks whose X-Forwarded-* "
        "headers are used.",
    )
    max_files_per_session: int = _setting(
        10000, "Files a session may hold, uploads in progress included."
    )
    http_chunk_bytes: int = _setting(64 * MIB, "Chunk size announced for HTTP PUT.")
    max_http_chunk_bytes: int = _setting(64 * MIB, "Largest HTTP chunk accepted.")
    socket_chunk_bytes: int = _setting(
        4 * MIB, "Chunk size announced for Socket.IO events."
    )
    chunk_idle_timeout_s: float = _setting(
        30.0, "Seconds a chunk PUT may send nothing before it is dropped."
    )
    sweep_interval_s: float = _setting(
        60.0, "Seconds between sweeps; the worker sweeps at least once a minute."
    )
    presence_heartbeat_ttl_s: float = _setting(
        15.0,
        "Seconds a crashed process's sockets still count as online; each process "
        "refreshes its heartbeat every third of it.",
    )
    upload_abandon_s: float = _setting(
        3600.0, "Seconds without progress after which a partial upload is removed."
    )
    orphan_grace_s: float = _setting(
        600.0,
        "Seconds before a stored file with no record, or a record whose file "
        "stays missing, is removed. A missing file counts from the sweep that "
        "first finds it missing.",
    )
    progress_interval_s: float = _setting(
        0.25, "Minimum seconds between progress events per file."
    )
    socket_audit_interval_s: float = _setting(
        5.0,
        "Seconds between checks of open sockets against the records, for "
        "sign-outs and session ends that reached no server by message.",
    )
    pairing_code_ttl_s: int = _setting(
        300, "Seconds a lobby's pairing code and QR link stay valid; at most 300."
    )
    code_failures_per_account: int = _setting(
        20, "Wrong pairing codes one account may send per hour."
    )
    code_failures_per_address: int = _setting(
        60, "Wrong pairing codes one network address may send per hour."
    )
    code_failures_per_service: int = _setting(
        1500, "Wrong pairing codes the whole service accepts per hour."
    )
    device_creations_per_hour: int = _setting(
        200, "New devices (browsers seen first) one network address may add per hour."
    )
    pairing_offers_per_hour: int = _setting(
        600, "Pairing codes one network address may be issued per hour."
    )
    log_level: str = _setting("INFO", "Python logging level.")

    def __post_init__(self) -> None:
        _check_range(self, "pairing_code_ttl_s", 1, MAX_PAIRING_CODE_TTL_S, "seconds")
        for name in _AT_LEAST_ONE:
            _check_range(self, name, 1, None, "per hour")
        _check_range(self, "signin_free_failures", 0, None, "failures")
        _check_range(self, "signin_max_delay_s", 1, None, "seconds")
        _check_range(self, "password_hash_concurrency", 1, None, "hashes at once")
        _check_range(self, "socket_audit_interval_s", 1, None, "seconds")
        _check_range(self, "presence_heartbeat_ttl_s", 1, None, "seconds")
        try:
            parse_networks(self.trusted_proxies)
        except ValueError as error:
            raise ValueError(
                f"{env_name('trusted_proxies')}={self.trusted_proxies!r}: {error}"
            ) from None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "Settings":
        """Build settings from `DROPSPACE_*` variables over the defaults."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for item in dataclasses.fields(cls):
            raw = environ.get(env_name(item.name))
            if raw is None or raw == "":
                continue
            values[item.name] = _parse(item, raw)
        return cls(**values)

    @property
    def socket_max_message_bytes(self) -> int:
        """Socket.IO message limit: one chunk plus room for its framing."""
        return self.socket_chunk_bytes + MIB

    @property
    def sqlalchemy_url(self) -> str:
        """Return the database URL, defaulting to SQLite in the data dir."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{self.data_dir.resolve() / 'dropspace.db'}"

    @property
    def files_dir(self) -> Path:
        """Folder of every stored file, each under a generated id."""
        return self.data_dir / "files"

    @functools.cached_property
    def origin(self) -> str:
        """Public origin, from the setting or this machine's LAN address."""
        if self.public_url:
            parts = urlsplit(self.public_url)
            return f"{parts.scheme}://{parts.netloc}"
        return f"http://{lan_address()}:{self.port}"

    @functools.cached_property
    def trusted_proxy_networks(self) -> tuple[IPNetwork, ...]:
        """Return the trusted_proxies networks; a lone address is a network of one."""
        return parse_networks(self.trusted_proxies)

    @property
    def secure_cookies(self) -> bool:
        """Mark cookies Secure when the public origin is HTTPS."""
        return self.origin.startswith("https://")


# Limits that would shut a feature off entirely at 0 and mean nothing below.
_AT_LEAST_ONE = (
    "code_failures_per_account",
    "code_failures_per_address",
    "code_failures_per_service",
    "device_creations_per_hour",
    "pairing_offers_per_hour",
    "guest_starts_per_hour",
    "signups_per_hour",
    "session_creations_per_hour",
)


def _check_range(
    settings: Settings, name: str, low: int, high: int | None, unit: str
) -> None:
    value = getattr(settings, name)
    if value >= low and (high is None or value <= high):
        return
    expected = f"{low} to {high}" if high is not None else f"at least {low}"
    raise ValueError(
        f"{env_name(name)}={value!r} is out of range; set it to {expected} ({unit})"
    )


def env_name(field_name: str) -> str:
    """Return the environment variable that sets a field."""
    return f"DROPSPACE_{field_name.upper()}"


def _parse(item: "dataclasses.Field[Any]", raw: str) -> Any:
    kind: type = type(item.default)
    try:
        if kind is bool:
            return raw.strip().lower() in {"1", "true", "yes", "on"}
        if kind is int:
            return int(raw)
        if kind is float:
            return float(raw)
        if isinstance(item.default, Path):
            return Path(raw)
    except ValueError:
        raise ValueError(
            f"{env_name(item.name)}={raw!r} is not a valid {kind.__name__}; "
            f"set it to a number such as {item.default!r}"
        ) from None
    return raw
