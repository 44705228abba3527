"""A bounded, property-based run of schemathesis against the real Worker: the Worker is
started as the Python tests start it (``support.worker.WranglerDev``: fresh local D1 and
Durable Objects, free ports), or taken from ``EDGE_REALTIME_TEST_URL``; schemathesis reads
``docs/openapi.yaml``, sends every request with the API key, and checks that no answer is a
5xx (``not_a_server_error``), that every status is one the document lists for the
operation (``status_code_conformance``), and that every body matches the documented schema
(``response_schema_conformance``). Its phases (examples, coverage, fuzzing, stateful) send
schema-valid and schema-violating requests, so bad input must get a documented 4xx.

Run it with ``bash python/run-schemathesis.sh`` (which makes the venv and builds the Worker
first). The bound is a count, not a clock: ``EDGE_RT_ST_MAX_EXAMPLES`` (default 20) cases
per operation and phase, about 1,500 requests, ~35 s on 2 cores. ``EDGE_RT_ST_TIMEOUT_SECS``
(default 300) only guards against a hang: past it schemathesis is stopped and the run
fails. ``EDGE_RT_ST_SEED`` (default a fixed seed, so CI runs the same cases every time;
``random`` for a fresh one, printed at the end) reproduces a run. Arguments are
passed on to ``st run`` (e.g. ``--include-path-regex /api/orgs``). The JUnit report
(``junit.xml``) and schemathesis's replay cache go to ``target/schemathesis/``; replay a
failure from there (``cd target/schemathesis && ../../python/.venv/bin/st replay ID``).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from .worker import ROOT, WranglerDev, external

CHECKS = "not_a_server_error,status_code_conformance,response_schema_conformance"
DEFAULT_SEED = "20261201"
OUT = ROOT / "target" / "schemathesis"


def command(url: str, api_key: str, extra: list[str]) -> list[str]:
    st = Path(sys.executable).with_name("st")
    cmd = [
        str(st), "run", str(ROOT / "docs" / "openapi.yaml"),
        "--url", url,
        "--header", f"Authorization: Bearer {api_key}",
        "--checks", CHECKS,
        "--max-examples", os.environ.get("EDGE_RT_ST_MAX_EXAMPLES", "20"),
        "--workers", "1",
        "--generation-database", "none",
        "--request-timeout", "30",
        "--no-color",
        "--report", "junit",
        "--report-junit-path", str(OUT / "junit.xml"),
    ]
    seed = os.environ.get("EDGE_RT_ST_SEED", DEFAULT_SEED)
    if seed != "random":
        cmd += ["--seed", seed]
    return cmd + extra


def main(argv: list[str]) -> int:
    timeout = float(os.environ.get("EDGE_RT_ST_TIMEOUT_SECS", "300"))
    ready = external()
    dev = None if ready else WranglerDev()
    worker = ready or dev.start()  # type: ignore[union-attr]
    failed = True
    try:
        print(f"schemathesis against {worker.url} (docs/openapi.yaml; checks {CHECKS})", flush=True)
        try:
            # Its JUnit report and its replay cache (`st replay <id>`, run from there) stay
            # under target/, out of the work tree.
            OUT.mkdir(parents=True, exist_ok=True)
            rc = subprocess.run(command(worker.url, worker.api_key, argv), cwd=OUT, timeout=timeout).returncode
        except subprocess.TimeoutExpired:
            print(
                f"error: schemathesis did not finish within {timeout:.0f} s (EDGE_RT_ST_TIMEOUT_SECS); "
                "it hung, or lower EDGE_RT_ST_MAX_EXAMPLES",
                file=sys.stderr,
            )
            return 1
        failed = rc != 0
        return rc
    finally:
        if dev is not None:
            dev.stop(keep_log=failed)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
