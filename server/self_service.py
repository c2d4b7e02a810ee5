"""JSON routes where an account holder manages the account and its devices."""

import logging

from aiohttp import web

from server import keys
from server.account_api import rotated_response
from server.accounts import Account, find_by_username, set_password_hash
from server.api import _account_of as account_of
from server.api import _acting_device as acting_device
from server.api import _json_body as json_body
from server.api import _known_device as known_device
from server.api import ok
from server.devices import (
    get_device,
    list_account_devices,
    rename_device,
    validate_label,
)
from server.errors import (
    InvalidCredentials,
    InvalidPassword,
    NotAllowed,
    NotFound,
    NotGuest,
)
from server.passwords import (
    MAX_PASSWORD_CHARS,
    normalize_password,
    validate_password,
)
from server.removal import remove_account
from server.signout import disconnect_devices, sign_out_account
from server.throttle import attempt

log = logging.getLogger(__name__)


def _others(device_ids: list[str], own_device_id: str) -> list[str]:
    # The requesting device learns the outcome from its response instead.
    return [device_id for device_id in device_ids if device_id != own_device_id]


async def _confirm_password(
    request: web.Request, account: Account, password: object, field: str
) -> None:
    """Raise unless `password`, sent in `field`, is the account's password."""
    if account.username is None:
        raise NotGuest("A guest account has no password; choose one first.")
    if not isinstance(password, str) or not password:
        raise InvalidPassword(
            f"Field {field!r} is missing; send your current password to confirm.",
            field=field,
        )
    throttle = request.app[keys.ACCOUNT_THROTTLE]
    async with attempt((throttle, f"account:{account.username}")) as outcome:
        found = await find_by_username(request.app[keys.ENGINE], account.username)
        stored_hash = None if found is None else found[1]
        # A longer password cannot match, and is cut before normalising.
        typed = normalize_password(password[: 4 * MAX_PASSWORD_CHARS])
        if not await request.app[keys.PASSWORDS].verify(stored_hash, typed):
            outcome.fail()
            raise InvalidCredentials(
                "The current password is wrong; type it again.", field=field
            )


async def change_password(request: web.Request) -> web.Response:
    """Set a new password and sign out every other device of the account."""
    body = await json_body(request)
    device = await acting_device(request)
    account = await account_of(request, device)
    new_password = validate_password(body.get("new_password"), "new_password")
    await _confirm_password(
        request, account, body.get("current_password"), "current_password"
    )

    engine = request.app[keys.ENGINE]
    new_hash = await request.app[keys.PASSWORDS].hash(new_password)
    await set_password_hash(engine, account.id, new_hash)
    others = await sign_out_account(
        request.app, account.id, device.id, include_own=False
    )
    log.info("password changed account=%s signed_out=%d", account.id, len(others))
    return await rotated_response(request, device.id, signed_out_devices=len(others))


async def sign_out_everywhere(request: web.Request) -> web.Response:
    """Sign out every device of the account, this one included."""
    device = await acting_device(request)
    account = await account_of(request, device)
    signed_out = await sign_out_account(
        request.app, account.id, device.id, include_own=True
    )
    log.info("signed out everywhere account=%s devices=%d", account.id, len(signed_out))
    return await rotated_response(
        request, device.id, signed_out_devices=len(signed_out)
    )


async def delete_account(request: web.Request) -> web.Response:
    """Delete the account with its sessions and files; full accounts confirm."""
    body = await json_body(request)
    device = await acting_device(request)
    account = await account_of(request, device)
    if not account.is_guest:
        await _confirm_password(request, account, body.get("password"), "password")
    app = request.app
    removed = await remove_account(
        app[keys.ENGINE], app[keys.STORAGE], app[keys.EXPIRY], account.id
    )
    await disconnect_devices(app, _others(removed or [], device.id))
    return await rotated_response(request, device.id)


async def list_devices(request: web.Request) -> web.Response:
    """Return the devices signed in to the caller's account."""
    device = await known_device(request)
    account = await account_of(request, device)
    found = await list_account_devices(request.app[keys.ENGINE], account.id)
    for item in found:
        item["current"] = item["id"] == device.id
    return ok(devices=found)


async def rename(request: web.Request) -> web.Response:
    """Rename this device or another device of the caller's account."""
    body = await json_body(request)
    device = await known_device(request)
    engine = request.app[keys.ENGINE]
    target = await get_device(engine, request.match_info["device_id"])
    if target is None:
        raise NotFound("No such device; reload the device list.")
    same_account = device.account_id is not None and (
        target.account_id == device.account_id
    )
    if target.id != device.id and not same_account:
        raise NotAllowed("Only devices signed in to your account can be renamed.")
    label = validate_label(body.get("label"))
    await rename_device(engine, target.id, label)
    return ok(device={"id": target.id, "label": label})
