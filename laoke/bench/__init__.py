"""The benchmark: laoke measured against raw NATS, in one run, on this machine.

    python -m laoke.bench [--events 30000] [--customers 100000] [--store sqlite|postgres]
                          [--write docs/benchmarks.md]

It starts a fresh nats-server (127.0.0.1, temp dir) and each service as its own process
(`laoke serve NAME`), then measures:
  (a) raw JetStream publish rate of nats-py (publish_async, pipelined): the reference;
  (b) intake end to end: publish to DEALER_IN until recorded on RETENTION, and the ratio to (a);
  (c) projection lag while inbound events arrive at a steady 2,000 events/s;
  (d) rebuild rate from RETENTION, next to nats-py's raw ordered-consumer read of the stream;
  (e) read API latency p50/p99 (profile, timeline, work list, metrics, classes) at --customers
      customers, and the server's CPU per request (`--read-api`: this, (f)
      and (g) alone);
  (f) peak RSS of each service process (and nats-server);
  (g) the stores' size on disk, per service and per million events on RETENTION.
The store is SQLite, or with `--store postgres` a fresh database on LAOKE_POSTGRES_DSN's
server, dropped after the run (`stores`).
Nothing here is asserted: the numbers go to stdout (and to --write as Markdown).

The parts: `processes` (the server and the services' processes), `load` (what is
published), `measures` (each measurement), `runs` (the runs, in order), `report` (the
results and their Markdown), `stores` (the store and its size), `__main__` (the command line).
"""
