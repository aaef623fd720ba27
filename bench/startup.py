"""Start-up time of the `tracker` command, side by side with a bare interpreter.

Runs each command N times in a fresh process (wall clock, stdout discarded) and prints JSON: the
median and the spread per command, and each median's excess over `python -c pass`. The goal of
issue 13: `tracker --help` within 0.2 s of the bare interpreter.

    .venv/bin/python bench/startup.py            # 15 runs each
    .venv/bin/python bench/startup.py --runs 31
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

REPO = Path(__file__).resolve().parents[1]
TRACKER = Path(sys.executable).with_name("tracker")

COMMANDS: dict[str, list[str]] = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "python -c 'import tracker.cli'": [sys.executable, "-c", "import tracker.cli"],
    "tracker --help": [str(TRACKER), "--help"],
    "tracker query --list": [str(TRACKER), "query", "--list"],
}


def timed(argv: list[str], env: dict[str, str]) -> float:
    """Seconds one run of argv takes, from spawn to exit."""
    start = time.perf_counter()
    subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        # A clean environment: no .env of the caller, a DB path that is never opened.
        env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")}
        env["TRACKER_ENV_FILE"] = str(Path(folder) / "none.env")
        env["TRACKER_DB"] = str(Path(folder) / "tracker.duckdb")
        for argv in COMMANDS.values():  # warm the OS file cache and .pyc files once
            timed(argv, env)
        samples: dict[str, list[float]] = {name: [] for name in COMMANDS}
        for _ in range(args.runs):  # interleaved, so load on the machine hits all alike
            for name, argv in COMMANDS.items():
                samples[name].append(timed(argv, env))
    bare = statistics.median(samples["python -c pass"])
    result = {
        "runs": args.runs,
        "python": sys.version.split()[0],
        "commands": {
            name: {
                "median_s": round(statistics.median(times), 4),
                "min_s": round(min(times), 4),
                "max_s": round(max(times), 4),
                "over_bare_s": round(statistics.median(times) - bare, 4),
            }
            for name, times in samples.items()
        },
    }
    sys.stdout.write(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode() + "\n")


if __name__ == "__main__":
    main()
