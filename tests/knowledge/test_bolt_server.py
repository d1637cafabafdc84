from __future__ import annotations

from pathlib import Path

import pytest

from contextual_avatar.testing import BoltServer, BoltServerError, free_port


def test_free_port_is_bindable() -> None:
    import socket

    port = free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))


def test_short_password_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="8 characters"):
        BoltServer(tmp_path, password="short")


def test_uri_before_start_raises(tmp_path: Path) -> None:
    with pytest.raises(BoltServerError):
        _ = BoltServer(tmp_path).uri


def test_restart_keeps_the_port(own_bolt: BoltServer) -> None:
    port = own_bolt.bolt_port
    own_bolt.restart()
    assert own_bolt.running
    assert own_bolt.bolt_port == port
