"""Ports for processes a test starts side by side: `free_ports` never hands one out twice
(a port closed after `free_port` may come back at once, and two processes then race for
it: the compose topology test lost a projections replica that way), and a nats-server
whose picked port another process took first moves to another one."""

from __future__ import annotations

import socket
from pathlib import Path

import nats
import pytest

from laoke.natsserver import NatsServer, free_ports


def test_free_ports_are_distinct_and_free() -> None:
    ports = free_ports(64)
    assert len(set(ports)) == 64
    for port in ports:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", port))  # raises if it were taken


def _taken(port: int) -> socket.socket:
    """Another process's listener on `port`: it accepts connections too."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", port))
    sock.listen()
    return sock


async def test_a_server_whose_picked_port_was_taken_moves_to_another(tmp_path: Path) -> None:
    server = NatsServer(tmp_path / "nats")
    picked = server.port
    with _taken(picked):
        server.start()
        try:
            await server.wait_ready()
            nc = await nats.connect(server.url)
            assert nc.is_connected
            await nc.close()
        finally:
            server.stop()
    assert server.port != picked


async def test_a_server_given_a_taken_port_fails_rather_than_taking_its_holder_for_ready(
    tmp_path: Path,
) -> None:
    port = free_ports(1)[0]
    server = NatsServer(tmp_path / "nats", port=port)
    with _taken(port):
        server.start()
        try:
            with pytest.raises(RuntimeError, match="address already in use"):
                await server.wait_ready()
        finally:
            server.stop()
    assert server.port == port
