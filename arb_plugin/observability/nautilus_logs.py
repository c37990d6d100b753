"""
Route NautilusTrader's own log output into the :class:`LoggingManager` (once, not duplicated).

NautilusTrader logs through a Rust logger (Python, Cython and Rust components alike) that can write to
stdout and to one file; it has no callback. The router uses only its public ``LoggingConfig``:

- stdout is switched off (``log_level="OFF"``);
- the "file" is a named pipe (FIFO) the router reads, in JSON format; each line becomes one record in our
  pipeline with a category derived from the component, then goes to our four backends like any other;
- NautilusTrader also always writes ERROR lines to stderr, raw (only bypassing all of its logging stops
  that). :class:`NativeStderrFilter` takes file descriptor 2 for native code only: those raw copies are
  dropped (the routed copy is the one shown, redacted, where the policy has a console), anything else
  native code prints (a Rust panic) passes through redacted. Python's ``sys.stderr`` keeps writing to the
  real terminal, through the same redaction.

The pipe lives in a private temporary folder and is unlinked as soon as the kernel has opened it, so no raw
(unredacted) copy of the log is ever stored. On :meth:`NautilusLogRouter.close` the logger's end of the
pipe is pointed at an anonymous temporary file (``dup2``), so whatever NautilusTrader still writes until
the process exits (it syncs the file when its last ``LogGuard`` drops, which a pipe refuses) neither blocks
nor errors; where that is not possible (no ``/proc``) the reader keeps draining the pipe instead.
"""

from __future__ import annotations

import fcntl
import io
import os
import re
import select
import shutil
import stat
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import datetime
from functools import lru_cache
from typing import Any

import msgspec
from nautilus_trader.common.component import flush_logger
from nautilus_trader.common.component import is_logging_initialized
from nautilus_trader.config import LoggingConfig

from arb_plugin.observability.logging import SOURCE_NAUTILUS
from arb_plugin.observability.logging import LogCategory
from arb_plugin.observability.logging import LoggingManager
from arb_plugin.observability.logging import LogLevel

_RULES: tuple[tuple[str, LogCategory], ...] = (
    ("websocket", LogCategory.WEBSOCKET),
    ("nautilus_network", LogCategory.WEBSOCKET),
    ("guard", LogCategory.GUARD),
    ("risk", LogCategory.RISK),
    ("statebridge", LogCategory.SYNC),
    ("statestore", LogCategory.SYNC),
    ("cache", LogCategory.SYNC),
    ("metrics", LogCategory.METRICS),
    ("health", LogCategory.METRICS),
    ("portfolio", LogCategory.POSITION),
    ("position", LogCategory.POSITION),
    ("dataclient", LogCategory.EXCHANGE),
    ("execclient", LogCategory.EXCHANGE),
    ("executionclient", LogCategory.EXCHANGE),
    ("instrumentprovider", LogCategory.EXCHANGE),
    ("httpclient", LogCategory.EXCHANGE),
    ("nautilus_binance", LogCategory.EXCHANGE),
    ("execengine", LogCategory.TRADE),
    ("matchingengine", LogCategory.TRADE),
    ("orderemulator", LogCategory.TRADE),
    ("strategy", LogCategory.TRADE),
    ("dataengine", LogCategory.ENGINE),
    ("tradingnode", LogCategory.ENGINE),
    ("trader", LogCategory.ENGINE),
    ("controller", LogCategory.ENGINE),
    ("messagebus", LogCategory.ENGINE),
    ("kernel", LogCategory.ENGINE),
)


@lru_cache(maxsize=1024)
def nautilus_category(component: str) -> LogCategory:
    """
    The category of a NautilusTrader component's log line.

    ``BinanceWebSocketClient`` -> WEBSOCKET, ``RiskEngine`` -> RISK, ``BinanceSpotDataClient-BINANCE`` ->
    EXCHANGE, ``ExecEngine`` / ``OrderMatchingEngine(UPBIT)`` (paper fills) / ``ArbitrageStrategy-000`` ->
    TRADE, ``Portfolio`` -> POSITION, ``StateBridge`` / ``Cache`` -> SYNC, ``DataEngine`` / ``TradingNode`` ->
    ENGINE; anything else SYSTEM.
    """
    key = component.lower()
    for needle, category in _RULES:
        if needle in key:
            return category
    return LogCategory.SYSTEM


class NautilusLine(msgspec.Struct, frozen=True):
    """One line of NautilusTrader's JSON log format."""

    timestamp: str
    level: str
    component: str
    message: str
    trader_id: str = ""
    color: str = ""


def parse_timestamp_ns(text: str) -> int:
    """``2026-11-24T07:12:52.218025442Z`` -> UNIX nanoseconds (all nine digits kept)."""
    base, _, frac = text.rstrip("Z").partition(".")
    seconds = int(datetime.fromisoformat(base + "+00:00").timestamp())
    return seconds * 1_000_000_000 + int((frac or "0").ljust(9, "0")[:9])


_LEVELS = {"TRACE": LogLevel.DEBUG, "DEBUG": LogLevel.DEBUG, "INFO": LogLevel.INFO, "WARN": LogLevel.WARNING,
           "WARNING": LogLevel.WARNING, "ERROR": LogLevel.ERROR}


class NautilusLogRouter:
    """
    Read NautilusTrader's log through a named pipe and hand every line to a :class:`LoggingManager`.

    Use: ``config = router.logging_config()`` into ``TradingNodeConfig(logging=config)``; after the node
    is constructed call :meth:`attach`; at the end :meth:`close`.
    """

    FLUSH_INTERVAL_S = 0.2  # NautilusTrader buffers its file writer; ask it to flush this often

    def __init__(self, manager: LoggingManager) -> None:
        self._manager = manager
        self._dir: str | None = None
        self._fifo: str | None = None
        self._fd: int | None = None
        self._thread: threading.Thread | None = None
        self._closed = threading.Event()
        self._stop_reader = threading.Event()
        self._stderr = NativeStderrFilter(manager.redact)
        self._fifo_ino = -1
        self._routing = False
        self.lines = 0
        self.malformed = 0

    @property
    def routing(self) -> bool:
        """Whether NautilusTrader's output is being routed (false if its logging was set up earlier)."""
        return self._routing

    def logging_config(self) -> LoggingConfig:
        """
        The ``LoggingConfig`` for the node: stdout off, JSON "file" = our pipe, at the manager's level.

        When NautilusTrader's logging is already initialised in this process (it happens once per
        process), the node keeps that one and nothing is routed; a WARNING says so.
        """
        level = "DEBUG" if self._manager.min_level <= LogLevel.DEBUG else self._manager.min_level.name
        if is_logging_initialized():
            self._manager.log(
                LogLevel.WARNING, LogCategory.SYSTEM,
                "NautilusTrader logging was initialised earlier in this process; its output is not routed",
                "NautilusLogRouter",
            )
            return LoggingConfig(log_level=level)
        self._dir = tempfile.mkdtemp(prefix="arb-ntlog-")
        self._fifo = os.path.join(self._dir, "nautilus.jsonl")
        os.mkfifo(self._fifo, 0o600)
        # A reader must exist before NautilusTrader opens the pipe for writing, or its open would block.
        self._fd = os.open(self._fifo, os.O_RDONLY | os.O_NONBLOCK)
        self._fifo_ino = os.fstat(self._fd).st_ino
        self._thread = threading.Thread(target=self._run, name="arb-nautilus-log", daemon=True)
        self._thread.start()
        self._routing = True
        self._stderr.start()
        return LoggingConfig(
            log_level="OFF",
            log_level_file=level,
            log_directory=self._dir,
            log_file_name="nautilus",
            log_file_format="JSON",
            log_colors=False,
            fileout_sync_on_flush=False,
        )

    def attach(self) -> None:
        """After the kernel opened the pipe: remove its name from the file system (the pipe stays open)."""
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def close(self, drain_timeout: float = 2.0) -> None:
        """Flush NautilusTrader's logger, forward what is left, then stop forwarding (keep draining)."""
        if not self._routing:
            return
        flush_logger()
        deadline = time.monotonic() + drain_timeout
        seen = -1
        while time.monotonic() < deadline and seen != self.lines:
            seen = self.lines
            time.sleep(self.FLUSH_INTERVAL_S * 1.5)
        self._closed.set()
        self.attach()
        self._stderr.stop()
        if self._retarget_writer():
            self._stop_reader.set()

    def _retarget_writer(self) -> bool:
        """Point NautilusTrader's write end of the pipe at an anonymous temporary file; ``True`` if done."""
        try:
            fds = [int(name) for name in os.listdir("/proc/self/fd")]
        except OSError:
            return False
        done = False
        for fd in fds:
            if fd == self._fd:
                continue
            try:
                st = os.fstat(fd)
                writer = fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE == os.O_WRONLY
            except OSError:
                continue
            if stat.S_ISFIFO(st.st_mode) and st.st_ino == self._fifo_ino and writer:
                with tempfile.TemporaryFile() as sink:
                    os.dup2(sink.fileno(), fd)
                done = True
        return done

    # -- reader thread ------------------------------------------------------------------------------

    def _run(self) -> None:
        assert self._fd is not None
        fd = self._fd
        decoder = msgspec.json.Decoder(NautilusLine)
        pending = b""
        last_flush = time.monotonic()
        while not self._stop_reader.is_set():
            now = time.monotonic()
            if not self._closed.is_set() and now - last_flush >= self.FLUSH_INTERVAL_S:
                flush_logger()
                last_flush = now
            ready, _, _ = select.select([fd], [], [], self.FLUSH_INTERVAL_S)
            if not ready:
                continue
            try:
                chunk = os.read(fd, 1 << 16)
            except BlockingIOError:
                continue
            if not chunk:  # no writer (yet, or any more): wait
                time.sleep(0.05)
                continue
            if self._closed.is_set():
                continue  # after close: keep the pipe empty, forward nothing
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for raw in lines:
                if raw:
                    self._forward(decoder, raw)
        os.close(fd)

    def _forward(self, decoder: msgspec.json.Decoder[NautilusLine], raw: bytes) -> None:
        try:
            line = decoder.decode(raw)
            ts_ns = parse_timestamp_ns(line.timestamp)
        except (msgspec.DecodeError, ValueError):
            self.malformed += 1
            self._manager.log(
                LogLevel.WARNING, LogCategory.SYSTEM, raw.decode("utf-8", "replace")[:2000],
                "NautilusLogRouter", source=SOURCE_NAUTILUS,
            )
            return
        self.lines += 1
        self._manager.log(
            _LEVELS.get(line.level, LogLevel.INFO),
            nautilus_category(line.component),
            line.message,
            line.component,
            source=SOURCE_NAUTILUS,
            ts_ns=ts_ns,
        )


class _RedactingStream(io.TextIOBase):
    """A text stream that redacts what it writes to another one (``sys.stderr`` while filtering)."""

    def __init__(self, target: io.TextIOBase, redact: Callable[[str], str]) -> None:
        self._target = target
        self._redact = redact

    def write(self, text: str) -> int:
        self._target.write(self._redact(text))
        return len(text)

    def flush(self) -> None:
        self._target.flush()

    def fileno(self) -> int:
        return self._target.fileno()

    def isatty(self) -> bool:
        return self._target.isatty()


class NativeStderrFilter:
    """
    Own file descriptor 2 while NautilusTrader's log is routed (see the module docstring).

    Native writes to fd 2 arrive on a pipe: NautilusTrader's raw ERROR lines (and their continuation
    lines) are dropped, anything else is redacted and written to the real stderr. ``sys.stderr`` is pointed
    at the real stderr (a duplicate descriptor) through the same redaction.
    """

    NT_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z \[(ERROR|WARN|INFO|DEBUG|TRACE)\] ")
    OTHER = re.compile(r"^(thread '|Traceback |Fatal Python error|\w+Error: )")

    def __init__(self, redact: Callable[[str], str]) -> None:
        self._redact = redact
        self._real_fd: int | None = None
        self._read_fd: int | None = None
        self._thread: threading.Thread | None = None
        self._saved_stderr: Any = None
        self.dropped = 0

    def start(self) -> None:
        if self._real_fd is not None:
            return
        sys.stderr.flush()
        self._real_fd = os.dup(2)
        read_fd, write_fd = os.pipe()
        os.dup2(write_fd, 2)
        os.close(write_fd)
        self._read_fd = read_fd
        self._saved_stderr = sys.stderr
        real = open(self._real_fd, "w", buffering=1, closefd=False, encoding="utf-8", errors="replace")  # noqa: SIM115
        sys.stderr = _RedactingStream(real, self._redact)
        self._thread = threading.Thread(target=self._run, name="arb-native-stderr", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._real_fd is None:
            return
        sys.stderr.flush()
        os.dup2(self._real_fd, 2)  # closes the pipe's only write end: the reader sees EOF
        if self._thread is not None:
            self._thread.join(2.0)
        sys.stderr = self._saved_stderr
        os.close(self._real_fd)
        self._real_fd = None

    def _run(self) -> None:
        assert self._read_fd is not None and self._real_fd is not None
        pending = b""
        in_record = False
        while True:
            chunk = os.read(self._read_fd, 1 << 16)
            if not chunk:
                break
            pending += chunk
            *lines, pending = pending.split(b"\n")
            out: list[str] = []
            for raw in lines:
                line = raw.decode("utf-8", "replace")
                if self.NT_LINE.match(line):
                    in_record = True
                elif not in_record or self.OTHER.match(line):
                    in_record = False
                    out.append(self._redact(line) + "\n")
                    continue
                self.dropped += 1
            if out:
                os.write(self._real_fd, "".join(out).encode())
        if pending and not in_record:
            os.write(self._real_fd, self._redact(pending.decode("utf-8", "replace")).encode())
        os.close(self._read_fd)
