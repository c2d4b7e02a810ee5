"""File names that break headers, paths and displays.

An accepted name reaches the other device exactly as declared, and its
download carries a `Content-Disposition` that every browser can use. A
rejected name gets `invalid_name`. No name writes outside the data folder.
"""

import unicodedata
from pathlib import Path, PurePosixPath

import pytest
from aiohttp.multipart import parse_content_disposition

from tests.devices import SharedSession, for_file
from tests.servers import RunningServer

ACCEPTED_NAMES = [
    "Report, final; v2.pdf",  # comma and semicolon need quoting
    "a b.txt",
    "x=1.bin",
    "Übersicht – 報告 🚀.pdf",  # noqa: RUF001 (the en dash is the point)
    "ΑΒΓ.txt",  # no ASCII letter, but the fallback keeps ".txt"
    "résumé.docx",
    "../../etc/passwd",  # paths are display names only
    "..\\..\\x.txt",
    "/abs.txt",
    "C:\\x.txt",
    "photos/2024/a.jpg",
    "é" * 127 + "a",  # 255 bytes of UTF-8, the longest allowed
    'quote".txt',
]
REJECTED_NAMES = [
    ".",
    "..",
    "",
    'evil"\r\nSet-Cookie: x=1\r\n.txt',
    "a" * 300 + ".txt",
    "é" * 128,  # 256 bytes of UTF-8
    "folder/",
    "folder\\",
    "tab\there.txt",
    "null\x00.txt",
    "\u202egnp.exe",  # right-to-left override
    "mark\u200f.txt",  # right-to-left mark
    "isolate\u2066.txt",
]
SAMPLE = b"hello\n"


def last_part(name: str) -> str:
    return name.replace("\\", "/").rsplit("/", 1)[-1]


def assert_nothing_outside(server: RunningServer, tmp_path: Path) -> None:
    """Check that uploads wrote only inside the server's data folder."""
    assert sorted(path.name for path in tmp_path.iterdir()) == [server.data_dir.name]
    assert not Path("/abs.txt").exists()
    assert not Path("C:\\x.txt").exists()
    for stored in server.data_dir.rglob("*"):
        assert stored.name not in {"passwd", "x.txt", "abs.txt", "a.jpg"}, stored


@pytest.mark.parametrize("name", ACCEPTED_NAMES)
async def test_name_accepted_round_trip(
    shared: SharedSession, server: RunningServer, tmp_path: Path, name: str
) -> None:
    file = await shared.member.upload(shared.session_id, name, SAMPLE)

    ready = await shared.owner.log.wait_for("file:ready", for_file(file["id"]))
    assert ready["file"]["name"] == name
    assert ready["file"]["download_name"] == last_part(name)
    reply = await shared.owner.download(file["id"])
    assert reply.status == 200
    assert reply.body == SAMPLE
    assert_nothing_outside(server, tmp_path)


@pytest.mark.parametrize("name", ACCEPTED_NAMES)
async def test_name_content_disposition(shared: SharedSession, name: str) -> None:
    file = await shared.member.upload(shared.session_id, name, SAMPLE)

    header = (await shared.owner.download(file["id"], method="HEAD")).headers.get(
        "Content-Disposition", ""
    )
    assert "\r" not in header
    assert "\n" not in header
    assert 'filename="' in header, "the ASCII fallback must be a quoted string"
    disposition, params = parse_content_disposition(header)
    assert disposition == "attachment", header
    fallback = params.get("filename", "")
    assert fallback.isascii(), fallback
    assert fallback.isprintable(), fallback
    suffix = PurePosixPath(last_part(name)).suffix
    assert fallback.endswith(suffix), (fallback, suffix)
    assert params.get("filename*") == last_part(name), header


@pytest.mark.parametrize("name", REJECTED_NAMES)
async def test_name_rejected_invalid(shared: SharedSession, name: str) -> None:
    files = [{"name": "fine.txt", "size": 1}, {"name": name, "size": 1}]

    ack = await shared.member.start_uploads(shared.session_id, files)

    assert ack["ok"] is True, ack
    assert ack["files"][0].get("name") == "fine.txt"
    assert ack["files"][1].get("ok") is False
    assert ack["files"][1].get("code") == "invalid_name"
    assert ack["files"][1].get("index") == 1


async def test_name_normalised_to_nfc(shared: SharedSession) -> None:
    decomposed = "Cafe\u0301.txt"

    file = await shared.member.upload(shared.session_id, decomposed, SAMPLE)

    assert file["name"] == unicodedata.normalize("NFC", decomposed)
    assert file["name"] == "Café.txt"


async def test_name_duplicates_kept_apart(shared: SharedSession) -> None:
    first = await shared.member.upload(shared.session_id, "same.txt", b"first")
    second = await shared.member.upload(shared.session_id, "same.txt", b"second")

    assert first["id"] != second["id"]
    assert (await shared.owner.download(first["id"])).body == b"first"
    assert (await shared.owner.download(second["id"])).body == b"second"
