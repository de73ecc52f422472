"""`laoke`: run everything, or one service, and the ops commands.

laoke run [--demo]          embedded NATS (unless LAOKE_NATS_URL), every service, HTTP API
laoke serve NAME [--http]   one service in this process (for multi-process topologies)
laoke nats                  only the embedded NATS server
laoke keys create|list|revoke   API keys of the HTTP API (docs/security.md)
laoke dealerships add|list|remove   dealerships' NATS users, while NATS runs
laoke status [--json]       streams, consumer lag, dead letters by reason, leases
laoke dlq list|show|redrive     dead letters: read them, send them back (laoke/dlqcli.py)
laoke rebuild               rebuild the read models from RETENTION
laoke verify [--wait S]     check the read models and decisions against RETENTION
laoke sim ...               the dealership simulator (see docs/simulator.md)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import signal
import sys
from collections.abc import Sequence

import uvicorn

from laoke import tracing
from laoke.auth import KeyStore
from laoke.clock import ReplayClock, SystemClock
from laoke.dealerships import EMBEDDED, credentials_path, embedded_credentials, embedded_store
from laoke.http import build_http_app
from laoke.keyring import MASTER_KEY_FILE, MasterKeyError, master_key
from laoke.logs import configure as configure_logs
from laoke.natsauth import ADMIN, authorization_config, dealer_user, service_user
from laoke.natsserver import NatsServer
from laoke.registry import SERVICES, Service, ServiceEntry, entry
from laoke.service import nats_options
from laoke.settings import LaokeSettings
from laoke.streams import RETENTION

log = logging.getLogger("laoke")


def _stop_on_signals(stopping: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stopping.set)


async def start_embedded_nats(settings: LaokeSettings) -> NatsServer:
    """The embedded server, with the users of the data dir's credentials file (its users
    file is rewritten and reloaded by `laoke dealerships` while it runs)."""
    users = None
    if settings.nats_auth == "on":
        users = authorization_config(embedded_credentials(settings).passwords)
    server = NatsServer(
        embedded_store(settings),
        port=settings.nats_port,
        name=EMBEDDED,
        sync_interval=settings.nats_sync_interval,
        auth_config=users,
    )
    server.start()
    await server.wait_ready()
    return server


def demo_publisher(settings: LaokeSettings) -> str:
    """The demo dealership's own user, or the admin once `laoke dealerships remove` took it."""
    demo = dealer_user("demo-4s")
    if settings.nats_auth == "on" and demo not in embedded_credentials(settings).passwords:
        return ADMIN
    return demo


def as_nats_user(settings: LaokeSettings, user: str) -> LaokeSettings:
    """`settings` connecting as `user` of the embedded server (when it asks for users)."""
    if settings.nats_auth != "on":
        return settings
    password = embedded_credentials(settings).password(user)
    return settings.model_copy(update={"nats_user": user, "nats_password": password})


def as_ops(settings: LaokeSettings) -> LaokeSettings:
    """`settings` for an ops command: as the admin of the embedded server when it asks for
    users and none is set (its passwords are in the data dir once `laoke run` started)."""
    embedded = settings.nats_url is None and settings.nats_user is None
    created = credentials_path(settings).exists()
    return as_nats_user(settings, ADMIN) if embedded and created else settings


async def run(
    settings: LaokeSettings,
    names: Sequence[str] | None = None,
    *,
    http: bool = True,
    demo: bool = False,
    stopping: asyncio.Event | None = None,
) -> None:
    """Start NATS (if embedded), the services and the HTTP API; stop all on a signal."""
    stopping = stopping or asyncio.Event()
    _stop_on_signals(stopping)
    master_key(settings)  # generated into the data dir the first time; refused if malformed
    if settings.master_key is None:
        where = settings.data_dir / MASTER_KEY_FILE
        print(f"laoke: master key (LAOKE_MASTER_KEY) in {where}: keep a copy", flush=True)
    nats_server = None
    embedded = settings.nats_url is None
    if embedded:
        nats_server = await start_embedded_nats(settings)
        settings = settings.model_copy(update={"nats_url": nats_server.url})
    entries = [entry(n) for n in names] if names else list(SERVICES)
    traced = tracing.configure(settings)  # off unless an OTLP endpoint is set
    # The demo may play its year on a clock of its own (laoke/demo.py); the wall clock else.
    clock = ReplayClock() if demo else SystemClock()
    running: list[tuple[ServiceEntry, Service]] = []
    server: uvicorn.Server | None = None
    playing: asyncio.Task[None] | None = None
    try:
        for service_entry in entries:
            own = as_nats_user(settings, service_user(service_entry.name)) if embedded else settings
            service = service_entry.build(own, clock)
            await service.start()
            running.append((service_entry, service))
        print(f"laoke: NATS at {settings.nats_url} (data in {settings.data_dir})", flush=True)
        if embedded and settings.nats_auth == "on":
            where = credentials_path(settings)
            print(f"laoke: NATS users and passwords in {where} (docs/security.md)", flush=True)
        print(f"laoke: services {', '.join(e.name for e, _ in running)}", flush=True)
        if traced:
            print("laoke: tracing on: spans go to the OTLP endpoint (README)", flush=True)
        keys = KeyStore(settings) if settings.auth == "on" else None
        if demo and keys is not None:
            _, secret = keys.create(["demo-4s"], read=True, write=True, label="demo")
            print(f"laoke: demo API key (read+write demo-4s): {secret}", flush=True)
        if http:
            if keys is None:
                print("laoke: LAOKE_AUTH=off: the HTTP API asks for no key", flush=True)
            app = build_http_app(running, keys)
            config = uvicorn.Config(
                app,
                host=settings.http_host,
                port=settings.http_port,
                log_level="warning",
                lifespan="off",
            )
            server = await start_http(config)
            url = f"http://{settings.http_host}:{settings.http_port}"
            print(f"laoke: HTTP API at {url} (docs {url}/docs, metrics {url}/metrics)", flush=True)
        if demo:
            assert isinstance(clock, ReplayClock)
            played = load_demo(settings, [service for _, service in running], clock, embedded)
            playing = asyncio.create_task(played)
        print("laoke: running; Ctrl-C stops", flush=True)
        await stopping.wait()
    finally:
        if playing is not None:
            await _cancel(playing)
        if server is not None:
            await server.shutdown()
        for _, service in reversed(running):
            with contextlib.suppress(Exception):
                await service.stop()
        if nats_server is not None:
            nats_server.stop()
        if traced:
            tracing.shutdown()  # sends the spans still waiting
        print("laoke: stopped", flush=True)


async def _cancel(task: asyncio.Task[None]) -> None:
    """Cancel `task` and wait for it to end. Asked again until it ends: on Python 3.11,
    `asyncio.wait_for` (inside nats-py's requests, which the demo's polling makes many of)
    can swallow a cancellation that meets a reply, and Ctrl-C then waited for the whole demo."""
    while not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=0.5)
    with contextlib.suppress(asyncio.CancelledError, Exception):
        task.result()


async def start_http(config: uvicorn.Config) -> uvicorn.Server:
    """Start uvicorn without its own signal handling: `run` owns Ctrl-C and stops all."""
    config.load()
    server = uvicorn.Server(config)
    server.lifespan = config.lifespan_class(config)
    await server.startup()
    if server.should_exit:
        raise RuntimeError(f"HTTP API could not listen on {config.host}:{config.port}")
    return server


async def load_demo(
    settings: LaokeSettings, services: list[Service], clock: ReplayClock, embedded: bool
) -> None:
    """Publish the demo dealership (simulated) so the API has something to show. On a fresh
    system with every service in this process, its year is played through on `clock`
    (laoke/demo.py); else it is published at once, a history import."""
    import nats

    from laoke.demo import replay_demo
    from laoke.sim import DEMO_DEALERSHIP, demo_simulation, publish

    dealer = as_nats_user(settings, demo_publisher(settings)) if embedded else settings
    admin = as_nats_user(settings, ADMIN) if embedded else settings
    publisher = await nats.connect(**nats_options(dealer))  # type: ignore[arg-type]
    watcher = await nats.connect(**nats_options(admin))  # type: ignore[arg-type]
    try:
        simulation = demo_simulation()
        recorded = (await watcher.jetstream().stream_info(RETENTION)).state.last_seq
        every = {e.name for e in SERVICES} <= {s.name for s in services}
        if recorded == 0 and every:
            print(
                f"laoke: demo dealership '{DEMO_DEALERSHIP}': playing its year"
                f" ({simulation.start:%Y-%m-%d} to {simulation.end:%Y-%m-%d}) on a clock of"
                " its own; the API shows it as it goes",
                flush=True,
            )
            await replay_demo(
                services,
                clock,
                publisher.jetstream(),
                watcher.jetstream(),
                simulation.events,
                simulation.start,
            )
            return
        count = await publish(publisher.jetstream(), simulation.events)
        print(
            f"laoke: demo dealership '{DEMO_DEALERSHIP}' published ({count} events) as a history"
            f" import ({'RETENTION holds events already' if recorded else 'not every service'}"
            " runs here)",
            flush=True,
        )
    except Exception:
        log.exception("the demo dealership could not be loaded")
        raise
    finally:
        await publisher.close()
        await watcher.close()


async def nats_only(settings: LaokeSettings) -> None:
    stopping = asyncio.Event()
    _stop_on_signals(stopping)
    server = await start_embedded_nats(settings)
    print(f"laoke: NATS at {server.url}", flush=True)
    try:
        await stopping.wait()
    finally:
        server.stop()


def keys_command(settings: LaokeSettings, argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="laoke keys", description="API keys of the HTTP API")
    actions = parser.add_subparsers(dest="action", required=True)
    create = actions.add_parser("create", help="a new key; its secret is shown once")
    create.add_argument("--dealership", action="append", default=[], help="repeatable")
    create.add_argument("--write", action="store_true", help="may POST /v1/events")
    create.add_argument("--no-read", action="store_true", help="may not read")
    create.add_argument("--ops", action="store_true", help="audit across every dealership")
    create.add_argument(
        "--privacy", action="store_true", help="may export a person's data (docs/privacy.md)"
    )
    create.add_argument("--label", default="", help="who or what holds it")
    actions.add_parser("list", help="every key (never the secrets)")
    revoke = actions.add_parser("revoke", help="stop a key at once")
    revoke.add_argument("id")
    args = parser.parse_args(argv)
    store = KeyStore(settings)
    if args.action == "create":
        try:
            key, secret = store.create(
                args.dealership,
                read=not args.no_read,
                write=args.write,
                ops=args.ops,
                privacy=args.privacy,
                label=args.label,
            )
        except ValueError as exc:
            parser.error(str(exc))
        print(json.dumps(key.public(), ensure_ascii=False))
        print(f"secret (shown once, keep it safe): {secret}")
    elif args.action == "list":
        for key in store.list():
            print(json.dumps(key.public(), ensure_ascii=False))
    elif not store.revoke(args.id):
        print(f"no live key {args.id!r}", file=sys.stderr)
        return 1
    else:
        print(f"revoked {args.id}")
    return 0


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="laoke", description="老客 customer retention backend")
    commands = parser.add_subparsers(dest="command", required=True)
    run_cmd = commands.add_parser("run", help="NATS, every service and the HTTP API")
    run_cmd.add_argument("--demo", action="store_true", help="load the demo dealership")
    serve_cmd = commands.add_parser("serve", help="some services in this process")
    serve_cmd.add_argument("names", nargs="+", choices=[s.name for s in SERVICES])
    serve_cmd.add_argument("--no-http", action="store_true", help="serve no HTTP API")
    commands.add_parser("nats", help="only the embedded NATS server")
    commands.add_parser("keys", help="create, list, revoke API keys", add_help=False)
    commands.add_parser("dealerships", help="dealerships' NATS users", add_help=False)
    commands.add_parser("status", help="streams, lag, dead letters, leases", add_help=False)
    commands.add_parser("dlq", help="dead letters: list, show, redrive", add_help=False)
    commands.add_parser("rebuild", help="rebuild the read models from RETENTION", add_help=False)
    commands.add_parser("verify", help="check the system against RETENTION", add_help=False)
    commands.add_parser("sim", help="the dealership simulator", add_help=False)
    args, rest = parser.parse_known_args(argv)
    settings = LaokeSettings()
    configure_logs(settings)
    try:
        command(args, rest, settings)
    except MasterKeyError as error:  # found before anything was written: say why, and stop
        sys.exit(f"laoke: {error}")


def command(args: argparse.Namespace, rest: Sequence[str], settings: LaokeSettings) -> None:
    """Run the command `main` parsed (a wrong master key raises `MasterKeyError`)."""
    if args.command == "run":
        asyncio.run(run(settings, demo=args.demo))
    elif args.command == "serve":
        asyncio.run(run(settings, args.names, http=not args.no_http))
    elif args.command == "nats":
        asyncio.run(nats_only(settings))
    elif args.command == "keys":
        sys.exit(keys_command(settings, rest))
    elif args.command == "dealerships":
        from laoke.dealerships import main as dealerships_main

        sys.exit(dealerships_main(settings, rest))
    elif args.command == "status":
        from laoke.status import main as status_main

        sys.exit(status_main(as_ops(settings), rest))
    elif args.command == "dlq":
        from laoke.dlqcli import dlq_command

        sys.exit(dlq_command(as_ops(settings), rest))
    elif args.command == "rebuild":
        from services.projections.rebuild import main as rebuild_main

        sys.argv = ["laoke rebuild", *rest]
        rebuild_main()
    elif args.command == "verify":
        from services.projections.verify import main as verify_main

        sys.exit(verify_main(list(rest)))
    elif args.command == "sim":
        from laoke.sim.__main__ import main as sim_main

        sys.argv = ["laoke sim", *rest]
        sim_main()


if __name__ == "__main__":
    main()
