"""Process readings from /proc, run statistics, result tables and JSON files."""

import json
import os
import platform
import resource
import statistics
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

MIB = 1024 * 1024
GIB = 1024 * MIB
RESULTS_DIR = Path(__file__).parent / "results"
_CLOCK_TICKS_PER_S = os.sysconf("SC_CLK_TCK")
# Before each run: wait up to QUIET_WAIT_S for a QUIET_WINDOW_S window in
# which the whole machine kept fewer than QUIET_BUSY_CORES cores busy.
QUIET_WAIT_S = 60.0
QUIET_WINDOW_S = 2.0
QUIET_BUSY_CORES = 0.3


def cpu_seconds(pid: int) -> float:
    """Return the user plus system CPU time of a process, all threads included."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    # The command name in parentheses may contain spaces, so split after the ')'.
    fields = stat.rsplit(")", 1)[1].split()
    user_ticks, system_ticks = int(fields[11]), int(fields[12])
    return (user_ticks + system_ticks) / _CLOCK_TICKS_PER_S


def peak_rss_bytes(pid: int) -> int:
    """Return a process's peak resident set size (VmHWM)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"/proc/{pid}/status has no VmHWM line")


def reset_peak_rss(pid: int) -> bool:
    """Reset a process's VmHWM to its current RSS, or return False if not permitted."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def machine_busy_seconds() -> float:
    """Return the CPU seconds all cores spent busy since boot (not idle or iowait)."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, fields[:8])
    return (user + nice + system + irq + softirq + steal) / _CLOCK_TICKS_PER_S


def own_cpu_seconds() -> float:
    """Return this process's CPU time plus that of its children already reaped."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def wait_until_quiet() -> float:
    """Wait at most QUIET_WAIT_S for a nearly idle machine and return the wait.

    Other programs on the machine (test suites, builds) take CPU from the
    server and the client, so a run that starts in their burst measures them.
    """
    started = time.monotonic()
    while time.monotonic() - started < QUIET_WAIT_S:
        before = machine_busy_seconds()
        time.sleep(QUIET_WINDOW_S)
        busy_cores = (machine_busy_seconds() - before) / QUIET_WINDOW_S
        if busy_cores < QUIET_BUSY_CORES:
            break
    return time.monotonic() - started


@dataclass
class Reading:
    """Readings of one run: wall and CPU seconds, and the server's peak RSS."""

    wall_s: float
    server_cpu_s: float
    client_cpu_s: float
    machine_busy_s: float
    server_peak_rss_bytes: int
    quiet_wait_s: float

    @property
    def other_load_cores(self) -> float:
        """Cores that programs other than the server and client kept busy."""
        others = self.machine_busy_s - self.server_cpu_s - self.client_cpu_s
        return max(0.0, others) / self.wall_s


class RunMeter:
    """Reads a server's and a client's CPU time and the machine's around a run."""

    def __init__(self, server_pid: int, client_cpu: Callable[[], float]) -> None:
        self.server_pid = server_pid
        self.client_cpu = client_cpu
        self._start: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
        self._quiet_wait_s = 0.0

    def wait_quiet(self) -> None:
        """Flush earlier runs' writes to disk, then wait for a quiet machine.

        Without the flush, the kernel may write back the files of earlier
        runs during this one, which can delay its fdatasync calls.
        """
        os.sync()
        self._quiet_wait_s = wait_until_quiet()

    def start(self) -> None:
        """Take the first readings and reset the server's peak RSS."""
        reset_peak_rss(self.server_pid)
        self._start = (
            time.perf_counter(),
            cpu_seconds(self.server_pid),
            self.client_cpu(),
            machine_busy_seconds(),
        )

    def stop(self) -> Reading:
        wall, server, client, busy = self._start
        return Reading(
            wall_s=time.perf_counter() - wall,
            server_cpu_s=cpu_seconds(self.server_pid) - server,
            client_cpu_s=self.client_cpu() - client,
            machine_busy_s=machine_busy_seconds() - busy,
            server_peak_rss_bytes=peak_rss_bytes(self.server_pid),
            quiet_wait_s=self._quiet_wait_s,
        )


@dataclass
class Run:
    """One measured transfer: its bytes, its time and the meter's reading."""

    size_bytes: int
    seconds: float
    reading: Reading

    @property
    def mb_per_s(self) -> float:
        return self.size_bytes / self.seconds / 1e6

    @property
    def cpu_s_per_gib(self) -> float:
        return self.reading.server_cpu_s / (self.size_bytes / GIB)

    @property
    def client_cpu_s_per_gib(self) -> float:
        return self.reading.client_cpu_s / (self.size_bytes / GIB)

    def as_dict(self) -> dict[str, Any]:
        return {
            "size_bytes": self.size_bytes,
            "seconds": self.seconds,
            "mb_per_s": self.mb_per_s,
            "server_cpu_s_per_gib": self.cpu_s_per_gib,
            "client_cpu_s_per_gib": self.client_cpu_s_per_gib,
            "other_load_cores": self.reading.other_load_cores,
            **asdict(self.reading),
        }


def summarize(name: str, runs: Sequence[Run]) -> dict[str, Any]:
    """Return the medians of a method's runs and its highest peak RSS."""
    return {
        "method": name,
        "runs": [run.as_dict() for run in runs],
        "median_mb_per_s": statistics.median(run.mb_per_s for run in runs),
        "median_seconds": statistics.median(run.seconds for run in runs),
        "median_server_cpu_s_per_gib": statistics.median(
            run.cpu_s_per_gib for run in runs
        ),
        "median_client_cpu_s_per_gib": statistics.median(
            run.client_cpu_s_per_gib for run in runs
        ),
        "max_server_peak_rss_bytes": max(
            run.reading.server_peak_rss_bytes for run in runs
        ),
        "max_other_load_cores": max(run.reading.other_load_cores for run in runs),
    }


def format_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Return rows as a Markdown table with columns padded to their width."""
    cells = [[str(item) for item in row] for row in [headers, *rows]]
    widths = [max(len(row[index]) for row in cells) for index in range(len(headers))]
    lines = [_table_line(row, widths) for row in cells]
    lines.insert(1, _table_line(["-" * width for width in widths], widths))
    return "\n".join(lines)


def _table_line(cells: Sequence[str], widths: Sequence[int]) -> str:
    padded = [cell.ljust(width) for cell, width in zip(cells, widths, strict=True)]
    return "| " + " | ".join(padded) + " |"


def throughput_table(summaries: Sequence[dict[str, Any]]) -> str:
    """Return the usual table of a transfer benchmark's summaries."""
    rows = []
    for summary in summaries:
        runs = ", ".join(f"{run['mb_per_s']:.0f}" for run in summary["runs"])
        rows.append(
            [
                summary["method"],
                f"{summary['median_mb_per_s']:.0f}",
                runs,
                f"{summary['median_server_cpu_s_per_gib']:.2f}",
                f"{summary['median_client_cpu_s_per_gib']:.2f}",
                f"{summary['max_server_peak_rss_bytes'] / MIB:.0f}",
                f"{summary['max_other_load_cores']:.2f}",
            ]
        )
    headers = [
        "method",
        "median MB/s",
        "runs MB/s",
        "server CPU s/GiB",
        "client CPU s/GiB",
        "server peak RSS MiB",
        "other load, cores",
    ]
    return format_table(headers, rows)


def machine() -> dict[str, Any]:
    """Describe the machine the numbers came from."""
    return {
        "nproc": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "memory_bytes": os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"),
        "python": platform.python_version(),
        "kernel": platform.release(),
        "chromium": _chromium_version(),
    }


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown"


def _chromium_version() -> str | None:
    try:
        completed = subprocess.run(
            ["/usr/bin/chromium", "--version"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return completed.stdout.strip() or None


def code_state() -> dict[str, Any]:
    """Name the commit measured and the files of server/ and web/ changed since."""
    repo = RESULTS_DIR.parent.parent
    try:
        commit = _git(repo, "rev-parse", "HEAD").strip()
        changed = _git(repo, "status", "--porcelain", "--", "server", "web")
    except (OSError, subprocess.CalledProcessError):
        return {"commit": None, "uncommitted": None}
    return {"commit": commit, "uncommitted": changed.splitlines()}


def _git(repo: Path, *arguments: str) -> str:
    completed = subprocess.run(
        ["git", *arguments],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return completed.stdout


def write_results(name: str, payload: dict[str, Any]) -> Path:
    """Write a benchmark's results to bench/results/NAME.json and return the path."""
    RESULTS_DIR.mkdir(exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    record = {"machine": machine(), "code": code_state(), **payload}
    path.write_text(json.dumps(record, indent=2) + "\n")
    return path


def judge(
    summaries: list[dict[str, Any]],
    is_judged: Callable[[str], bool],
    target_ratio: float,
) -> None:
    """Give each summary its ratios to the two ceilings, and judged ones a verdict.

    The first summary is the ceiling, and the second is the same client
    against the verifying sink.
    """
    ceiling = summaries[0]["median_mb_per_s"]
    verifying = summaries[1]["median_mb_per_s"]
    for summary in summaries:
        summary["ratio_to_ceiling"] = summary["median_mb_per_s"] / ceiling
        summary["ratio_to_verifying_sink"] = summary["median_mb_per_s"] / verifying
        if is_judged(summary["method"]):
            summary["meets_target"] = summary["ratio_to_ceiling"] >= target_ratio


def report(
    summaries: list[dict[str, Any]], title: str, ceiling: str, target_ratio: float
) -> None:
    """Print the table and a verdict line for each judged summary."""
    print(title)
    print(throughput_table(summaries))
    for summary in summaries:
        verdict = summary.get("meets_target")
        if verdict is None:
            continue
        print(
            f"{summary['method']}: {summary['ratio_to_ceiling']:.2f} x {ceiling}, "
            f"target {target_ratio} {'met' if verdict else 'not met'}; "
            f"{summary['ratio_to_verifying_sink']:.2f} x the verifying sink"
        )
