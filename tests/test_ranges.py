"""Downloads with and without `Range` headers against a 10,000-byte file."""

from dataclasses import dataclass

import pytest

from tests.content import Stamped
from tests.devices import Reply, SharedSession

FILE_SIZE = 10_000
PAYLOAD = Stamped(FILE_SIZE)
WHOLE = PAYLOAD.whole()

# (Range header, expected Content-Range, first byte, length)
PARTIAL_CASES = [
    ("bytes=0-99", "bytes 0-99/10000", 0, 100),
    ("bytes=500-", "bytes 500-9999/10000", 500, 9500),
    ("bytes=-100", "bytes 9900-9999/10000", 9900, 100),
    ("bytes=9990-20000", "bytes 9990-9999/10000", 9990, 10),
]
# A range that starts at the end, a reversed range and several ranges.
UNSATISFIABLE_CASES = ["bytes=10000-", "bytes=5-4", "bytes=0-1,5-6"]


@dataclass
class RangedFile:
    shared: SharedSession
    file_id: str

    async def get(self, headers: dict[str, str] | None = None) -> Reply:
        sent = {"Accept-Encoding": "gzip, deflate, br"} | (headers or {})
        return await self.shared.owner.download(self.file_id, sent)


@pytest.fixture
async def ranged(shared: SharedSession) -> RangedFile:
    file = await shared.member.upload(shared.session_id, "ten-thousand.bin", PAYLOAD)
    return RangedFile(shared, file["id"])


@pytest.mark.parametrize(("header", "content_range", "start", "length"), PARTIAL_CASES)
async def test_range_partial_content(
    ranged: RangedFile, header: str, content_range: str, start: int, length: int
) -> None:
    reply = await ranged.get({"Range": header})

    assert reply.status == 206
    assert reply.headers.get("Content-Range") == content_range
    assert reply.headers.get("Content-Length") == str(length)
    assert len(reply.body) == length
    assert reply.body == WHOLE[start : start + length]
    assert "Content-Encoding" not in reply.headers


@pytest.mark.parametrize("header", UNSATISFIABLE_CASES)
async def test_range_not_satisfiable(ranged: RangedFile, header: str) -> None:
    reply = await ranged.get({"Range": header})

    assert reply.status == 416
    assert reply.headers.get("Content-Range") == f"bytes */{FILE_SIZE}"
    assert len(reply.body) == int(reply.headers.get("Content-Length", "0"))


async def test_range_absent_whole_file(ranged: RangedFile) -> None:
    reply = await ranged.get()

    assert reply.status == 200
    assert reply.headers.get("Accept-Ranges") == "bytes"
    assert reply.headers.get("Content-Length") == str(FILE_SIZE)
    assert reply.body == WHOLE
    assert "Content-Encoding" not in reply.headers


@pytest.mark.parametrize("header", [None, "bytes=0-99"])
async def test_range_download_headers(ranged: RangedFile, header: str | None) -> None:
    reply = await ranged.get({"Range": header} if header else None)
    headers = reply.headers

    assert headers.get("Content-Type") == "application/octet-stream"
    assert headers.get("X-Content-Type-Options") == "nosniff"
    assert headers.get("Cache-Control") == "private, no-store"
    assert headers.get("Accept-Ranges") == "bytes"
    disposition = headers.get("Content-Disposition", "")
    assert disposition.startswith("attachment;")
    assert 'filename="ten-thousand.bin"' in disposition
    assert "filename*=UTF-8''ten-thousand.bin" in disposition


async def test_range_head_matches_get(ranged: RangedFile) -> None:
    reply = await ranged.shared.owner.download(ranged.file_id, method="HEAD")

    assert reply.status == 200
    assert reply.headers.get("Content-Length") == str(FILE_SIZE)
    assert reply.headers.get("Accept-Ranges") == "bytes"
    assert reply.body == b""


async def test_if_range_matching_etag_partial(ranged: RangedFile) -> None:
    etag = (await ranged.get()).headers.get("ETag", "")
    reply = await ranged.get({"Range": "bytes=0-99", "If-Range": etag})

    assert etag.startswith('"')
    assert reply.status == 206
    assert reply.body == WHOLE[:100]


@pytest.mark.parametrize("tag", ['"not-this-file"', 'W/"weak"'])
async def test_if_range_other_etag_whole(ranged: RangedFile, tag: str) -> None:
    reply = await ranged.get({"Range": "bytes=0-99", "If-Range": tag})

    assert reply.status == 200
    assert reply.headers.get("Content-Length") == str(FILE_SIZE)
    assert reply.body == WHOLE


async def test_if_range_old_date_whole(ranged: RangedFile) -> None:
    before_upload = "Mon, 01 Jan 2001 00:00:00 GMT"
    reply = await ranged.get({"Range": "bytes=0-99", "If-Range": before_upload})

    assert reply.status == 200
    assert reply.body == WHOLE
