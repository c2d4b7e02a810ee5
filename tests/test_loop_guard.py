"""The guard that fails tests whose server does file work on the event loop."""

from server.storage import _sha256_of_path
from tests.loop_guard import GUARD
from tests.servers import RunningServer


async def test_guard_records_blocking_read(server: RunningServer) -> None:
    sample = server.data_dir / "sample.bin"
    sample.write_bytes(b"x" * 10)

    _sha256_of_path(sample)
    found = GUARD.take()

    assert len(found) == 1
    assert found[0].startswith("open(")
    assert "storage.py" in found[0]


async def test_guard_ignores_test_code(server: RunningServer) -> None:
    sample = server.data_dir / "sample.bin"

    sample.write_bytes(b"y" * 10)

    assert sample.read_bytes() == b"y" * 10
    assert GUARD.take() == []
