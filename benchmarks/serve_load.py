"""Load test of ``faceattr serve`` over loopback: concurrent clients posting a face image.

    python benchmarks/serve_load.py [--clients 8] [--requests 500] [--model fast]

Starts the server in a subprocess (the bundled default model unless ``--model``, detection on),
then prints throughput, p50/p99 latency and the error count. Each client thread keeps one
connection.
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "face.jpg"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--requests", type=int, default=500)
    ap.add_argument("--workers", type=int, default=4, help="server decode/detect threads")
    ap.add_argument("--model", help="a bundled model by name, or a model file (default: the "
                    "default model)")
    args = ap.parse_args()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "faceattr", "serve", "--port", str(port),
                             "--workers", str(args.workers),
                             *(["--model", args.model] if args.model else [])],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            try:
                httpx.get(url + "/healthz")
                break
            except httpx.TransportError:
                time.sleep(0.2)
        data = EXAMPLE.read_bytes()
        local = threading.local()

        def one(_: int) -> tuple[float, bool]:
            # one keep-alive connection per client, as a real client holds it: building an
            # httpx.Client costs ~40 ms of CPU, which would load this 2-core machine more than
            # the server under test does
            c = getattr(local, "client", None) or httpx.Client(timeout=60)
            local.client = c
            t0 = time.perf_counter()
            try:
                r = c.post(url + "/v1/predict", files=[("files", ("face.jpg", data, "image/jpeg"))])
                ok = r.status_code == 200 and len(r.json()["results"][0]["faces"]) == 1
            except httpx.HTTPError:
                ok = False
            return time.perf_counter() - t0, ok

        one(0)
        t0 = time.perf_counter()
        with ThreadPoolExecutor(args.clients) as pool:
            results = list(pool.map(one, range(args.requests)))
        wall = time.perf_counter() - t0
        lat = np.array([r[0] for r in results]) * 1000
        errors = sum(not r[1] for r in results)
        health = httpx.get(url + "/healthz").status_code
        print(f"{args.requests} requests from {args.clients} concurrent clients, "
              f"{args.workers} inference threads, model {args.model or 'default'}")
        print(f"throughput {args.requests / wall:.1f} requests/s, latency p50 "
              f"{np.percentile(lat, 50):.1f} ms, p99 {np.percentile(lat, 99):.1f} ms, "
              f"errors {errors}, /healthz after: {health}")
    finally:
        proc.terminate()
        proc.wait(10)


if __name__ == "__main__":
    main()
