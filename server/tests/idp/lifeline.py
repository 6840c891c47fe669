"""Keeps a test identity provider from outliving the test that started it (shared by
oidc_idp.py and saml_idp.py, which run with this folder on sys.path)."""

from __future__ import annotations

import os
import stat
import sys
import threading
import time
from typing import Callable


def _exit() -> None:
    os._exit(0)


def exit_with_parent(bye: Callable[[], None] = _exit) -> None:
    """Call `bye` (default: exit now) when stdin, a pipe from the spawning test, closes, or when
    the parent process dies."""
    parent = os.getppid()

    def watch_parent() -> None:
        while True:
            time.sleep(0.5)
            if os.getppid() != parent:
                bye()

    threading.Thread(target=watch_parent, daemon=True).start()
    try:
        mode = os.fstat(sys.stdin.fileno()).st_mode
        piped = stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)
    except (OSError, ValueError, AttributeError):
        piped = False
    if piped:

        def watch_stdin() -> None:
            try:
                while os.read(sys.stdin.fileno(), 4096):
                    pass
            except OSError:
                pass
            bye()

        threading.Thread(target=watch_stdin, daemon=True).start()
