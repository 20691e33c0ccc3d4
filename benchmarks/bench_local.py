#!/usr/bin/env python3
"""Speed and memory benchmark of `auditor audit --engine local`.

For each synthetic one-month trail chosen with ``--trail`` (default all five kinds of
gen_trail.py: ``realistic``, ``dense``, ``many-services``, ``storm-sparse``,
``storm-dense``) this measures, in one run:

* the floor: one process reading and ``isal.igzip.decompress``-ing every log file (page
  cache warm, best of N);
* the whole-process wall time of ``python -m auditor audit ... --engine local`` (best of N);
* its peak memory: the largest RSS of any single process of the tree (``ru_maxrss`` from
  ``os.wait4``, which covers the child and every descendant it reaped), and the peak of the
  SUM of RSS (and of PSS) over the live process tree, sampled every 20 ms from /proc;
* correctness: ``totals.attempts`` in report.json against the generator's ground truth.

Then it audits the first half of the ``--flat`` trails (realistic, storm-sparse) to show
whether memory stays flat as the trail grows. It ends with the table in Markdown. Speed/memory targets are printed as PASS/FAIL but never change the exit
status; a failed audit or a wrong count exits 1.

Trails are generated once by ``gen_trail.py`` and cached under ``bench-data/`` (git-ignored).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
GEN = HERE / "gen_trail.py"
sys.path.insert(0, str(HERE))
import gen_trail  # noqa: E402  (beside this file: the trail kinds and their cache keys)

# audit s / floor s (issue 9: realistic <= 1.0, every other trail <= 2.0)
TARGET_RATIO = {
    "realistic": 1.0,
    "dense": 2.0,
    "many-services": 2.0,
    "storm-sparse": 2.0,
    "storm-dense": 2.0,
}
TARGET_RSS_MB = 400.0  # the largest process
TARGET_TREE_MB = 800.0  # the whole process tree
TARGET_REPEAT = 0.1  # a repeat audit against a store holding the month, net of start-up
SAMPLE_S = 0.020
MB = 1024 * 1024


# --------------------------------------------------------------------------- trails

TRAILS = tuple(gen_trail.KINDS)


def parse_trails(text: str) -> list[str]:
    """`all`, `both` (realistic,dense, the old default) or a comma-separated list of kinds."""
    out: list[str] = []
    for part in (p.strip() for p in text.split(",") if p.strip()):
        names = TRAILS if part == "all" else ("realistic", "dense") if part == "both" else (part,)
        for n in names:
            if n not in TRAILS:
                raise argparse.ArgumentTypeError(
                    f"unknown trail {n!r}: choose from {', '.join(TRAILS)}, all, both"
                )
            if n not in out:
                out.append(n)
    if not out:
        raise argparse.ArgumentTypeError("no trail given")
    return out


def trail_params(quick: bool, kind: str, seed: int) -> dict:
    """The manifest params gen_trail writes for this kind (the cache key)."""
    return gen_trail.kind_params(kind, seed, 3 if quick else 30)


def log_files(trail: Path) -> list[Path]:
    """The event log files (not CloudTrail-Digest), in a stable order."""
    return sorted(trail.glob("AWSLogs/*/CloudTrail/*/*/*/*/*.json.gz"))


def ensure_trail(
    data_dir: Path, quick: bool, kind: str, seed: int, regen: bool
) -> tuple[Path, dict]:
    params = trail_params(quick, kind, seed)
    trail = data_dir / f"{'quick' if quick else 'month'}-{kind}"
    manifest_path = Path(str(trail) + ".manifest.json")
    if not regen and manifest_path.exists():
        try:
            manifest = json.loads(manifest_path.read_text())
        except ValueError:
            manifest = {}
        if manifest.get("params") == params and len(log_files(trail)) == manifest.get("files"):
            print(f"[bench] reusing {trail} ({manifest['files']} files)", flush=True)
            return trail, manifest
    if trail.exists():
        shutil.rmtree(trail)
    manifest_path.unlink(missing_ok=True)
    data_dir.mkdir(parents=True, exist_ok=True)
    cmd = [
        sys.executable,
        str(GEN),
        "--out",
        str(trail),
        "--manifest",
        str(manifest_path),
        "--trail",
        kind,
        "--seed",
        str(seed),
        "--start",
        params["start"],
        "--days",
        str(params["days"]),
        "--files-per-day",
        str(params["files_per_day"]),
        "--records-per-file",
        str(params["records_per_file"]),
        "--accounts",
        str(params["accounts"]),
        "--regions",
        params["regions"],
    ]
    print(f"[bench] generating {trail} ...", flush=True)
    subprocess.run(cmd, check=True)
    return trail, json.loads(manifest_path.read_text())


def ground_truth(manifest: dict, d_from: str, d_to: str) -> int:
    return sum(n for day, n in manifest["denied_by_day"].items() if d_from <= day <= d_to)


# --------------------------------------------------------------------------- floor


def decompression_floor(files: list[Path], runs: int) -> tuple[float, int]:
    from isal import igzip

    for f in files:  # warm the page cache
        f.read_bytes()
    best, total = float("inf"), 0
    for _ in range(runs):
        t0 = time.perf_counter()
        total = 0
        for f in files:
            with open(f, "rb") as fh:
                total += len(igzip.decompress(fh.read()))
        best = min(best, time.perf_counter() - t0)
    return best, total


# --------------------------------------------------------------------------- process-tree memory

_HAS_CHILDREN_FILE = os.path.exists(f"/proc/{os.getpid()}/task/{os.getpid()}/children")


def _children(pid: int) -> list[int]:
    out: list[int] = []
    if _HAS_CHILDREN_FILE:
        try:
            for tid in os.listdir(f"/proc/{pid}/task"):
                try:
                    with open(f"/proc/{pid}/task/{tid}/children") as fh:
                        out.extend(int(x) for x in fh.read().split())
                except OSError:
                    pass
        except OSError:
            pass
    return out


def _tree_by_scan(root: int) -> list[int]:
    parent: dict[int, int] = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat") as fh:
                    stat = fh.read()
                parent[int(name)] = int(stat.rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                pass
    tree, frontier = [root], [root]
    while frontier:
        frontier = [p for p, pp in parent.items() if pp in frontier]
        tree.extend(frontier)
    return tree


def process_tree(root: int) -> list[int]:
    if not _HAS_CHILDREN_FILE:
        return _tree_by_scan(root)
    tree, i = [root], 0
    while i < len(tree):
        tree.extend(_children(tree[i]))
        i += 1
    return tree


def _status_kb(pid: int, key: str) -> int:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith(key):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def _pss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            for line in fh:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


class TreeSampler(threading.Thread):
    """Peak of the summed RSS and PSS of a process and its descendants."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid = pid
        self.stop = threading.Event()
        self.peak_rss_kb = 0
        self.peak_pss_kb = 0
        self.max_procs = 0
        self.samples = 0

    def run(self) -> None:
        while not self.stop.is_set():
            pids = process_tree(self.pid)
            rss = sum(_status_kb(p, "VmRSS:") for p in pids)
            pss = sum(_pss_kb(p) for p in pids)
            self.peak_rss_kb = max(self.peak_rss_kb, rss)
            self.peak_pss_kb = max(self.peak_pss_kb, pss)
            self.max_procs = max(self.max_procs, len(pids))
            self.samples += 1
            self.stop.wait(SAMPLE_S)


# --------------------------------------------------------------------------- audit


class AuditRun:
    def __init__(self, **kw):
        self.__dict__.update(kw)


def run_audit(
    trail: Path, d_from: str, d_to: str, timeout: float, keep: bool, extra: tuple[str, ...] = ()
) -> AuditRun:
    work = Path(tempfile.mkdtemp(prefix="bench-audit-"))
    out = work / "out"
    cmd = [
        sys.executable,
        "-m",
        "auditor",
        "audit",
        "--source",
        str(trail),
        "--from",
        d_from,
        "--to",
        d_to,
        "--engine",
        "local",
        "--out",
        str(out),
        "--format",
        "json",
        *extra,
    ]
    with open(work / "stdout.txt", "wb") as so, open(work / "stderr.txt", "wb") as se:
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            cmd, stdout=so, stderr=se, stdin=subprocess.DEVNULL, cwd=REPO, start_new_session=True
        )
        sampler = TreeSampler(proc.pid)
        sampler.start()
        timer = threading.Timer(timeout, lambda: os.killpg(proc.pid, signal.SIGKILL))
        timer.start()
        # wait4 (not Popen.wait): its rusage is this child's own, ru_maxrss being the max
        # over the child and the descendants it reaped; RUSAGE_CHILDREN would mix runs.
        _pid, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        timer.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)
        sampler.stop.set()
        sampler.join()
    report = None
    err = ""
    if proc.returncode != 0:
        err = f"exit status {proc.returncode}"
    else:
        try:
            report = json.loads((out / "report.json").read_text())
        except (OSError, ValueError) as exc:
            err = f"no readable report.json: {exc}"
    tail = (work / "stderr.txt").read_text(errors="replace")[-2000:] if err else ""
    if not keep:
        shutil.rmtree(work, ignore_errors=True)
    return AuditRun(
        cmd=cmd,
        wall=wall,
        rc=proc.returncode,
        single_mb=usage.ru_maxrss / 1024,
        tree_mb=sampler.peak_rss_kb / 1024,
        tree_pss_mb=sampler.peak_pss_kb / 1024,
        procs=sampler.max_procs,
        samples=sampler.samples,
        report=report,
        err=err,
        stderr_tail=tail,
        workdir=work,
    )


def attempts_of(report: dict | None):
    try:
        return report["totals"]["attempts"]  # type: ignore[index]
    except (TypeError, KeyError):
        return None


# --------------------------------------------------------------------------- main


def auditor_available() -> str:
    r = subprocess.run(
        [sys.executable, "-m", "auditor", "audit", "--help"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    if r.returncode != 0:
        lines = (r.stderr or r.stdout or "?").strip().splitlines() or ["?"]
        return lines[-1]
    return ""


# --------------------------------------------------------------------------- measurements
# A trail is measured by each step of STEPS in turn; a step adds keys to the trail's row
# and may record correctness failures. The tables print the COLUMNS present in a row.
# A new measurement (say, a repeat audit against a store) is one more step and column.


@dataclass
class Trail:
    kind: str
    path: Path
    manifest: dict
    files: list[Path]
    d_from: str
    d_to: str
    row: dict = field(default_factory=dict)
    checks: list = field(default_factory=list)  # (label, expected, got list, runs)
    failures: list[str] = field(default_factory=list)


def step_size(t: Trail, args) -> None:
    m, p = t.manifest, t.manifest["params"]
    t.row.update(
        {
            "trail": t.kind,
            "shape": f"{p['accounts']}x{len(gen_trail.parse_regions(p['regions']))}x{p['files_per_day']}",
            "files": len(t.files),
            "gb": m["uncompressed_bytes"] / 1e9,
            "records": m["records"],
            "err_pct": 100 * m["error_records"] / max(1, m["records"])
            if "error_records" in m
            else float("nan"),
            "rp_files": m["files_with_resource_policy_calls"],
            "truth": ground_truth(m, t.d_from, t.d_to),
            "gen_s": m.get("elapsed_s", float("nan")),
        }
    )


def step_floor(t: Trail, args) -> None:
    print(f"[bench] {t.kind}: floor ...", flush=True)
    t.row["floor"], _raw = decompression_floor(t.files, args.runs)


def audit_runs(
    t: Trail, args, d_to: str, runs: int, label: str, extra: tuple[str, ...] = ()
) -> list[AuditRun]:
    out = []
    for i in range(runs):
        r = run_audit(t.path, t.d_from, d_to, args.timeout, args.keep, extra)
        print(
            f"[bench] {label}: audit run {i + 1}/{runs}: {r.wall:.2f}s "
            f"single {r.single_mb:.0f} MB, tree {r.tree_mb:.0f} MB, rc={r.rc}"
            + (f", kept {r.workdir}" if args.keep else ""),
            flush=True,
        )
        out.append(r)
        if r.err:
            print(
                f"[bench] audit failed: {r.err}\n  cmd: {' '.join(r.cmd)}\n{r.stderr_tail}",
                file=sys.stderr,
            )
            break
    expected = ground_truth(t.manifest, t.d_from, d_to)
    ok_runs = [r for r in out if not r.err]
    got = sorted({attempts_of(r.report) for r in ok_runs}, key=str)
    if len(ok_runs) != len(out) or not ok_runs:
        t.failures.append(f"{label}: audit failed ({out[-1].err})")
    elif got != [expected]:
        t.failures.append(f"{label}: totals.attempts {got} != ground truth {expected}")
    t.checks.append((f"{label} {t.d_from}..{d_to}", expected, got, out))
    return ok_runs


def step_audit(t: Trail, args) -> None:
    ok = audit_runs(t, args, t.d_to, args.runs, t.kind)
    nan = float("nan")
    t.row.update(
        {
            "audit": min((r.wall for r in ok), default=nan),
            "single": max((r.single_mb for r in ok), default=nan),
            "tree": max((r.tree_mb for r in ok), default=nan),
            "pss": max((r.tree_pss_mb for r in ok), default=nan),
            "procs": max((r.procs for r in ok), default=0),
            "report": ok[0].report if ok else None,
        }
    )
    t.row["ratio"] = t.row["audit"] / t.row["floor"] if t.row.get("floor") else nan


def step_flat(t: Trail, args) -> None:
    """Peak memory over the first half of the range, to compare with the whole range."""
    if t.kind not in args.flat or t.row.get("audit") != t.row.get("audit"):
        return
    days = t.manifest["params"]["days"]
    h_to = (date.fromisoformat(t.d_from) + timedelta(days=max(1, days // 2) - 1)).isoformat()
    print(f"[bench] {t.kind}: half-range audit {t.d_from}..{h_to} ...", flush=True)
    ok = audit_runs(t, args, h_to, args.runs, f"{t.kind} half-range")
    if ok:
        # The same statistics as the whole range's: peaks over the runs, the best time
        # (one half-range run against the month's peak of --runs read GROWS by chance).
        peak = AuditRun(
            single_mb=max(r.single_mb for r in ok),
            tree_mb=max(r.tree_mb for r in ok),
            tree_pss_mb=max(r.tree_pss_mb for r in ok),
            wall=min(r.wall for r in ok),
        )
        t.row["half"] = (h_to, peak)


def startup_time(runs: int) -> float:
    """Best wall time of `python -m auditor --version`: the interpreter and CLI start-up
    that every audit pays, the store or not."""
    best = float("inf")
    for _ in range(max(1, runs)):
        t0 = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "auditor", "--version"],
            cwd=REPO,
            capture_output=True,
            check=False,
        )
        best = min(best, time.perf_counter() - t0)
    return best


def step_store(t: Trail, args) -> None:
    """A repeat audit of the month against an events store (--store) that already holds
    it: one cold audit fills a fresh store, then best of N warm ones. `repeat ratio` is
    warm audit s / floor s; `net` takes the start-up (python -m auditor --version) off."""
    if t.kind not in args.store or t.row.get("audit") != t.row.get("audit"):
        return
    store = Path(tempfile.mkdtemp(prefix="bench-store-"))
    try:
        extra = ("--store", str(store))
        cold = audit_runs(t, args, t.d_to, 1, f"{t.kind} store cold", extra)
        warm = audit_runs(t, args, t.d_to, args.runs, f"{t.kind} store warm", extra) if cold else []
        size = sum(p.stat().st_size for p in store.rglob("*") if p.is_file())
    finally:
        shutil.rmtree(store, ignore_errors=True)
    if not warm:
        return
    served = {(r.report or {}).get("coverage", {}).get("from_store_days") for r in warm}
    if 0 in served or None in served:
        t.failures.append(f"{t.kind} store warm: days were not served from the store ({served})")
    best = min(r.wall for r in warm)
    start = startup_time(args.runs)
    t.row.update(
        {
            "store_cold": cold[0].wall,
            "repeat": best,
            "startup": start,
            "store_mb": size / MB,
            "repeat_ratio": best / t.row["floor"],
            "repeat_net": max(0.0, best - start) / t.row["floor"],
        }
    )


def step_verdict(t: Trail, args) -> None:
    t.row["correct"] = "FAIL" if t.failures else "OK"


STEPS = [step_size, step_floor, step_audit, step_flat, step_store, step_verdict]

# (row key, header, format spec, markdown?)
COLUMNS = [
    ("trail", "trail", "<13", True),
    ("shape", "accts x regions x files/day", "^9", True),
    ("files", "files", ">5", True),
    ("gb", "GB JSON", ">7.2f", True),
    ("records", "records", ">9,", True),
    ("err_pct", "errors %", ">8.1f", True),
    ("rp_files", "RP files", ">8", True),
    ("truth", "matches", ">7", True),
    ("gen_s", "gen s", ">6.1f", False),
    ("floor", "floor s", ">7.2f", True),
    ("audit", "audit s", ">7.2f", True),
    ("ratio", "ratio", ">6.2f", True),
    ("single", "RSS 1 MB", ">8.0f", True),
    ("tree", "RSS sum MB", ">10.0f", True),
    ("pss", "PSS sum MB", ">10.0f", True),
    ("procs", "procs", ">5", False),
    ("store_cold", "cold s", ">6.2f", True),
    ("store_mb", "store MB", ">8.1f", True),
    ("repeat", "repeat s", ">8.2f", True),
    ("repeat_ratio", "rep ratio", ">9.3f", True),
    ("startup", "startup s", ">9.2f", True),
    ("repeat_net", "net ratio", ">9.3f", True),
    ("correct", "correct", "^7", True),
]


def _cell(row: dict, key: str, spec: str) -> str:
    v = row.get(key)
    if v is None or (isinstance(v, float) and v != v):
        return format("n/a", spec.rstrip(",.0123456789f").replace("^", ">") or ">")
    return format(v, spec)


def text_table(rows: list[dict]) -> list[str]:
    cols = [
        (k, h if len(h) < 12 else "shape", s)
        for k, h, s, _md in COLUMNS
        if any(k in r for r in rows)
    ]
    widths = [max(len(h), len(_cell(rows[0], k, s))) for k, h, s in cols]
    out = [
        "  ".join(
            f"{h:>{w}}" if i else f"{h:<{w}}"
            for i, ((_k, h, _s), w) in enumerate(zip(cols, widths))
        )
    ]
    out.append("-" * len(out[0]))
    for r in rows:
        out.append("  ".join(f"{_cell(r, k, s):>{w}}" for (k, _h, s), w in zip(cols, widths)))
    return out


def markdown_table(rows: list[dict]) -> list[str]:
    cols = [(k, h, s) for k, h, s, md in COLUMNS if md and any(k in r for r in rows)]
    out = [
        "| " + " | ".join(h for _k, h, _s in cols) + " |",
        "| "
        + " | ".join(
            "---" if s.startswith("<") or s.startswith("^") else "---:" for _k, _h, s in cols
        )
        + " |",
    ]
    for r in rows:
        out.append("| " + " | ".join(_cell(r, k, s).strip() for k, _h, s in cols) + " |")
    return out


def targets(row: dict) -> str:
    if row.get("audit") != row.get("audit") or "audit" not in row:
        return "n/a (audit failed)"
    t = TARGET_RATIO.get(row["trail"])
    speed = (
        f"ratio<={t:g} {'PASS' if row['ratio'] <= t else 'FAIL'}" if t else "ratio: no target yet"
    )
    mem = "PASS" if row["single"] <= TARGET_RSS_MB and row["tree"] <= TARGET_TREE_MB else "FAIL"
    out = f"{speed}, RSS<={TARGET_RSS_MB:g}MB (tree <={TARGET_TREE_MB:g}MB) {mem}"
    if "repeat_net" in row:
        ok = "PASS" if row["repeat_net"] <= TARGET_REPEAT else "FAIL"
        out += f", repeat (net)<={TARGET_REPEAT:g} {ok}"
    return out


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--quick", action="store_true", help="3-day trails: a smoke check, not a measurement"
    )
    ap.add_argument(
        "--keep", action="store_true", help="keep each audit's output/stdout/stderr directory"
    )
    ap.add_argument(
        "--data-dir",
        type=Path,
        default=REPO / "bench-data",
        help="trail cache (default: bench-data/)",
    )
    ap.add_argument("--regen", action="store_true", help="regenerate the trails even if cached")
    ap.add_argument(
        "--runs", type=int, default=3, help="repetitions for best-of timings (default 3)"
    )
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--timeout", type=float, default=900.0, help="per-audit limit in seconds")
    ap.add_argument(
        "--trail",
        "--density",
        dest="trails",
        type=parse_trails,
        default=list(TRAILS),
        metavar="KINDS",
        help=f"comma-separated among {', '.join(TRAILS)}; `all` (default) or "
        "`both` (realistic,dense). --density is the old name",
    )
    ap.add_argument(
        "--flat",
        default="realistic,storm-sparse",
        type=lambda v: [] if v == "none" else parse_trails(v),
        metavar="KINDS",
        help="trails whose first half is audited too, to show whether memory stays "
        "flat as the range grows (default realistic,storm-sparse; `none`)",
    )
    ap.add_argument(
        "--store",
        default="realistic,storm-sparse,storm-dense",
        type=lambda v: [] if v == "none" else parse_trails(v),
        metavar="KINDS",
        help="trails audited again against an events store that holds the month "
        "(--store DIR; default realistic,storm-sparse,storm-dense: the repeat ratio of "
        "realistic and both storms; `none`)",
    )
    args = ap.parse_args(argv)

    problem = auditor_available()
    if problem:
        print(
            f"[bench] `{sys.executable} -m auditor audit --help` fails: {problem}", file=sys.stderr
        )
        return 2

    done: list[Trail] = []
    for kind in args.trails:
        path, manifest = ensure_trail(
            args.data_dir.resolve(), args.quick, kind, args.seed, args.regen
        )
        t = Trail(
            kind,
            path,
            manifest,
            log_files(path),
            manifest["range"]["from"],
            manifest["range"]["to"],
        )
        for step in STEPS:
            step(t, args)
        r = t.row
        print(
            f"[bench] {kind}: floor {r['floor']:.2f}s, audit {r['audit']:.2f}s (best of {args.runs}), "
            f"ratio {r['ratio']:.2f}, RSS 1 {r['single']:.0f} MB, RSS sum {r['tree']:.0f} MB, "
            f"matches {r['truth']}: {r['correct']}",
            flush=True,
        )
        done.append(t)

    # ----------------------------------------------------------------- report
    rows = [t.row for t in done]
    print()
    print(
        "Local engine benchmark"
        + (" (--quick: smoke check, timings not meaningful)" if args.quick else "")
    )
    for line, r in zip(text_table(rows), [None, None, *rows]):
        print(line + (f"  {targets(r)}" if r else ""))
    print(
        "  shape: accounts x regions x files per day; RP files: files with Bedrock resource-policy calls;"
    )
    print(
        "  matches: ground truth (rule matches in range); gen s: generation time when the trail was built;"
    )
    print(
        "  floor: one process, read + isal.igzip.decompress of every log file, warm cache, "
        f"best of {args.runs}; audit: whole-process wall time, best of {args.runs};"
    )
    print(
        "  RSS 1: largest RSS of any one process of the audit (wait4 ru_maxrss); RSS/PSS sum: peak "
        "over the live process tree, sampled every 20 ms (max over runs)."
    )

    print()
    print(
        "Correctness (totals.attempts vs generator ground truth: bedrock Put/DeleteResourcePolicy, "
        "AccessDenied|AccessDeniedException exactly, eventTime in range)"
    )
    for t in done:
        for label, expected, got, runs_ in t.checks:
            ok = bool(runs_) and got == [expected] and all(not r.err for r in runs_)
            cov = (runs_[0].report or {}).get("coverage", {}) if runs_ and runs_[0].report else {}
            print(
                f"  {label}: expected {expected}, got {', '.join(map(str, got)) or '-'}  "
                f"{'OK' if ok else 'MISMATCH'}  (files_scanned={cov.get('files_scanned')}, "
                f"records_scanned={cov.get('records_scanned')})"
            )

    for t in done:
        if "half" not in t.row:
            continue
        h_to, h = t.row["half"]
        full = t.row
        grow = max(full["single"] - h.single_mb, full["tree"] - h.tree_mb)
        flat = full["tree"] <= h.tree_mb * 1.15 + 16 and full["single"] <= h.single_mb * 1.15 + 16
        print()
        print(f"Memory as the trail grows ({t.kind}):")
        print(
            f"  {t.d_from}..{h_to}: RSS 1 {h.single_mb:.0f} MB, RSS sum {h.tree_mb:.0f} MB, "
            f"PSS sum {h.tree_pss_mb:.0f} MB, {h.wall:.2f}s"
        )
        print(
            f"  {t.d_from}..{t.d_to}: RSS 1 {full['single']:.0f} MB, RSS sum {full['tree']:.0f} MB, "
            f"PSS sum {full['pss']:.0f} MB, {full['audit']:.2f}s"
        )
        print(f"  growth {grow:+.0f} MB: {'FLAT' if flat else 'GROWS'}")

    print()
    print(f"Markdown (best of {args.runs}{', --quick' if args.quick else ''}):")
    print()
    for line in markdown_table(rows):
        print(line)

    failures = [f for t in done for f in t.failures]
    if failures:
        print()
        for f in failures:
            print(f"CORRECTNESS FAILURE: {f}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
