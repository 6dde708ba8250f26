#!/usr/bin/env bash
# GET /health latency with and without many idle connections held open.
#
# Starts `mooring serve` on its embedded defaults in a temporary directory
# (only the ports moved to free ones), times REQUESTS sequential GET /health
# on a fresh kept-alive connection and REQUESTS each on a new connection,
# then opens IDLE connections that send nothing and times the same again
# while they are held; prints p50/p99 of each, the server's open-files
# limit and descriptors in use, and how many idle connections the server
# had closed by the end and after its header read timeout. Every connection
# is to 127.0.0.1 and is closed on exit, as is the server.
#
#   cargo build --release -p mooring
#   scripts/bench-idle.sh                  # IDLE=5000 REQUESTS=200
#   MOORING_BIN=/path/to/mooring IDLE=2000 scripts/bench-idle.sh
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
bin=${MOORING_BIN:-$root/target/release/mooring}
idle=${IDLE:-5000}
requests=${REQUESTS:-200}
[ -x "$bin" ] || { echo "no binary at $bin: cargo build --release -p mooring" >&2; exit 1; }

dir=$(mktemp -d)
pid=
cleanup() {
    if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
    rm -rf "$dir"
}
trap cleanup EXIT

# Started with the usual distribution soft limit, 1024 (or the hard limit
# if lower), to see the server raise it.
soft=$(ulimit -Hn); [ "$soft" = unlimited ] || [ "$soft" -gt 1024 ] && soft=1024
(ulimit -Sn "$soft" && cd "$dir" && MOORING_HTTP__BIND=127.0.0.1:0 \
    MOORING_METRICS__BIND=127.0.0.1:0 MOORING_ADMIN__BIND=127.0.0.1:0 \
    exec "$bin" serve >"$dir/out" 2>"$dir/err") &
pid=$!
for _ in $(seq 100); do
    grep -q '^  database' "$dir/out" 2>/dev/null && break
    kill -0 "$pid" 2>/dev/null || { cat "$dir/err" >&2; exit 1; }
    sleep 0.1
done
port=$(grep -o 'listening on http://127.0.0.1:[0-9]*' "$dir/out" | grep -o '[0-9]*$')
echo "server pid $pid on 127.0.0.1:$port"
echo "started with a soft open-files limit of $soft; the server logged:"
sed 's/\x1b\[[0-9;]*m//g' "$dir/err" | grep 'open-files limit' | head -1 || true
grep 'Max open files' "/proc/$pid/limits"

python3 - "$port" "$idle" "$requests" "$pid" <<'PY'
import os, resource, select, socket, sys, time

port, idle, requests, pid = (int(a) for a in sys.argv[1:])
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
REQ = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"

def connect():
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s

def ask(s):
    s.sendall(REQ)
    got = b""
    while b"\r\n\r\n" not in got:
        chunk = s.recv(4096)
        if not chunk:
            raise RuntimeError("closed: %r" % got)
        got += chunk
    head, body = got.split(b"\r\n\r\n", 1)
    length = next(int(l.split(b":")[1]) for l in head.lower().split(b"\r\n")
                  if l.startswith(b"content-length:"))
    while len(body) < length:
        body += s.recv(4096)
    if not head.startswith(b"HTTP/1.1 200"):
        raise RuntimeError(head.decode())

def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))] * 1000

def measure(label):
    s = connect()
    kept = []
    for _ in range(requests):
        t = time.perf_counter(); ask(s); kept.append(time.perf_counter() - t)
    s.close()
    fresh = []
    for _ in range(requests):
        t = time.perf_counter()
        s = connect(); ask(s); s.close()
        fresh.append(time.perf_counter() - t)
    print("%-22s one kept-alive connection: p50 %.3f ms  p99 %.3f ms | new connection each: p50 %.3f ms  p99 %.3f ms"
          % (label, pct(kept, 50), pct(kept, 99), pct(fresh, 50), pct(fresh, 99)))

def fds():
    return len(os.listdir("/proc/%d/fd" % pid))

def closed(socks):
    # Readable with nothing sent: the server closed it (EOF).
    p = select.poll()
    for s in socks:
        p.register(s, select.POLLIN)
    return len(p.poll(0))

print("server descriptors before: %d" % fds())
measure("no idle connections:")
t = time.perf_counter()
held = [connect() for _ in range(idle)]
opened = time.perf_counter() - t
time.sleep(0.5)
print("opened %d idle connections in %.2f s; server descriptors: %d" % (idle, opened, fds()))
t = time.perf_counter()
measure("%d idle held:" % idle)
print("measured in %.2f s; idle connections the server had closed by then: %d"
      % (time.perf_counter() - t, closed(held)))
time.sleep(11)
print("after 11 s more (header_read_timeout_secs = 10): closed by the server %d of %d; server descriptors: %d"
      % (closed(held), idle, fds()))
for s in held:
    s.close()
measure("after closing them:")
PY
