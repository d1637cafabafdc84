"""The warm process: `ask` answered by a real background process over its Unix socket."""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from contextual_avatar.cli import _warm, app
from contextual_avatar.cli._app import config_for

pytestmark = pytest.mark.slow
runner = CliRunner()
QUESTION = "How much does an adult ticket cost?"


@pytest.fixture(scope="module")
def warm_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A data folder holding the guide, with a warm process started for it."""
    data = tmp_path_factory.mktemp("warm") / "data"
    guide = Path(__file__).resolve().parent.parent / "examples" / "data" / "guide.pdf"
    out = runner.invoke(app, ["ingest", str(guide), "--data-dir", str(data)])
    assert out.exit_code == 0, out.output
    out = runner.invoke(app, ["warm", "--idle", "120", "--data-dir", str(data)])
    assert out.exit_code == 0, out.output
    assert "warm process started pid" in out.output
    yield data
    _warm.stop(data)


def test_ask_is_answered_by_the_warm_process_and_says_so(warm_dir: Path):
    out = runner.invoke(app, ["ask", QUESTION, "-v", "--data-dir", str(warm_dir)])
    assert out.exit_code == 0, out.output
    assert "9 euros" in out.output and "source: guide.pdf p. 2" in out.output
    info = _warm.ping(warm_dir)
    assert info is not None and info.pid != os.getpid()
    assert f"load: none here; warm process {info.pid}" in out.output
    assert "turn: " in out.output and "total" in out.output


def test_cold_ask_reports_the_load_apart_from_the_turn(warm_dir: Path):
    out = runner.invoke(app, ["ask", QUESTION, "-v", "--cold", "--data-dir", str(warm_dir)])
    assert out.exit_code == 0, out.output
    assert "9 euros" in out.output
    assert "load: engine " in out.output and "models and warm-up" in out.output


def test_follow_ups_across_commands_keep_their_session(warm_dir: Path):
    args = ["-v", "-s", "family", "--data-dir", str(warm_dir)]
    assert runner.invoke(app, ["ask", QUESTION, *args]).exit_code == 0
    out = runner.invoke(app, ["ask", "And for children?", *args])
    assert out.exit_code == 0, out.output
    assert "5 euros" in out.output and "cache hit" in out.output


def test_the_socket_is_for_its_owner_only(warm_dir: Path):
    path = _warm.socket_path(warm_dir)
    assert path.parent == warm_dir.resolve()
    mode = path.stat().st_mode
    assert stat.S_ISSOCK(mode) and stat.S_IMODE(mode) == 0o600


def test_another_data_folder_is_not_answered_by_it(warm_dir: Path, tmp_path: Path):
    other = tmp_path / "other"
    assert _warm.ping(other) is None
    out = runner.invoke(app, ["ask", QUESTION, "--data-dir", str(other)])
    assert out.exit_code == 1 and "is empty" in out.output


def test_other_settings_are_answered_cold_with_a_warning(warm_dir: Path):
    env = {"CONTEXTUAL_AVATAR_CACHE__CAPACITY": "3"}
    out = runner.invoke(app, ["ask", QUESTION, "-v", "--data-dir", str(warm_dir)], env=env)
    assert out.exit_code == 0, out.output
    assert "other CONTEXTUAL_AVATAR_* settings: answering cold" in out.output
    assert "load: engine " in out.output and "9 euros" in out.output


def test_a_file_ingested_by_another_process_is_seen_by_the_warm_process(
    warm_dir: Path, tmp_path: Path
):
    notes = tmp_path / "parking.txt"
    notes.write_text("Bicycle parking is behind the north gate of the museum.\n")
    out = runner.invoke(app, ["ingest", str(notes), "--data-dir", str(warm_dir)])
    assert out.exit_code == 0, out.output
    out = runner.invoke(
        app, ["ask", "Where is the bicycle parking?", "-v", "-s", "p", "--data-dir", str(warm_dir)]
    )
    assert out.exit_code == 0, out.output
    assert "north gate" in out.output and "source: parking.txt" in out.output
    assert "load: none here" in out.output


def test_warm_when_running_reports_it_and_starts_no_second(warm_dir: Path):
    before = _warm.ping(warm_dir)
    out = runner.invoke(app, ["warm", "--data-dir", str(warm_dir)])
    assert out.exit_code == 0, out.output
    assert before is not None and f"already running: pid {before.pid}" in out.output


def test_an_idle_warm_process_exits_and_ask_goes_cold(tmp_path: Path):
    data = tmp_path / "idle"
    info = _warm.start(config_for(data), idle_s=2.0)
    deadline = time.monotonic() + 30
    gone = False
    while not gone and time.monotonic() < deadline:
        time.sleep(0.2)
        gone = _warm.ping(data) is None and not _warm.socket_path(data).exists()
    assert gone, f"warm process {info.pid} still answers or left its socket"
    out = runner.invoke(app, ["ask", QUESTION, "--data-dir", str(data)])
    assert out.exit_code == 1 and "is empty" in out.output


def test_stop_without_a_process_says_so(tmp_path: Path):
    out = runner.invoke(app, ["warm", "--stop", "--data-dir", str(tmp_path / "none")])
    assert out.exit_code == 0 and "no warm process for" in out.output


def test_a_long_data_folder_gets_a_private_socket_elsewhere(tmp_path: Path):
    deep = tmp_path / ("x" * 60) / ("y" * 60)
    path = _warm.socket_path(deep)
    assert len(os.fsencode(path)) <= 100
    assert path.parent != deep.resolve()
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert _warm.socket_path(deep) == path  # stable per folder
    assert _warm.socket_path(tmp_path / ("x" * 60) / ("z" * 60)) != path


SYSTEM_PYTHON = Path("/usr/bin/python3")


@pytest.mark.skipif(
    os.geteuid() != 0 or not SYSTEM_PYTHON.exists(), reason="needs root to run another user"
)
def test_another_user_cannot_reach_the_warm_process(warm_dir: Path):
    import subprocess

    path = _warm.socket_path(warm_dir)
    client = (
        "import socket, sys\n"
        "s = socket.socket(socket.AF_UNIX)\n"
        "try:\n"
        "    s.connect(sys.argv[1])\n"
        "except PermissionError:\n"
        "    print('refused')\n"
        "else:\n"
        '    s.sendall(b\'{"op": "ping"}\\n\'); print(s.recv(4096))\n'
    )
    # Let the other user reach the socket's folder, so only the socket's own mode guards it.
    folders = [path.parent, *path.parent.parents]
    modes = {f: f.stat().st_mode for f in folders}
    try:
        for folder in folders:
            folder.chmod(modes[folder] | 0o001)
        done = subprocess.run(
            [str(SYSTEM_PYTHON), "-c", client, str(path)],
            user=65534,
            group=65534,
            capture_output=True,
            text=True,
            timeout=30,
        )
    finally:
        for folder, mode in modes.items():
            folder.chmod(mode)
    assert done.stdout.strip() == "refused", done.stdout + done.stderr
