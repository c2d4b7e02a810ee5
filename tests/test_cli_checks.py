"""Operator commands check their input and keep their output to the point."""

from tests.servers import RunningServer
from tests.test_cli import dropspace


async def test_plan_edit_refuses_lifetime_below_minimum(server: RunningServer) -> None:
    result = await dropspace(server, "plan", "edit", "pro", "--lifetime", "30")
    listed = await dropspace(server, "plan", "list")

    assert result.status == 1
    assert "lifetime 30 is out of range; use 60 (DROPSPACE_MIN_LIFETIME_S)" in (
        result.stderr
    )
    assert "604800" in listed.stdout


async def test_plan_edit_refuses_huge_numbers(server: RunningServer) -> None:
    result = await dropspace(
        server, "plan", "edit", "pro", "--sessions", "99999999999999999999"
    )

    assert result.status == 1
    assert "Traceback" not in result.stderr
    assert "sessions 99999999999999999999 is out of range" in result.stderr


async def test_plan_edit_needs_a_change(server: RunningServer) -> None:
    result = await dropspace(server, "plan", "edit", "free")

    assert result.status == 1
    assert "nothing to change" in result.stderr


async def test_commands_print_no_migration_log(server: RunningServer) -> None:
    result = await dropspace(server, "plan", "list")

    assert result.status == 0
    assert result.stderr == ""


async def test_user_create_prints_the_stored_name(server: RunningServer) -> None:
    result = await dropspace(server, "user", "create", "Erin")

    assert result.status == 0, result.stderr
    assert result.stdout.startswith("Created account erin; password: ")
