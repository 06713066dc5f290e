"""Wall time of one test module while recording against RabbitMQ vs replaying offline.

The module is the end-to-end one from tests/replay/test_record_replay.py: the seed's
oslo.messaging call/call/cast/fanout_cast and an aio-pika RPC exchange, with the remote
services (an oslo.messaging RPCServer and an aio-pika RPC server) in other processes.

- record: start RabbitMQ fresh, start the services, run the module with
  ``--amqp-record-mode=all`` (this is what a developer pays once);
- replay: RabbitMQ and the services stopped, run the module again (what CI pays).

    python bench/replay.py [--rounds 3] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from amqpmock.testing.rabbitmq import RabbitMQNode  # noqa: E402
from tests.replay.test_record_replay import CLIENT_TESTS, start_service  # noqa: E402


def run_pytest(workdir: Path, *args: str) -> float:
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=workdir,
        capture_output=True,
        text=True,
    )
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"pytest failed in {workdir}:\n{proc.stdout[-3000:]}")
    return elapsed


def one_round(workdir: Path) -> tuple[float, float, float]:
    started = time.perf_counter()
    with RabbitMQNode() as node:
        services = [
            start_service("oslo_rpc_server.py", node.url.replace("amqp://", "rabbit://"), workdir),
            start_service("aio_rpc_server.py", node.url, workdir),
        ]
        try:
            pytest_time = run_pytest(
                workdir, "--amqp-record-mode=all", f"--amqp-upstream={node.url}"
            )
        finally:
            for proc in services:
                proc.kill()
                proc.wait()
    record_total = time.perf_counter() - started
    replay = run_pytest(workdir)
    return record_total, pytest_time, replay


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        (workdir / "test_clients.py").write_text(CLIENT_TESTS)
        (workdir / "pytest.ini").write_text("[pytest]\namqp_cassette_dir = cassettes\n")
        rounds = [one_round(workdir) for _ in range(args.rounds)]
    record_total = statistics.median(r[0] for r in rounds)
    record_pytest = statistics.median(r[1] for r in rounds)
    replay = statistics.median(r[2] for r in rounds)
    print(f"record (RabbitMQ start + services + pytest): {record_total:6.2f} s")
    print(f"record (pytest run alone, broker up):        {record_pytest:6.2f} s")
    print(f"replay (offline, no broker, no services):    {replay:6.2f} s")
    print(f"replay is {record_total / replay:.1f}x faster than a recording run")
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    "rounds": rounds,
                    "record_total_s": record_total,
                    "record_pytest_s": record_pytest,
                    "replay_s": replay,
                },
                indent=2,
            )
        )


if __name__ == "__main__":
    main()
