"""`make soak SEEDS=1-20 [STORE=postgres]`: the fault suite on many seeds in a row, one table.

Each seed is a separate pytest run (`LAOKE_FAULT_SEED=<n> pytest -m fault tests/fault`): other
inputs, other kill points. The table shows, per seed, the result, the time and the figures
the fault tests print; a failing seed's first assertion line follows the table, ready to be
re-run alone. Exits non-zero when any seed failed.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def parse_seeds(spec: str) -> list[int]:
    """'1-20', '8', '1,4,9-12'."""
    seeds: list[int] = []
    for part in spec.split(","):
        low, _, high = part.strip().partition("-")
        seeds.extend(range(int(low), int(high or low) + 1))
    return seeds


def run_seed(seed: int, extra: list[str]) -> tuple[bool, float, str, str]:
    env = os.environ | {"LAOKE_FAULT_SEED": str(seed)}
    started = time.monotonic()
    command = [sys.executable, "-m", "pytest", "-m", "fault", "tests/fault", "-q", "-s", *extra]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    seconds = time.monotonic() - started
    found = re.findall(r"^fault \((.+?)\): (.+)$", done.stdout, re.M)
    figures = "; ".join(f"{where}: {line}" for where, line in found)
    failure = next((line for line in done.stdout.splitlines() if line.startswith("E ")), "")
    return done.returncode == 0, seconds, figures, failure


def main(argv: list[str]) -> int:
    seeds = parse_seeds(argv[1] if len(argv) > 1 else "1-20")
    extra = argv[2:]
    store = "postgres" if os.environ.get("LAOKE_TEST_POSTGRES_DSN") else "sqlite"
    print(f"fault suite, store {store}, seeds {seeds[0]}..{seeds[-1]} ({len(seeds)})")
    print("| seed | result | seconds | figures |")
    print("|---:|---|---:|---|")
    failures: list[tuple[int, str]] = []
    for seed in seeds:
        passed, seconds, figures, failure = run_seed(seed, extra)
        result = "pass" if passed else "FAIL"
        print(f"| {seed} | {result} | {seconds:.0f} | {figures} |", flush=True)
        if not passed:
            failures.append((seed, failure))
    print(f"{len(seeds) - len(failures)} of {len(seeds)} seeds passed")
    rerun = "make test-sqlite ARGS='-m fault tests/fault'"
    if store == "postgres":
        rerun = f"bash scripts/with-postgres {rerun}"
    for seed, failure in failures:
        print(f"seed {seed}: {failure[:400]}  (re-run: LAOKE_FAULT_SEED={seed} {rerun})")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
