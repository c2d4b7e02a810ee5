"""JSON routes for accounts: sign-up, guest upgrade, sign-in and sign-out.

Every route that signs a device in or out gives it a new device token, so a
token planted in the browser before sign-in is never signed in, and a token
copied before sign-out stops working.
"""

import logging
from typing import Any

from aiohttp import web

from server import keys
from server.accounts import (
    Account,
    create_account,
    find_by_username,
    get_account,
    set_password_hash,
    start_guest,
    upgrade_guest,
    validate_username,
)
from server.api import _account_of as account_of
from server.api import _acting_device as acting_device
from server.api import _json_body as json_body
from server.api import ok
from server.devices import Device, bind_account, rotate_token, unbind_device
from server.errors import (
    GuestsDisabled,
    InvalidCredentials,
    InvalidPassword,
    InvalidUsername,
    ServiceUnavailable,
    SignupClosed,
)
from server.middleware import DEVICE_TOKEN, set_device_cookie
from server.passwords import (
    MAX_PASSWORD_CHARS,
    normalize_password,
    validate_password,
)
from server.plans import get_plan
from server.proxies import client_address, client_limit_key
from server.signout import disconnect_devices, leave_account_sessions
from server.throttle import attempt

log = logging.getLogger(__name__)

WRONG_CREDENTIALS = "Username or password is wrong; check both and try again."


async def signed_in_response(
    request: web.Request, device: Device, account: Account
) -> web.Response:
    """Bind the device to the account under a new token and return both."""
    engine = request.app[keys.ENGINE]
    await bind_account(engine, device.id, account.id)
    plan = await get_plan(engine, account.plan, request.app[keys.SETTINGS])
    return await rotated_response(
        request,
        device.id,
        account=account.public(),
        plan=plan.public(),
        device=device.public(),
    )


async def rotated_response(
    request: web.Request, device_id: str, **fields: Any
) -> web.Response:
    """Give the device a new token, close its connections and return `fields`."""
    # Connections opened with the old token are closed, because one of them
    # may belong to the person who planted that token.
    token = await rotate_token(request.app[keys.ENGINE], device_id)
    request[DEVICE_TOKEN] = token
    await disconnect_devices(request.app, [device_id], notify=False)
    response = ok(**fields)
    set_device_cookie(request, response, token)
    return response


async def guest(request: web.Request) -> web.Response:
    """Create a guest account for this device, or return the one it has.

    A new guest account comes with a new device token, like a sign-in, so
    that a person who planted the old token in this browser cannot use it.
    """
    settings = request.app[keys.SETTINGS]
    if not settings.guest_accounts:
        where = "sign in or create an account" if settings.signup_open else "sign in"
        raise GuestsDisabled(f"This server has no guest accounts; {where}.")
    await request.app[keys.GUEST_LIMITER].hit(client_limit_key(request))
    device = await acting_device(request)
    engine = request.app[keys.ENGINE]
    existing = await get_account(engine, device.account_id)
    account = existing or await start_guest(engine, device, settings)
    plan = (await get_plan(engine, account.plan, settings)).public()
    if existing is not None:
        return ok(account=account.public(), plan=plan)
    return await rotated_response(
        request, device.id, account=account.public(), plan=plan
    )


def _require_signup_open(request: web.Request) -> None:
    if not request.app[keys.SETTINGS].signup_open:
        raise SignupClosed(
            "Sign-up is closed on this server; ask its operator for an account."
        )


async def _credentials(request: web.Request) -> tuple[str, str]:
    """Return a valid username and password, counting the attempt per address.

    Each new account costs a password hash, so sign-ups are limited like
    guest starts.
    """
    body = await json_body(request)
    username = validate_username(body.get("username"))
    password = validate_password(body.get("password"))
    await request.app[keys.SIGNUP_LIMITER].hit(client_limit_key(request))
    return username, password


async def _new_password_hash(request: web.Request, password: str) -> str:
    """Return the hash of a sign-up password, refunding the attempt if busy."""
    try:
        return await request.app[keys.PASSWORDS].hash(password)
    except ServiceUnavailable:
        # The 503 asks the client to retry later, so the failed attempt must not
        # use up one of the address's sign-ups.
        await request.app[keys.SIGNUP_LIMITER].refund(client_limit_key(request))
        raise


async def signup(request: web.Request) -> web.Response:
    """Create an account on the free plan and sign this device in to it."""
    _require_signup_open(request)
    username, password = await _credentials(request)
    password_hash = await _new_password_hash(request, password)
    account = await create_account(request.app[keys.ENGINE], username, password_hash)
    device = await acting_device(request)
    return await signed_in_response(request, device, account)


async def upgrade(request: web.Request) -> web.Response:
    """Give this device's guest account a username and password."""
    _require_signup_open(request)
    username, password = await _credentials(request)
    device = await acting_device(request)
    account = await account_of(request, device)
    password_hash = await _new_password_hash(request, password)
    upgraded = await upgrade_guest(
        request.app[keys.ENGINE], account, username, password_hash
    )
    return await signed_in_response(request, device, upgraded)


def _sign_in_password(body: dict[str, Any]) -> str:
    password = body.get("password")
    if not isinstance(password, str):
        raise InvalidPassword("Field 'password' must be text; send the password.")
    if len(password) <= 4 * MAX_PASSWORD_CHARS:
        password = normalize_password(password)
    if len(password) > MAX_PASSWORD_CHARS:
        # Rejected before hashing, so a huge password costs no hash time.
        raise InvalidPassword(
            f"The password has {len(password)} characters; passwords have at "
            f"most {MAX_PASSWORD_CHARS}.",
            field="password",
        )
    return password


def _sign_in_username(raw: object) -> str:
    # A malformed name gets the same response as an unknown one, and all
    # malformed names share one throttle key.
    try:
        return validate_username(raw)
    except InvalidUsername:
        return ""


async def signin(request: web.Request) -> web.Response:
    """Sign this device in with a username and password."""
    body = await json_body(request)
    password = _sign_in_password(body)
    name = _sign_in_username(body.get("username"))
    account_key = f"account:{name}"
    address_key = f"address:{client_limit_key(request)}"
    account_throttle = request.app[keys.ACCOUNT_THROTTLE]
    async with attempt(
        (account_throttle, account_key),
        (request.app[keys.ADDRESS_THROTTLE], address_key),
    ) as outcome:
        account = await _check_password(request, name, password)
        if account is None:
            outcome.fail()
            log.info("sign-in failed address=%s", client_address(request))
            raise InvalidCredentials(WRONG_CREDENTIALS)
    await account_throttle.succeeded(account_key)
    log.info("signed in account=%s", account.id)
    return await signed_in_response(request, await acting_device(request), account)


async def _check_password(
    request: web.Request, username: str, password: str
) -> Account | None:
    """Return the account when the password matches; an unknown user costs a hash."""
    engine = request.app[keys.ENGINE]
    passwords = request.app[keys.PASSWORDS]
    found = await find_by_username(engine, username)
    stored_hash = None if found is None else found[1]
    if not await passwords.verify(stored_hash, password) or found is None:
        return None
    account, _ = found
    if stored_hash is not None and passwords.needs_rehash(stored_hash):
        await set_password_hash(engine, account.id, await passwords.hash(password))
    return account


async def signout(request: web.Request) -> web.Response:
    """Sign this device out of its account and the account's sessions.

    Its old token stops working. Leaving the sessions matters on a shared
    computer: the next person at this browser must not see them.
    """
    device = await acting_device(request)
    await unbind_device(request.app[keys.ENGINE], device.id)
    log.info("signed out device=%s", device.id)
    response = await rotated_response(request, device.id)
    if device.account_id is not None:
        await leave_account_sessions(request.app, device.account_id, [device.id])
    return response
