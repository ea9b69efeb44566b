#!/usr/bin/env python3
"""End-to-end simulation latency over HTTP against the local runner (embedded store, sample catalog).

    cargo build --release -p local && tests/bench/simulation_http.py [--bin target/release/connector-local]

Prints p50 / p99 for a 2-item and a 100-item checkout. VTEX's budget is 2.5 s; the template alarms
at a p99 over 1.5 s. Numbers on a shared machine are noisy: compare runs on the same machine.
"""
import argparse, json, os, socket, statistics, subprocess, tempfile, time, urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def measure(url, body, n):
    data = json.dumps(body).encode()
    lat = []
    for _ in range(n):
        t = time.perf_counter()
        req = urllib.request.Request(url, data=data, headers={"content-type": "application/json"})
        with urllib.request.urlopen(req) as r:
            r.read()
        lat.append((time.perf_counter() - t) * 1000)
    lat.sort()
    return statistics.median(lat), lat[max(0, int(len(lat) * 0.99) - 1)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(ROOT, "target/release/connector-local"))
    ap.add_argument("-n", type=int, default=500)
    args = ap.parse_args()
    port = free_port()
    data = tempfile.mkdtemp()
    env = dict(os.environ, PORT=str(port), STANDIN_PORT=str(free_port()),
               CONNECTOR_DATA=os.path.join(data, "bench.db"), RUST_LOG="warn")
    proc = subprocess.Popen([args.bin], env=env, cwd=ROOT)
    url = f"http://127.0.0.1:{port}/pvt/orderForms/simulation"
    try:
        for _ in range(100):
            try:
                measure(url, {"items": [{"id": "2000037", "quantity": 1, "seller": "1"}]}, 1)
                break
            except OSError:
                time.sleep(0.1)
        ids = [s["id"] for s in json.load(open(os.path.join(ROOT, "shared/sample/catalog.json")))["skus"]]
        small = {"items": [{"id": "2000037", "quantity": 1, "seller": "1"},
                           {"id": "34562", "quantity": 2, "seller": "1"}],
                 "postalCode": "22051-030", "country": "BRA"}
        big = {"items": [{"id": ids[i % len(ids)], "quantity": 1, "seller": "1"} for i in range(100)],
               "postalCode": "22051-030", "country": "BRA"}
        print("2-item checkout:   p50 %.1f ms  p99 %.1f ms" % measure(url, small, args.n))
        print("100-item checkout: p50 %.1f ms  p99 %.1f ms" % measure(url, big, args.n // 2))
    finally:
        proc.terminate()
        proc.wait()


if __name__ == "__main__":
    main()
