"""Each agent's output kept on disk, bounded: `transcripts/<name>.log` (rotated to `.log.1` at
TRANSCRIPT_MAX, so at most twice that per agent) and `<name>.json` (how it was started — never
its environment, which holds its keys — and its last size). Written by a thread of its own, so a
flooding agent's PTY reader never waits for the disk."""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections import defaultdict, deque
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from agentdeck.core.files import open_private, private_dir, write_private

TRANSCRIPT_MAX = 8 << 20
# Output up to this size, with nothing waiting before it, is appended by the caller (one write
# to the page cache, microseconds): handing each frame of a streaming agent to the writer
# thread was a wakeup per frame, a good share of a streaming fleet's session host. A flood's
# batches go through the thread, so a PTY reader never waits for a slow disk.
INLINE_MAX = 16 << 10


class Transcripts:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        private_dir(folder)
        self._files: dict[str, IO[bytes]] = {}
        self._queue: deque[tuple[str, bytes]] = deque()
        self._cond = threading.Condition()
        self._busy = False  # the writer thread is writing a batch
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="agentdeck-transcripts",
                                        daemon=True)
        self._thread.start()

    def log_path(self, name: str) -> Path:
        return self.folder / f"{name}.log"

    def start(self, name: str, spec: dict[str, Any]) -> None:
        """A new run of `name`: its output appends to its transcript."""
        meta = {"spec": {**spec, "env": {}}}  # never the environment: it holds API keys
        write_private(self.log_path(name).with_suffix(".json"), json.dumps(meta))
        with self._cond:
            self._queue.append((name, b""))  # opens the file in order with the writes
            self._cond.notify()

    def write(self, name: str, data: bytes) -> None:
        with self._cond:
            if not self._queue and not self._busy and not self._closed and \
                    len(data) <= INLINE_MAX:
                with contextlib.suppress(OSError):  # (nothing before it waits: in order)
                    self._append(name, data)
                return
            idle = not self._queue  # (else the writer is awake already)
            self._queue.append((name, data))
            if idle:
                self._cond.notify()

    def resized(self, name: str, cols: int, rows: int) -> None:
        path = self.log_path(name).with_suffix(".json")
        with contextlib.suppress(OSError, ValueError, KeyError):
            meta = json.loads(path.read_text())
            meta["spec"]["cols"], meta["spec"]["rows"] = cols, rows
            write_private(path, json.dumps(meta))

    def forget(self, name: str) -> None:
        with self._cond:
            fh = self._files.pop(name, None)
        if fh is not None:
            fh.close()
        for suffix in (".log", ".log.1", ".json"):
            with contextlib.suppress(OSError):
                self.log_path(name).with_suffix(suffix).unlink()

    def saved(self) -> Iterator[tuple[dict[str, Any], bytes]]:
        """(spec, last output) of every agent with a transcript, one at a time (a fleet's
        transcripts at once were megabytes an agent, held until the last was restored)."""
        for meta_path in sorted(self.folder.glob("*.json")):
            try:
                spec = json.loads(meta_path.read_text())["spec"]
            except (OSError, ValueError, KeyError):
                continue
            yield spec, self._tail(meta_path.with_suffix(".log"))

    @staticmethod
    def _tail(log: Path) -> bytes:
        """The last TRANSCRIPT_MAX bytes of a transcript, read as such (not read whole)."""
        try:
            with log.open("rb") as fh:
                fh.seek(max(0, log.stat().st_size - TRANSCRIPT_MAX))
                return fh.read()
        except OSError:
            return b""

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._closed:
                    self._cond.wait()
                batch = list(self._queue)
                self._queue.clear()
                self._busy = True
                closing = self._closed
            chunks: dict[str, list[bytes]] = defaultdict(list)
            for name, data in batch:
                chunks[name].append(data)
            for name, parts in chunks.items():
                with contextlib.suppress(OSError):
                    self._append(name, b"".join(parts))
            with self._cond:
                self._busy = False
            if closing:
                for fh in self._files.values():
                    fh.close()
                return

    def _append(self, name: str, data: bytes) -> None:
        fh = self._files.get(name)
        if fh is None:
            fh = self._files[name] = open_private(self.log_path(name), "ab")
        if data:
            fh.write(data)
            fh.flush()
        if fh.tell() > TRANSCRIPT_MAX:
            fh.close()
            path = self.log_path(name)
            os.replace(path, path.with_suffix(".log.1"))
            self._files[name] = open_private(path, "ab")

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify()
        self._thread.join(5)
