#!/usr/bin/env python3
"""Speed and memory benchmark of `auditor audit --engine local`.

For each of two synthetic one-month trails (``realistic``: the audited Bedrock calls sit
in ~1% of files; ``dense``: in nearly every file) this measures, in one run:

* the floor: one process reading and ``isal.igzip.decompress``-ing every log file (page
  cache warm, best of N);
* the whole-process wall time of ``python -m auditor audit ... --engine local`` (best of N);
* its peak memory: the largest RSS of any single process of the tree (``ru_maxrss`` from
  ``os.wait4``, which covers the child and every descendant it reaped), and the peak of the
  SUM of RSS (and of PSS) over the live process tree, sampled every 20 ms from /proc;
* correctness: ``totals.attempts`` in report.json against the generator's ground truth.

Then it audits the first half of the realistic month to show that memory stays flat as
the trail grows. Speed/memory targets are printed as PASS/FAIL but never change the exit
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
from datetime import date, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
GEN = HERE / "gen_trail.py"

TARGET_RATIO = {"realistic": 1.0, "dense": 2.0}
TARGET_RSS_MB = 400.0
SAMPLE_S = 0.020
MB = 1024 * 1024


# --------------------------------------------------------------------------- trails


def trail_params(quick: bool, density: str, seed: int) -> dict:
    """Must match gen_trail.params_of() for the cache check."""
    return {
        "density": density, "seed": seed, "start": "2026-10-01", "days": 3 if quick else 30,
        "files_per_day": 24, "records_per_file": 700, "accounts": 1,
        "regions": "us-east-1,eu-west-1", "digests": True, "generator_version": 2,
    }


def log_files(trail: Path) -> list[Path]:
    """The event log files (not CloudTrail-Digest), in a stable order."""
    return sorted(trail.glob("AWSLogs/*/CloudTrail/*/*/*/*/*.json.gz"))


def ensure_trail(data_dir: Path, quick: bool, density: str, seed: int, regen: bool) -> tuple[Path, dict]:
    params = trail_params(quick, density, seed)
    trail = data_dir / f"{'quick' if quick else 'month'}-{density}"
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
    cmd = [sys.executable, str(GEN), "--out", str(trail), "--manifest", str(manifest_path),
           "--density", density, "--seed", str(seed), "--start", params["start"],
           "--days", str(params["days"]), "--files-per-day", str(params["files_per_day"]),
           "--records-per-file", str(params["records_per_file"]), "--accounts", str(params["accounts"]),
           "--regions", params["regions"]]
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


def run_audit(trail: Path, d_from: str, d_to: str, timeout: float, keep: bool) -> AuditRun:
    work = Path(tempfile.mkdtemp(prefix="bench-audit-"))
    out = work / "out"
    cmd = [sys.executable, "-m", "auditor", "audit", "--source", str(trail), "--from", d_from,
           "--to", d_to, "--engine", "local", "--out", str(out), "--format", "json"]
    with open(work / "stdout.txt", "wb") as so, open(work / "stderr.txt", "wb") as se:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=so, stderr=se, stdin=subprocess.DEVNULL, cwd=REPO,
                                start_new_session=True)
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
    return AuditRun(cmd=cmd, wall=wall, rc=proc.returncode, single_mb=usage.ru_maxrss / 1024,
                    tree_mb=sampler.peak_rss_kb / 1024, tree_pss_mb=sampler.peak_pss_kb / 1024,
                    procs=sampler.max_procs, samples=sampler.samples, report=report, err=err,
                    stderr_tail=tail, workdir=work)


def attempts_of(report: dict | None):
    try:
        return report["totals"]["attempts"]  # type: ignore[index]
    except (TypeError, KeyError):
        return None


# --------------------------------------------------------------------------- main


def auditor_available() -> str:
    r = subprocess.run([sys.executable, "-m", "auditor", "audit", "--help"], cwd=REPO,
                       capture_output=True, text=True)
    if r.returncode != 0:
        lines = (r.stderr or r.stdout or "?").strip().splitlines() or ["?"]
        return lines[-1]
    return ""


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="3-day trails: a smoke check, not a measurement")
    ap.add_argument("--keep", action="store_true", help="keep each audit's output/stdout/stderr directory")
    ap.add_argument("--data-dir", type=Path, default=REPO / "bench-data", help="trail cache (default: bench-data/)")
    ap.add_argument("--regen", action="store_true", help="regenerate the trails even if cached")
    ap.add_argument("--runs", type=int, default=3, help="repetitions for best-of timings (default 3)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--timeout", type=float, default=900.0, help="per-audit limit in seconds")
    ap.add_argument("--density", choices=("realistic", "dense", "both"), default="both")
    args = ap.parse_args(argv)

    problem = auditor_available()
    if problem:
        print(f"[bench] `{sys.executable} -m auditor audit --help` fails: {problem}", file=sys.stderr)
        return 2

    densities = ["realistic", "dense"] if args.density == "both" else [args.density]
    rows, failures, checks = [], [], []
    half_row = None
    for density in densities:
        trail, manifest = ensure_trail(args.data_dir.resolve(), args.quick, density, args.seed, args.regen)
        d_from = manifest["range"]["from"]
        d_to = manifest["range"]["to"]
        files = log_files(trail)
        print(f"[bench] {density}: floor ...", flush=True)
        floor, raw = decompression_floor(files, args.runs)
        runs = []
        for i in range(args.runs):
            r = run_audit(trail, d_from, d_to, args.timeout, args.keep)
            print(f"[bench] {density}: audit run {i + 1}/{args.runs}: {r.wall:.2f}s "
                  f"single {r.single_mb:.0f} MB, tree {r.tree_mb:.0f} MB, rc={r.rc}"
                  + (f", kept {r.workdir}" if args.keep else ""), flush=True)
            runs.append(r)
            if r.err:
                print(f"[bench] audit failed: {r.err}\n  cmd: {' '.join(r.cmd)}\n{r.stderr_tail}", file=sys.stderr)
                break
        ok_runs = [r for r in runs if not r.err]
        expected = ground_truth(manifest, d_from, d_to)
        got = {attempts_of(r.report) for r in ok_runs}
        if len(ok_runs) != len(runs) or not ok_runs:
            failures.append(f"{density}: audit failed ({runs[-1].err})")
        elif got != {expected}:
            failures.append(f"{density}: totals.attempts {sorted(got, key=str)} != ground truth {expected}")
        checks.append((f"{density} {d_from}..{d_to}", expected, sorted(got, key=str), ok_runs))
        rows.append({
            "density": density, "files": len(files), "gz": manifest["compressed_bytes"], "raw": raw,
            "records": manifest["records"], "floor": floor,
            "audit": min((r.wall for r in ok_runs), default=float("nan")),
            "single": max((r.single_mb for r in ok_runs), default=float("nan")),
            "tree": max((r.tree_mb for r in ok_runs), default=float("nan")),
            "pss": max((r.tree_pss_mb for r in ok_runs), default=float("nan")),
            "procs": max((r.procs for r in ok_runs), default=0),
            "report": ok_runs[0].report if ok_runs else None,
        })
        if density == "realistic" and ok_runs:
            days = manifest["params"]["days"]
            h_to = (date.fromisoformat(d_from) + timedelta(days=max(1, days // 2) - 1)).isoformat()
            print(f"[bench] realistic: half-range audit {d_from}..{h_to} ...", flush=True)
            h = run_audit(trail, d_from, h_to, args.timeout, args.keep)
            h_expected = ground_truth(manifest, d_from, h_to)
            if h.err:
                failures.append(f"realistic half-range: audit failed ({h.err})")
                print(f"[bench] audit failed: {h.err}\n{h.stderr_tail}", file=sys.stderr)
            elif attempts_of(h.report) != h_expected:
                failures.append(f"realistic half-range: totals.attempts {attempts_of(h.report)} != {h_expected}")
            checks.append((f"realistic {d_from}..{h_to}", h_expected, [attempts_of(h.report)], [h]))
            half_row = (d_from, h_to, d_to, h)

    # ----------------------------------------------------------------- report
    print()
    print("Local engine benchmark" + (" (--quick: smoke check, timings not meaningful)" if args.quick else ""))
    hdr = (f"{'density':<10} {'files':>6} {'GB JSON':>8} {'records':>9} {'floor s':>8} {'audit s':>8} "
           f"{'ratio':>6} {'RSS 1 MB':>9} {'RSS sum MB':>10} {'PSS sum MB':>10} {'procs':>5}  targets")
    print(hdr)
    print("-" * len(hdr))
    for r in rows:
        ratio = r["audit"] / r["floor"] if r["floor"] else float("nan")
        t_ratio = TARGET_RATIO[r["density"]]
        speed = "PASS" if ratio <= t_ratio else "FAIL"
        mem = "PASS" if max(r["single"], r["tree"]) <= TARGET_RSS_MB else "FAIL"
        if r["audit"] != r["audit"]:  # nan: the audit failed
            speed = mem = "n/a"
        print(f"{r['density']:<10} {r['files']:>6} {r['raw'] / 1e9:>8.3f} {r['records']:>9} {r['floor']:>8.2f} "
              f"{r['audit']:>8.2f} {ratio:>6.2f} {r['single']:>9.0f} {r['tree']:>10.0f} {r['pss']:>10.0f} "
              f"{r['procs']:>5}  ratio<={t_ratio:g} {speed}, RSS<={TARGET_RSS_MB:g}MB {mem}")
    print("  floor: one process, read + isal.igzip.decompress of every log file, warm cache, "
          f"best of {args.runs}; audit: whole-process wall time, best of {args.runs};")
    print("  RSS 1: largest RSS of any one process of the audit (wait4 ru_maxrss); RSS/PSS sum: peak "
          "over the live process tree, sampled every 20 ms (max over runs).")

    print()
    print("Correctness (totals.attempts vs generator ground truth: bedrock Put/DeleteResourcePolicy, "
          "AccessDenied*, eventTime in range)")
    for label, expected, got, runs_ in checks:
        ok = bool(runs_) and all(g == expected for g in got) and all(not r.err for r in runs_)
        cov = (runs_[0].report or {}).get("coverage", {}) if runs_ and runs_[0].report else {}
        print(f"  {label}: expected {expected}, got {', '.join(map(str, got)) or '-'}  "
              f"{'OK' if ok else 'MISMATCH'}  (files_scanned={cov.get('files_scanned')}, "
              f"records_scanned={cov.get('records_scanned')})")

    if half_row:
        h_from, h_to, f_to, h = half_row
        full = next(r for r in rows if r["density"] == "realistic")
        if not h.err and full["audit"] == full["audit"]:
            grow = max(full["single"] - h.single_mb, full["tree"] - h.tree_mb)
            flat = full["tree"] <= h.tree_mb * 1.15 + 16 and full["single"] <= h.single_mb * 1.15 + 16
            print()
            print("Memory as the trail grows (realistic):")
            print(f"  {h_from}..{h_to}: RSS 1 {h.single_mb:.0f} MB, RSS sum {h.tree_mb:.0f} MB, "
                  f"PSS sum {h.tree_pss_mb:.0f} MB, {h.wall:.2f}s")
            print(f"  {h_from}..{f_to}: "
                  f"RSS 1 {full['single']:.0f} MB, RSS sum {full['tree']:.0f} MB, PSS sum {full['pss']:.0f} MB, "
                  f"{full['audit']:.2f}s")
            print(f"  growth {grow:+.0f} MB: {'FLAT' if flat else 'GROWS'}")

    if failures:
        print()
        for f in failures:
            print(f"CORRECTNESS FAILURE: {f}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
