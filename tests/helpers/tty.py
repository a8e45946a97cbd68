"""Run a command with stdout and/or stderr on a pseudo-terminal, as a user at a terminal would see it."""

from __future__ import annotations

import os
import pty
import subprocess


def run_on_tty(args: list[str], *, env: dict, cwd, stdout_tty: bool = True, stderr_tty: bool = True,
               timeout: float = 120) -> tuple[int, str]:
    """(exit code, what the terminal received); the stream not on the terminal is discarded."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=slave if stdout_tty else subprocess.DEVNULL,
                            stderr=slave if stderr_tty else subprocess.DEVNULL, cwd=cwd, env=env)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 4096)
        except OSError:  # EIO: the other end closed
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    return proc.wait(timeout), b"".join(chunks).decode().replace("\r\n", "\n")
