"""Textual's Linux driver with an input thread that sleeps until there is something to read.

Textual's input thread wakes ten times a second to look at its exit flag and its
escape-key timer, key or no key: on this machine that was 0.19 % of a core, as
much as the cockpit's whole idle screen was meant to cost beside htop. This one
waits on the terminal and on a pipe written when input is to stop, with a
timeout only while the parser holds a lone ESC (or the start of a sequence) that
becomes a key when nothing follows.
"""

from __future__ import annotations

import os
import selectors
import threading
from codecs import getincrementaldecoder
from typing import Any

from textual._parser import ParseError
from textual._time import get_time
from textual._xterm_parser import XTermParser
from textual.drivers.linux_driver import LinuxDriver


class _WakingEvent(threading.Event):
    """The driver's exit flag: setting it also wakes the input thread out of its wait."""

    def __init__(self, wake: int) -> None:
        super().__init__()
        self._wake = wake

    def set(self) -> None:
        super().set()
        os.write(self._wake, b"x")


class QuietLinuxDriver(LinuxDriver):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._woken, self._wake = os.pipe()
        os.set_blocking(self._woken, False)
        self.exit_event = _WakingEvent(self._wake)

    def run_input_thread(self) -> None:
        """Wait for input and dispatch events, waking only for input, a pending ESC, or the exit flag."""
        selector = selectors.SelectSelector()
        selector.register(self.fileno, selectors.EVENT_READ)
        selector.register(self._woken, selectors.EVENT_READ)
        parser = XTermParser(self._debug)
        decode = getincrementaldecoder("utf-8")().decode
        try:
            while not self.exit_event.is_set():
                due = parser._timeout_time
                ready = selector.select(None if due is None else max(0.0, due - get_time()))
                for key, _mask in ready:
                    if key.fd == self._woken:
                        self._drain()
                        continue
                    data = decode(os.read(self.fileno, 1024 * 4))
                    if not data:  # the terminal is gone (a closed pipe reads empty at once, forever)
                        selector.unregister(self.fileno)
                        continue
                    for event in parser.feed(data):
                        self.process_message(event)
                for event in parser.tick():
                    self.process_message(event)
        finally:
            selector.close()
            self._drain()
            try:
                for _event in parser.feed(""):
                    pass
            except (EOFError, ParseError):
                pass

    def _drain(self) -> None:
        try:
            while os.read(self._woken, 64):
                pass
        except BlockingIOError:
            pass

    def close(self) -> None:
        super().close()
        for fd in (self._woken, self._wake):
            try:
                os.close(fd)
            except OSError:  # closed already
                pass
