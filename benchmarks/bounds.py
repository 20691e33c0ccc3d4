#!/usr/bin/env python3
"""What the local engine cannot go below on this machine: the parts of its work that no
audit can skip, each measured alone on a benchmark trail, and the ratio to the
decompression floor they add up to (the bench's ratio, bench_local.py).

For each trail (gen_trail.py's kinds, cached as bench_local.py caches them):

* floor: one process `isal.igzip.decompress`-ing every log file (bench_local's floor);
* per file, one core, best of --runs: our gunzip (rawjson.gunzip), the validating parse
  that finds the file's top-level records (rawjson.record_index: what keeps a caller's
  nested object from being read as a record, issue 7), whether each of the shipped
  queries' needles is in the file at all (one memmem each: less than the search needs),
  and the whole scan of a file (prefilter.scan, rows in memory);
* two cores: the floor run in two processes at once over halves of the files (how much
  of a second core this machine gives);
* start-up: `python -m auditor --version` and `python -c "import duckdb"`.

Where they are installed (`pip install pysimdjson deflate`: not dependencies of auditor),
the fastest parts PyPI has are timed beside ours: libdeflate's gunzip (`deflate`) and
simdjson's validating parse (`pysimdjson`: the structure only, without the record
offsets the engine needs, so less than our parse does), and a fourth bound takes the
faster of each pair: what no design in Python could go below with today's libraries.

Then lower bounds of the bench's ratio: (start-up + files x per-file work / (cores x their
efficiency)) / floor (the floor of the sampled files, measured with the parts: this VM's
speed drifts by 20% and more between minutes), for three amounts of per-file work:
gunzip alone (any design that reads every file), gunzip + parse + needles (what an audit
with issue 7's guarantee cannot skip), and today's whole scan (nothing after it: no
DuckDB, no report). Nothing here changes the exit status; figures go to stdout.

    .venv/bin/python benchmarks/bounds.py --trail realistic,storm-sparse --sample 400
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO))
import bench_local  # noqa: E402  (beside this file: trails, the floor)


def per_file(files: list[Path], runs: int) -> dict[str, float]:
    """CPU seconds per file of each part, one core: best of `runs` rounds, the parts
    interleaved in each round (this VM's speed drifts: each part sees the same drift)."""
    from isal import igzip

    from auditor.config import AuditConfig, DateRange
    from auditor.engines import prefilter
    from auditor.engines.hints import ScanHints
    from auditor.engines.local import TARGET
    from auditor.engines.rawjson import contains, gunzip, record_index
    from auditor.plan import build_plan

    plan = build_plan(
        AuditConfig(range=DateRange(date(2026, 10, 1), date(2026, 10, 31)), source="x"), TARGET
    )
    settings = prefilter.ScanSettings.from_plan(ScanHints.of(plan), None)
    prefilter.init(settings)
    needles = settings.queries.needles
    raws = [f.read_bytes() for f in files]
    datas = [gunzip(r) for r in raws]
    tasks = [prefilter.Task(str(f), "111122223333", "us-east-1", "2026/10/05") for f in files]

    def each(fn, items):  # type: ignore[no-untyped-def]
        # one result alive at a time: a list of 400 inflated files would time page faults
        def run() -> None:
            for x in items:
                fn(x)

        return run

    parts = {
        "floor": each(igzip.decompress, raws),  # the bench's floor, per file
        "gunzip": each(gunzip, raws),
        "parse": each(record_index, datas),
        # whether each needle is in the file at all: less than the search needs
        "needles": each(lambda d: [contains(d, x) for x in needles], datas),
        "scan": each(prefilter.scan, tasks),
    }
    parts.update(_fastest_known(raws, datas, each))
    best = dict.fromkeys(parts, float("inf"))
    for _ in range(runs):
        for name, fn in parts.items():
            t0 = time.process_time()
            fn()
            best[name] = min(best[name], time.process_time() - t0)
    return {k: v / len(files) for k, v in best.items()}


def _fastest_known(raws: list[bytes], datas: list[bytes], each):  # type: ignore[no-untyped-def]
    """The fastest gunzip and validating parse on PyPI, where installed."""
    out = {}
    try:
        import deflate  # libdeflate

        out["gunzip_libdeflate"] = each(deflate.gzip_decompress, raws)
    except ImportError:
        pass
    try:
        import simdjson

        parser = simdjson.Parser()

        def structure(d: bytes) -> None:
            doc = parser.parse(d)  # validates the whole document
            del doc

        out["parse_simdjson"] = each(structure, datas)
    except ImportError:
        pass
    return out


def _floor_half(paths: list[str]) -> None:
    bench_local.decompression_floor([Path(p) for p in paths], 1)


def core_efficiency(files: list[Path], runs: int) -> tuple[float, float, float]:
    """(floor s, the floor in two processes at once over halves of the files s, the
    efficiency of the second core: 1.0 when it doubles the throughput), best of `runs`
    rounds, one process and two alternating (the drift hits both alike)."""
    halves = [[str(f) for f in files[0::2]], [str(f) for f in files[1::2]]]
    ctx = multiprocessing.get_context("fork")
    one = two = float("inf")
    for _ in range(runs):
        one = min(one, bench_local.decompression_floor(files, 1)[0])
        procs = [ctx.Process(target=_floor_half, args=(h,)) for h in halves]
        t0 = time.perf_counter()
        for p in procs:
            p.start()
        for p in procs:
            p.join()
        two = min(two, time.perf_counter() - t0)
    return one, two, one / two / 2


def wall(cmd: list[str], runs: int) -> float:
    best = float("inf")
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(cmd, cwd=REPO, capture_output=True, check=False)
        best = min(best, time.perf_counter() - t0)
    return best


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", type=Path, default=REPO / "bench-data")
    ap.add_argument("--trail", type=bench_local.parse_trails, default="realistic,storm-sparse")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--sample", type=int, default=400, help="files timed per part (one core)")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args(argv)
    cores = os.cpu_count() or 1
    start = wall([sys.executable, "-m", "auditor", "--version"], args.runs)
    duck = wall([sys.executable, "-c", "import duckdb"], args.runs)
    print(f"start-up: auditor --version {start:.2f} s, import duckdb {duck:.2f} s; {cores} cores")
    rows = []
    for kind in args.trail:
        trail, _ = bench_local.ensure_trail(args.data_dir, False, kind, args.seed, False)
        files = bench_local.log_files(trail)
        floor, both, eff = core_efficiency(files, args.runs)
        step = max(1, len(files) // args.sample)
        part = per_file(files[::step][: args.sample], args.runs)

        # the floor of the sample's files scaled to the trail: the same drift as the parts
        est = part["floor"] * len(files)

        def bound(work: float, n: int = len(files), f: float = est, e: float = eff) -> float:
            return (start + n * work / (cores * e)) / f

        gz = bound(part["gunzip"])
        must = bound(part["gunzip"] + part["parse"] + part["needles"])
        scan_bound = bound(part["scan"])
        best_gz = min(part["gunzip"], part.get("gunzip_libdeflate", part["gunzip"]))
        best_parse = min(part["parse"], part.get("parse_simdjson", part["parse"]))
        known = bound(best_gz + best_parse + part["needles"])
        rows.append((kind, floor, eff, part, gz, must, scan_bound, known))
        print(
            f"{kind}: {len(files)} files, floor {floor:.2f} s; two processes {both:.2f} s "
            f"(core efficiency {eff:.2f}); per file, one core: floor {part['floor'] * 1e3:.2f}, "
            f"gunzip {part['gunzip'] * 1e3:.2f}, "
            f"parse {part['parse'] * 1e3:.2f}, needles {part['needles'] * 1e3:.2f}, "
            f"whole scan {part['scan'] * 1e3:.2f} ms; lower bounds of the ratio: gunzip "
            f"alone {gz:.2f}, unskippable {must:.2f}, today's scan {scan_bound:.2f}",
            flush=True,
        )
        if "gunzip_libdeflate" in part or "parse_simdjson" in part:
            print(
                f"{kind}: fastest parts on PyPI: gunzip (libdeflate) "
                f"{part.get('gunzip_libdeflate', float('nan')) * 1e3:.2f} ms, parse "
                f"(simdjson) {part.get('parse_simdjson', float('nan')) * 1e3:.2f} ms; "
                f"unskippable with the faster of each: {known:.2f}",
                flush=True,
            )
    print()
    print(
        "| trail | floor s | core efficiency | floor ms | gunzip ms | parse ms | needles ms | scan ms "
        "| bound: gunzip alone | bound: unskippable | bound: today's scan "
        "| bound: unskippable, fastest parts on PyPI |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for kind, floor, eff, p, gz, must, scan_bound, known in rows:
        print(
            f"| {kind} | {floor:.2f} | {eff:.2f} | {p['floor'] * 1e3:.2f} | {p['gunzip'] * 1e3:.2f} "
            f"| {p['parse'] * 1e3:.2f} | {p['needles'] * 1e3:.2f} | {p['scan'] * 1e3:.2f} "
            f"| {gz:.2f} | {must:.2f} | {scan_bound:.2f} | {known:.2f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
