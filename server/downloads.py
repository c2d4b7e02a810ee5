"""Downloads: plain HTTP GET and HEAD of complete files, with Range support.

aiohttp's FileResponse serves the bytes with sendfile and responds to single
ranges with 206 and unsatisfiable or multiple ranges with 416.
"""

from contextlib import AbstractContextManager
from pathlib import Path

import aiofiles.os
from aiohttp import web
from aiohttp.abc import AbstractStreamWriter

from server import files, keys, sessions
from server.devices import find_device
from server.errors import DeviceRequired, NotFound
from server.middleware import DEVICE_TOKEN
from server.names import content_disposition


async def download(request: web.Request) -> web.FileResponse:
    """Send a complete file to a member of its session."""
    engine = request.app[keys.ENGINE]
    device = await find_device(engine, request[DEVICE_TOKEN])
    if device is None:
        raise DeviceRequired(
            "Downloads need the device cookie of a session member; join the "
            "session first."
        )
    stored = await files.get_file(engine, request.match_info["file_id"])
    await sessions.member_session(engine, stored.session_id, device.id)
    if stored.state != files.COMPLETE:
        raise NotFound(
            f"File {stored.name!r} is {stored.state}; only complete files can be "
            "downloaded."
        )
    if request.headers.get("Range", "").replace(" ", "") == "bytes=-0":
        # A suffix of zero bytes selects nothing (RFC 9110, 14.1.3), but
        # aiohttp's FileResponse would send the whole file.
        raise web.HTTPRequestRangeNotSatisfiable(
            headers={"Content-Range": f"bytes */{stored.size}"}
        )
    storage = request.app[keys.STORAGE]
    await storage.marker.require()
    path = storage.final_path(stored.session_id, stored.id)
    headers = {
        "Content-Type": "application/octet-stream",
        "Content-Disposition": content_disposition(stored.name),
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, no-store",
    }
    return DownloadResponse(
        path,
        headers=headers,
        keep_range=await _if_range_holds(request, path),
        tracking=request.app[keys.TRANSFERS].track(
            stored.session_id, device.id, request, cancel_handler=True
        ),
    )


class DownloadResponse(web.FileResponse):
    """A FileResponse that a removal can cut, and that may ignore Range.

    aiohttp prepares the response after the handler returns, and the file
    is sent inside `prepare`. The transfer is registered there, so that
    removing the device cuts a download that is still streaming.
    """

    def __init__(
        self,
        path: Path,
        *,
        headers: dict[str, str],
        keep_range: bool,
        tracking: AbstractContextManager[None],
    ) -> None:
        super().__init__(path, headers=headers)
        self._keep_range = keep_range
        self._tracking = tracking

    async def prepare(self, request: web.BaseRequest) -> AbstractStreamWriter | None:
        if not self._keep_range:
            # aiohttp passes the request it received, after the middlewares,
            # so the Range header has to go at this point.
            request = request.clone(headers=_without_range(request))
        with self._tracking:
            return await super().prepare(request)


async def _if_range_holds(request: web.Request, path: Path) -> bool:
    """Tell whether a request's Range applies under its If-Range, if any.

    FileResponse checks an If-Range date but treats an entity tag as absent,
    so it would send part of a file the client's tag no longer names. An
    entity tag must match the strong ETag that FileResponse sends (RFC 9110,
    13.1.5), or the whole file goes out.
    """
    condition = request.headers.get("If-Range")
    if condition is None or request.if_range is not None:
        return True
    stat = await aiofiles.os.stat(path)
    return condition.strip() == f'"{stat.st_mtime_ns:x}-{stat.st_size:x}"'


def _without_range(request: web.BaseRequest) -> dict[str, str]:
    return {
        name: value
        for name, value in request.headers.items()
        if name.lower() not in ("range", "if-range")
    }
