"""The run lock, beside a SQLite file or in the PostgreSQL state: one run per connection at a time,
released at the end of the run and by the holder's death."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from connector.config import Settings
from connector.sync.lock import LockedError, run_lock_for
from tests.postgres_server import PASSWORD

HOLD = """
import time
from connector.config import load_settings
from connector.sync.lock import run_lock_for
with run_lock_for(load_settings(None), "emea"):
    print("locked", flush=True)
    time.sleep(120)
"""


def test_a_second_run_of_the_same_connection_is_refused_and_says_who_holds_it(settings: Settings) -> None:
    with run_lock_for(settings, "emea"):
        with pytest.raises(LockedError) as refused, run_lock_for(settings, "emea"):
            pytest.fail("two runs of one connection held the lock together")
        with run_lock_for(settings, "us"):  # another connection runs alongside
            pass
    message = str(refused.value)
    assert message.startswith(f"another tiersync run holds the lock for 'emea' (pid {os.getpid()}")
    assert PASSWORD not in message
    with run_lock_for(settings, "emea"):  # released at the end of the run
        pass


def test_a_killed_holder_releases_the_lock(settings: Settings) -> None:
    env = {**os.environ, "TIERSYNC_STATE_PATH": str(settings.state_path)}
    env.pop("TIERSYNC_CONFIG", None)
    if settings.state_url is not None:
        env["TIERSYNC_STATE_URL"] = settings.state_url.get_secret_value()
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "locked", holder.stderr.read() if holder.stderr else ""
        with (
            pytest.raises(LockedError, match=rf"for 'emea' \(pid {holder.pid} "),
            run_lock_for(settings, "emea"),
        ):
            pass
    finally:
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait()
    deadline = time.monotonic() + 15
    while True:  # the kernel or the server notices the death at once; allow it a moment
        try:
            with run_lock_for(settings, "emea"):
                break
        except LockedError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
