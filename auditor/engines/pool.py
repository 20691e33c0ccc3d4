"""A process pool that survives its workers: each worker's death is seen (its process
sentinel), the file it was reading is retried once in a fresh worker and then named as
unreadable, and the files it had not started go back to the queue. multiprocessing.Pool
instead waits forever for a result from a worker killed by a signal or the OOM killer.

Workers ignore SIGINT: on Ctrl-C only the parent sees KeyboardInterrupt, and leaving the
pool's `with` block kills every worker, so no worker prints a traceback.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from typing import Any, Generic, TypeVar

from auditor.errors import EngineFailed

T = TypeVar("T")
R = TypeVar("R")

_DONE = "done"  # a worker's message after the last task of a batch
AHEAD = 2  # batches a worker holds at once: the one it reads and the next


def _worker(
    conn: Connection,
    init: Callable[[Any], None],
    settings: Any,
    work: Callable[[Any], Any],
    failed: Callable[[Any, str], Any],
) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    code = 0
    try:
        init(settings)
        while True:
            batch = conn.recv()
            if batch is None:
                break
            for i, task in batch:
                try:
                    res = work(task)
                except Exception as exc:  # noqa: BLE001 - named in coverage, not fatal
                    res = failed(task, f"internal error reading it: {type(exc).__name__}: {exc}")
                conn.send((i, res))
            conn.send(_DONE)
    except (EOFError, OSError, KeyboardInterrupt):
        code = 1  # the parent has gone
    finally:
        conn.close()
        os._exit(code)  # never run the parent's atexit handlers or finally blocks


def death_reason(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = "unknown"
        return f"signal {-exitcode} ({name})"
    return f"exit code {exitcode}"


@dataclass
class _Proc:
    process: Any  # multiprocessing.Process (a context's own class)
    conn: Connection
    held: deque[tuple[int, Any]] = field(default_factory=deque)  # sent, no result yet
    batches: int = 0  # batches sent whose end (_DONE) has not come back
    used: bool = False  # has been sent a task
    done_any: bool = False  # has sent a result


class WorkerPool(Generic[T, R]):
    """`with WorkerPool(n, init, settings, work, failed) as pool: pool.map(tasks)` yields
    `work(task)` for every task, in completion order. A task whose worker died twice
    yields `failed(task, "worker died while reading it: signal 9 (SIGKILL)")`. When
    workers keep dying without finishing anything (`max_barren` deaths in a row), the
    pool gives up with EngineFailed (exit 3)."""

    def __init__(
        self,
        workers: int,
        init: Callable[[Any], None],
        settings: Any,
        work: Callable[[T], R],
        failed: Callable[[T, str], R],
        max_barren: int | None = None,
    ) -> None:
        self.size = max(1, workers)
        self._args = (init, settings, work, failed)
        self._failed = failed
        self._max_barren = max_barren if max_barren is not None else 2 * self.size + 2
        method = "fork" if sys.platform.startswith("linux") else "spawn"
        self._ctx = multiprocessing.get_context(method)
        self._procs: list[_Proc] = []
        self.deaths: list[str] = []

    def __enter__(self) -> WorkerPool[T, R]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _start(self) -> _Proc:
        parent, child = self._ctx.Pipe()
        p = self._ctx.Process(  # type: ignore[attr-defined]
            target=_worker, args=(child, *self._args), daemon=True
        )
        p.start()
        child.close()
        proc = _Proc(p, parent)
        self._procs.append(proc)
        return proc

    def close(self) -> None:
        """Stop every worker now (their work is not wanted any more)."""
        for proc in self._procs:
            proc.process.kill()
        for proc in self._procs:
            proc.process.join(5)
            proc.conn.close()
        self._procs = []

    def _send(self, proc: _Proc, batch: list[tuple[int, T]]) -> bool:
        proc.used = True
        proc.batches += 1
        proc.held.extend(batch)
        try:
            proc.conn.send(batch)
        except OSError:  # died while idle: found on its sentinel, the batch is requeued
            return False
        return True

    def map(self, tasks: list[T]) -> Iterator[R]:
        queue: deque[tuple[int, T]] = deque(enumerate(tasks))
        retry: deque[tuple[int, T]] = deque()
        tried: set[int] = set()  # tasks whose first worker died reading them
        # Batches shrink as the queue does (no worker left alone with a long batch at the
        # end), and each worker holds the next batch before it ends one (it never waits
        # on this process, which may be busy: importing DuckDB, rendering the SQL).
        most = max(1, len(tasks) // (self.size * 8))
        barren = 0
        while queue or retry or any(p.held for p in self._procs):
            while len(self._procs) < self.size and (queue or retry):
                self._start()
            # A retry goes alone to a fresh worker; the rest share the queue.
            while retry:
                fresh = next((p for p in self._procs if not p.used), None) or self._start()
                self._send(fresh, [retry.popleft()])
            for proc in self._procs:
                while queue and proc.batches < AHEAD:
                    chunk = max(1, min(most, len(queue) // (2 * self.size)))
                    if not self._send(
                        proc, [queue.popleft() for _ in range(min(chunk, len(queue)))]
                    ):
                        break
            busy = [p for p in self._procs if p.held]
            by_handle: dict[Any, _Proc] = {p.conn: p for p in busy}
            by_handle.update({p.process.sentinel: p for p in busy})
            for ready in wait(list(by_handle)):
                proc = by_handle[ready]
                if proc not in self._procs:
                    continue
                try:
                    while proc.conn.poll():
                        msg = proc.conn.recv()
                        if msg == _DONE:
                            proc.batches -= 1
                            continue
                        proc.held.popleft()
                        proc.done_any = True
                        barren = 0
                        yield msg[1]
                    alive = proc.process.is_alive()
                except (EOFError, OSError):
                    alive = False
                if alive:
                    continue
                # The worker died: the task it was reading is retried once, then named;
                # the ones it had not started go back to the queue.
                proc.process.join(5)
                reason = death_reason(proc.process.exitcode)
                self.deaths.append(reason)
                self._procs.remove(proc)
                proc.conn.close()
                if not proc.done_any:
                    barren += 1
                    if barren >= self._max_barren:
                        raise EngineFailed(
                            f"local engine: {barren} worker processes in a row died before "
                            f"reading any file (last: {reason}); giving up"
                        )
                if proc.held:
                    i, task = proc.held.popleft()
                    if i in tried:
                        yield self._failed(task, f"worker died while reading it: {reason}")
                    else:
                        tried.add(i)
                        retry.append((i, task))
                    queue.extendleft(reversed(proc.held))
