"""A server stops promptly whatever its sockets are doing."""

import asyncio

from tests.devices import NewDevice, share_session
from tests.servers import RunningServer, StartProduction

# Generous: a stop takes well under a second; only a hang reaches this.
STOP_BOUND_S = 30.0
ROUNDS = 3


async def stop_within_bound(server: RunningServer) -> None:
    """Stop the server in this task, failing if the stop hangs.

    web.run_app stops the app in its main task, as this does. Stopped
    from a task of its own, the server did not hang in these tests.
    """
    task = asyncio.current_task()
    assert task is not None
    watchdog = asyncio.get_running_loop().call_later(STOP_BOUND_S, task.cancel)
    try:
        await server.stop()
    except asyncio.CancelledError:
        raise AssertionError(
            f"the server did not stop within {STOP_BOUND_S} s"
        ) from None
    finally:
        watchdog.cancel()


async def test_stop_after_page_leaves(
    start_production: StartProduction, new_device: NewDevice
) -> None:
    # The stop starts while the server still handles a page that just left.
    for _ in range(ROUNDS):
        server = await start_production()
        owner = await new_device(server, "owner")
        member = await new_device(server, "member")
        await share_session(owner, member)

        await member.drop_socket()

        await stop_within_bound(server)
