"""Worker processes never hang or crash the audit: a worker that dies is seen, the file it
was reading is retried once in a fresh worker and then named in coverage; a pool whose
workers keep dying fails with exit 3; Ctrl-C stops the audit with one line and exit 130;
and no more workers are started than there are files or sane per core."""

from __future__ import annotations

import gzip
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from auditor.engines import local, prefilter
from auditor.errors import EngineFailed
from auditor.synth import bedrock_policy_call, iam_user, log_key, write_log

ACCT = "111122223333"
REGION = "us-east-1"
DAY = date(2026, 10, 5)
WHEN = datetime(2026, 10, 5, 12, tzinfo=UTC)
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def deadline() -> Iterator[None]:
    """Fail instead of hanging (multiprocessing.Pool waited forever on a dead worker)."""

    def boom(*_: Any) -> None:
        raise TimeoutError("the audit hung")

    old = signal.signal(signal.SIGALRM, boom)
    signal.alarm(120)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


def trail(root: Path, n: int = 20) -> list[Path]:
    return [
        write_log(
            root,
            log_key(ACCT, REGION, WHEN.replace(hour=13, minute=i), salt=str(i)),
            [
                bedrock_policy_call(
                    WHEN,
                    event_id=f"e{i}",
                    account=ACCT,
                    region=REGION,
                    identity=iam_user(ACCT, "bob"),
                )
            ],
        )
        for i in range(n)
    ]


def dies_on(victim: Path, marker: Path | None = None):  # type: ignore[no-untyped-def]
    """prefilter.scan, except that the worker reading `victim` kills itself (every time,
    or only the first time when `marker` is given)."""
    real = prefilter.scan

    def scan(task: prefilter.Task) -> prefilter.FileResult:
        if task.path == str(victim) and (marker is None or not marker.exists()):
            if marker is not None:
                marker.touch()
            os.kill(os.getpid(), signal.SIGKILL)
        return real(task)

    return scan


def test_a_worker_killed_on_one_file_is_named_and_the_audit_finishes(
    tmp_path: Path, audit, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = trail(tmp_path / "t")
    monkeypatch.setattr(prefilter, "scan", dies_on(files[3]))
    report = audit(tmp_path / "t", DAY, workers=2)
    assert {e.event_id for e in report.events} == {f"e{i}" for i in range(20)} - {"e3"}
    (u,) = report.coverage.unreadable
    assert Path(u.path).name == files[3].name
    assert u.reason == "worker died while reading it: signal 9 (SIGKILL)"
    assert report.coverage.files_scanned == 19 and report.coverage.files_unreadable == 1


def test_a_file_whose_first_worker_died_is_read_by_a_fresh_one(
    tmp_path: Path, audit, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = trail(tmp_path / "t")
    monkeypatch.setattr(prefilter, "scan", dies_on(files[7], tmp_path / "died-once"))
    report = audit(tmp_path / "t", DAY, workers=2)
    assert (tmp_path / "died-once").exists()
    assert {e.event_id for e in report.events} == {f"e{i}" for i in range(20)}
    assert report.coverage.complete


def test_workers_that_keep_dying_fail_the_audit_with_exit_3(
    tmp_path: Path, audit, monkeypatch: pytest.MonkeyPatch
) -> None:
    trail(tmp_path / "t")
    monkeypatch.setattr(prefilter, "init", lambda settings: os._exit(1))
    with pytest.raises(EngineFailed, match="died before reading any file") as exc:
        audit(tmp_path / "t", DAY, workers=2)
    assert exc.value.exit_code == 3
    assert "\n" not in str(exc.value)


def test_workers_are_capped_by_files_and_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    assert local.worker_count(None, 1000, s3=False) == 2
    assert local.worker_count(64, 1000, s3=False) == 2 * local.MAX_WORKERS_PER_CORE
    assert local.worker_count(3, 2, s3=False) == 2  # no more than the files
    assert local.worker_count(None, 1000, s3=True) == 8
    assert local.worker_count(1000, 1000, s3=True) == 2 * local.MAX_WORKERS_PER_CORE_S3
    assert local.worker_count(8, 0, s3=False) == 1


def test_more_workers_than_files_still_give_the_answer(tmp_path: Path, audit) -> None:
    trail(tmp_path / "t", 17)
    report = audit(tmp_path / "t", DAY, workers=500)
    assert len(report.events) == 17 and report.coverage.complete


# -- Ctrl-C ----------------------------------------------------------------------------------


def big_trail(root: Path, files: int = 200, records: int = 3000) -> None:
    """Files of denials only (every record parsed and loaded): seconds of work."""
    import json

    rec = bedrock_policy_call(
        WHEN, event_id="same", account=ACCT, region=REGION, identity=iam_user(ACCT, "bob")
    )
    one = json.dumps(rec, separators=(",", ":")).encode()
    body = b'{"Records":[' + b",".join([one] * records) + b"]}"
    packed = gzip.compress(body, compresslevel=1, mtime=0)
    for i in range(files):
        path = root / log_key(ACCT, REGION, WHEN.replace(hour=13, minute=i % 60), salt=str(i))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(packed)


def children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_ctrl_c_stops_the_audit_with_one_line_and_exit_130(tmp_path: Path) -> None:
    big_trail(tmp_path / "t")
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "auditor",
            "audit",
            "--source",
            str(tmp_path / "t"),
            "--from",
            "2026-10-05",
            "--to",
            "2026-10-05",
            "--engine",
            "local",
            "--workers",
            "2",
            "--out",
            str(tmp_path / "out"),
            "--format",
            "json",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        start_new_session=True,  # its own process group, as a terminal's job is
    )
    t0 = time.monotonic()
    while len(children(proc.pid)) < 2 and proc.poll() is None and time.monotonic() - t0 < 30:
        time.sleep(0.02)
    assert proc.poll() is None, "the audit finished before it could be interrupted"
    time.sleep(0.2)  # the workers are reading
    os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C: the whole foreground group gets SIGINT
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err.decode()
    assert err.decode().strip() == "auditor: interrupted"
    time.sleep(0.2)
    assert children(proc.pid) == []


def test_rows_a_dead_worker_wrote_but_never_reported_are_not_counted(
    tmp_path: Path, audit, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Workers write their rows to their own parts and report how far each holds them: a
    worker killed after writing a file's rows, before its result reached the parent, must
    not leave those rows behind, for the file is read again by a fresh worker."""
    files = trail(tmp_path / "t")
    marker = tmp_path / "died-after-writing"
    real = prefilter.scan

    def scan(task: prefilter.Task) -> prefilter.FileResult:
        res = real(task)
        if task.path == str(files[5]) and not marker.exists():
            assert res.parts  # the rows are in this worker's part, not in the result
            marker.touch()
            os.kill(os.getpid(), signal.SIGKILL)
        return res

    monkeypatch.setattr(prefilter, "scan", scan)
    report = audit(tmp_path / "t", DAY, workers=2)
    assert marker.exists()
    ids = [e.event_id for e in report.events]
    assert sorted(ids) == sorted(f"e{i}" for i in range(20))  # e5 once, not twice
    assert report.coverage.complete


def _init(_: object) -> None:
    pass


def _failed(task: int, why: str) -> tuple[str, int]:
    return ("failed", task)


def test_a_worker_dying_with_two_batches_held_loses_no_task(tmp_path: Path) -> None:
    """Each worker holds the batch it reads and the next one (it never waits for the
    parent between batches): when it dies, the task it was reading is retried once and
    then named, and every other task it held is read again by another, once."""
    from auditor.engines.pool import WorkerPool

    once = tmp_path / "once"

    def work(task: int) -> tuple[str, int]:
        if task == 57 and not once.exists():  # dies the first time only
            once.touch()
            os.kill(os.getpid(), signal.SIGKILL)
        if task == 120:  # dies every time
            os.kill(os.getpid(), signal.SIGKILL)
        return ("ok", task)

    with WorkerPool(2, _init, None, work, _failed) as pool:
        got = list(pool.map(list(range(200))))
        deaths = list(pool.deaths)
    assert sorted(t for _, t in got) == list(range(200))  # each task once
    assert [x for x in got if x[0] == "failed"] == [("failed", 120)]
    assert len(deaths) == 3 and all("SIGKILL" in d for d in deaths)


def test_ctrl_c_while_duckdb_loads_interrupts_once_it_is_loaded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A KeyboardInterrupt inside DuckDB's native start (nanobind) hung the process (seen
    in CI: "Critical nanobind error", the Ctrl-C test timed out): the import finishes,
    then the Ctrl-C interrupts."""
    import importlib.abc
    import importlib.util

    class SlowDuckDB(importlib.abc.MetaPathFinder, importlib.abc.Loader):
        def find_spec(self, name: str, path: Any, target: Any = None) -> Any:
            return importlib.util.spec_from_loader(name, self) if name == "duckdb" else None

        def create_module(self, spec: Any) -> None:
            return None

        def exec_module(self, module: Any) -> None:
            os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C while it loads
            time.sleep(0.05)  # Python code running: where KeyboardInterrupt would land
            module.loaded = True

    import duckdb  # the real one, put back after the test

    assert duckdb
    monkeypatch.delitem(sys.modules, "duckdb")
    monkeypatch.setattr(sys, "meta_path", [SlowDuckDB(), *sys.meta_path])
    with pytest.raises(KeyboardInterrupt):
        local._import_duckdb()
    assert sys.modules["duckdb"].loaded
