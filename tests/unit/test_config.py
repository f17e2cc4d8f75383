"""Settings: spare ports stay out of the kernel's ephemeral range and are not handed out twice."""

from __future__ import annotations

import socket

from hotline import config


def test_a_taken_preferred_port_gives_a_spare_one_below_the_ephemeral_range() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        busy = taken.getsockname()[1]
        taken.listen()
        port = config.free_port(busy)
    assert port != busy
    assert config._SPARE_LOW <= port < config._ephemeral_low()


def test_a_free_preferred_port_is_kept() -> None:
    port = config.free_port()
    assert config.free_port(port) == port


def test_spare_ports_are_distinct_and_free_for_tcp_and_udp() -> None:
    ports = [config.free_port(kind=socket.SOCK_DGRAM) for _ in range(50)]
    assert len(set(ports)) == 50
    for port in ports[:5]:
        for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
            with socket.socket(socket.AF_INET, kind) as s:
                s.bind(("127.0.0.1", port))


def test_a_port_held_by_another_socket_is_skipped() -> None:
    first = config.free_port()
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", first + 1))  # the next one in the walk, taken meanwhile
        second = config.free_port()
    assert second != first + 1
