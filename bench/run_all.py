"""Run every benchmark in turn; `make bench` calls this.

    .venv/bin/python -m bench.run_all [--size-mib 256] [--runs 3]

Each benchmark prints its table and writes bench/results/NAME.json.
"""

import argparse

from bench import expiry_latency, upload_browser, upload_python


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-mib", default="256", help="upload size in MiB")
    parser.add_argument("--runs", default="3", help="timed runs per method")
    arguments = parser.parse_args(argv)
    sizing = ["--size-mib", arguments.size_mib, "--runs", arguments.runs]

    status = upload_python.main(sizing)
    print()
    status |= upload_browser.main(sizing)
    print()
    status |= expiry_latency.main(["--runs", arguments.runs])
    return status


if __name__ == "__main__":
    raise SystemExit(main())
