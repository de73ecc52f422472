"""Ports for processes a test starts side by side: `free_ports` never hands one out twice
(a port closed after `free_port` may come back at once, and two processes then race for
it: the compose topology test lost a projections replica that way)."""

from __future__ import annotations

import socket

from laoke.natsserver import free_ports


def test_free_ports_are_distinct_and_free() -> None:
    ports = free_ports(64)
    assert len(set(ports)) == 64
    for port in ports:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", port))  # raises if it were taken
