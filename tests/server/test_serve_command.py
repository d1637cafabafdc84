"""``contextual-avatar serve``: a real process, settings from the environment, the open-server warning."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest

from contextual_avatar.errors import ConfigError
from contextual_avatar.server import ServerSettings
from contextual_avatar.server._cli import open_warning

KEY = "serve-test-key-0123456789"


def test_the_command_serves_with_keys_from_the_environment(tmp_path: Path):
    env = {
        **os.environ,
        "CONTEXTUAL_AVATAR_DATA_DIR": str(tmp_path / "data"),
        "CONTEXTUAL_AVATAR_SERVER__API_KEYS": KEY,
    }
    command = [sys.executable, "-m", "contextual_avatar.cli", "serve", "--port", "0"]
    proc = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    try:
        log, port = [], None
        for line in proc.stderr:
            log.append(line)
            if found := re.search(r"Uvicorn running on http://127\.0\.0\.1:(\d+)", line):
                port = int(found.group(1))
                break
        assert port is not None, "".join(log)
        threading.Thread(target=lambda: [None for _ in proc.stderr or ()], daemon=True).start()
        base = f"http://127.0.0.1:{port}"
        assert httpx.get(f"{base}/readyz").json() == {"ready": True}
        assert httpx.get(f"{base}/v1/models").status_code == 401
        models = httpx.get(f"{base}/v1/models", headers={"Authorization": f"Bearer {KEY}"})
        assert models.json()["data"][0]["id"] == "contextual-avatar"
        assert "WARNING" not in "".join(log)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_an_open_server_on_a_public_address_is_warned_about():
    assert open_warning(ServerSettings(host="127.0.0.1")) is None
    assert open_warning(ServerSettings(host="0.0.0.0", api_keys=[KEY])) is None
    warning = open_warning(ServerSettings(host="0.0.0.0"))
    assert warning is not None and "WITHOUT API KEYS" in warning


def test_settings_read_keys_from_the_environment(monkeypatch):
    monkeypatch.setenv("CONTEXTUAL_AVATAR_SERVER__API_KEYS", f"{KEY}, other-key-0123456789ab")
    assert [k.name.startswith("key-") for k in ServerSettings().api_keys] == [True, True]
    monkeypatch.setenv(
        "CONTEXTUAL_AVATAR_SERVER__API_KEYS",
        f'[{{"key": "{KEY}", "name": "tavus", "collections": ["museum"]}}]',
    )
    (key,) = ServerSettings().api_keys
    assert (key.name, key.collections) == ("tavus", ("museum",))
    assert KEY not in repr(ServerSettings())
    monkeypatch.setenv("CONTEXTUAL_AVATAR_SERVER__API_KEYS", "short")
    with pytest.raises(ConfigError, match="API_KEYS"):
        ServerSettings.from_env()
