"""Closing the Socket.IO connections of devices that were signed out."""

from aiohttp import web

from server import bus, keys, members, roster
from server.devices import sign_out_devices


async def disconnect_devices(
    app: web.Application, device_ids: list[str], *, notify: bool = True
) -> None:
    """Tell each device it was signed out, then close its connections.

    Without `notify` the connections just close: the device that made the
    request learns the outcome from its response, which carries its new
    cookie, and must not act on an event before that response arrives.
    Every server process closes the connections it holds.
    """
    if device_ids:
        await app[keys.BUS].tell(
            bus.DISCONNECT, device_ids=list(device_ids), notify=notify
        )


async def sign_out_account(
    app: web.Application, account_id: str, own_device_id: str, *, include_own: bool
) -> list[str]:
    """Sign out the account's devices and return their ids.

    Every device signed out but the one asking also leaves the account's
    sessions, so that a lost or stolen device keeps no access to them
    through its old membership.
    """
    engine = app[keys.ENGINE]
    keep = None if include_own else own_device_id
    signed_out = await sign_out_devices(engine, account_id, keep_device_id=keep)
    others = [device_id for device_id in signed_out if device_id != own_device_id]
    await disconnect_devices(app, others)
    await leave_account_sessions(app, account_id, others)
    return signed_out


async def leave_account_sessions(
    app: web.Application, account_id: str, device_ids: list[str]
) -> None:
    """Remove signed-out devices from the account's sessions, everywhere.

    Their transfers there are cut on every server process and the members
    see the new list. Signing in to the account again lets them back in.
    """
    ended = await members.end_account_memberships(
        app[keys.ENGINE], account_id, device_ids
    )
    for session_id, device_id in ended:
        await app[keys.BUS].tell(bus.EXPEL, session_id=session_id, device_id=device_id)
    for session_id in sorted({session_id for session_id, _ in ended}):
        await roster.announce(app, session_id)
