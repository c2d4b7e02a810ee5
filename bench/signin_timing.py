"""Compare sign-in response times for an unknown user and a wrong password.

    .venv/bin/python -m bench.signin_timing [--attempts 40]

One DropSpace server on a loopback port, with the sign-in throttle set high
enough never to apply. The script creates one account. Then it alternates
sign-ins with an unknown username and sign-ins with that account's username
and a wrong password, and times each from request to response. Both paths verify one
argon2id hash, so their medians should differ by far less than one hash.
"""

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

import aiohttp

from bench.measure import format_table
from bench.servers import ServerProcess

USERNAME = "timing-user"
PASSWORD = "the right password"  # noqa: S105 (a throwaway bench account)


async def _timed_sign_in(
    http: aiohttp.ClientSession, origin: str, username: str
) -> float:
    body = {"username": username, "password": "a wrong password"}
    started = time.perf_counter()
    async with http.post(
        f"{origin}/api/signin", json=body, headers={"Origin": origin}
    ) as response:
        await response.read()
        if response.status != 401:
            raise RuntimeError(f"sign-in returned {response.status}, expected 401")
    return time.perf_counter() - started


async def measure(work_dir: Path, attempts: int) -> dict[str, list[float]]:
    """Return the response times of both kinds of failed sign-in, in seconds."""
    settings = {"signin_free_failures": 10**6}
    timings: dict[str, list[float]] = {"unknown user": [], "wrong password": []}
    with ServerProcess("dropspace", work_dir / "server", settings) as server:
        origin = server.base_url
        async with aiohttp.ClientSession() as http:
            body = {"username": USERNAME, "password": PASSWORD}
            headers = {"Origin": origin}
            async with http.post(
                f"{origin}/api/signup", json=body, headers=headers
            ) as response:
                if response.status != 200:
                    raise RuntimeError(f"sign-up returned {response.status}")
            for attempt in range(attempts):
                unknown = f"nobody-{attempt}"
                timings["unknown user"].append(
                    await _timed_sign_in(http, origin, unknown)
                )
                timings["wrong password"].append(
                    await _timed_sign_in(http, origin, USERNAME)
                )
    return timings


def report(timings: dict[str, list[float]]) -> None:
    rows = []
    for kind, values in timings.items():
        ordered = sorted(values)
        rows.append(
            [
                kind,
                len(values),
                f"{statistics.median(values) * 1000:.1f}",
                f"{ordered[int(len(ordered) * 0.9) - 1] * 1000:.1f}",
                f"{min(values) * 1000:.1f}",
            ]
        )
    print(format_table(["case", "attempts", "median ms", "p90 ms", "min ms"], rows))
    medians = [statistics.median(values) for values in timings.values()]
    print(f"median difference: {abs(medians[0] - medians[1]) * 1000:.1f} ms")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--attempts", type=int, default=40)
    arguments = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="dropspace-signin-") as work:
        report(asyncio.run(measure(Path(work), arguments.attempts)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
