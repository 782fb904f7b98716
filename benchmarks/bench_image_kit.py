"""Speed and memory of ecg_image_kit on real PTB-XL records and on synthetic ones.

Measures
1. real WFDB records (default ``../shared/data/ptbxl_subset500``: the 66 records of
   PTB-XL fold 10 at 500 Hz; skipped with a note when the folder is absent):
   a. the command users run, ``python -m ecg_image_kit -i IN -o OUT --config P --jobs J
      --quiet``, as a subprocess: wall time, pages/s, CPU time of the whole process tree,
      peak RSS of the largest process, mean image size;
   b. CPU time per page of each step of the CLI's worker function (read, render, encode,
      write), in this process;
2. the same on synthetic 12-lead, 10-s, 500-Hz records (sum-of-Gaussian beats), and
   in-memory rendering (``render`` only) of the clean, moderate and heavy presets;
3. with ``--png-levels``: encoding time and size of real pages for PNG zlib levels 0-9
   and for JPEG and WebP at a few qualities.

The input folders are links to the records in a temporary folder (nothing is copied
into the repository). The load average is printed before and after each CLI run:
other processes on the machine slow the wall-clock figures.

With ``--baseline DIR`` (another checkout, e.g. the commit before a change) the CLI runs of
that tree and of this one alternate, so that both meet the same load.

Usage: ``python benchmarks/bench_image_kit.py [--real DIR] [--real-records 66]
[--records 40] [--pages 20] [--repeat 3] [--png-levels] [--skip-synthetic] [--baseline DIR]``
"""

from __future__ import annotations

import argparse
import csv
import itertools
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from ecgcore.constants import LEADS_12
from ecgcore.wfdbio import find_records, write_record

ROOT = Path(__file__).resolve().parents[1]  # the repository root

STEPS = ("read", "render", "encode", "write")


def synthetic_record(rng: np.random.Generator, fs: float = 500.0, duration_s: float = 10.0) -> np.ndarray:
    """Sum-of-Gaussians beats with random rate, amplitudes and a little noise, (n, 12) mV."""
    n = int(fs * duration_s)
    t = np.arange(n) / fs
    rr = 60.0 / rng.uniform(50, 110)
    ph = t % rr
    sig = np.empty((n, 12))
    for k in range(12):
        a = rng.uniform(0.4, 1.6) * rng.choice([-1, 1])
        waves = ((0.15, 0.10, 0.025), (-0.12, 0.26, 0.010), (1.0, 0.30, 0.012), (-0.25, 0.33, 0.012),
                 (0.3, 0.55, 0.05))
        sig[:, k] = a * sum(w[0] * np.exp(-((ph - w[1]) / w[2]) ** 2) for w in waves)
    return sig + 0.01 * rng.standard_normal(sig.shape)


def synthetic_folder(folder: Path, records: int, seed: int) -> Path:
    """``records`` synthetic format-16 records in sub-folders of 20 under ``folder``."""
    rng = np.random.default_rng(seed)
    for i in range(records):
        write_record(folder / f"{i // 20:02d}" / f"rec{i:04d}", synthetic_record(rng), 500, LEADS_12,
                     ["Labels: NORM"])
    return folder


def real_folder(data: Path, records: int, folder: Path) -> tuple[Path, str]:
    """Links to ``records`` 500-Hz PTB-XL records: those of fold 10 (then fold 9, ...) when
    ``ptbxl_database.csv`` is there, else the first ones; returns the folder and a description.
    """
    table = data / "ptbxl_database.csv"
    if table.is_file():
        with open(table, newline="", encoding="utf-8") as fh:
            rows = sorted(csv.DictReader(fh), key=lambda r: (-int(r["strat_fold"]), int(r["ecg_id"])))
        chosen = [r["filename_hr"] for r in rows][:records]
        folds = sorted({r["strat_fold"] for r in rows[:records]}, key=int)
        what = f"PTB-XL strat_fold {', '.join(folds)}"
    else:
        chosen = [r for r in find_records(data) if r.endswith("_hr")][:records]
        what = "the first records"
    folder.mkdir(parents=True)
    for rel in chosen:
        for ext in (".hea", ".dat"):
            src = (data / (rel + ext)).resolve()
            (folder / src.name).symlink_to(src)
    return folder, f"{len(chosen)} records of {data} ({what}; 500 Hz, 12 leads, 10 s, format 16)"


def _load() -> str:
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


def _hwm_kib(pid: int) -> int:
    """Peak resident memory (VmHWM, KiB) of a running process and of its children, the largest."""
    best = 0
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            best = max([int(ln.split()[1]) for ln in fh if ln.startswith("VmHWM")] + [0])
        with open(f"/proc/{pid}/task/{pid}/children", encoding="ascii") as fh:
            children = [int(x) for x in fh.read().split()]
    except (OSError, ValueError):
        return best
    return max([best] + [_hwm_kib(c) for c in children])


def _run_watched(cmd: list[str], cwd: Path, err) -> tuple[float, int, "os.struct_rusage", int]:
    """Run ``cmd`` in ``cwd``: wall s, exit status, rusage of it and its workers,
    and the largest VmHWM (KiB) seen while polling every 20 ms (``ru_maxrss`` would count the
    memory of this process, which forks it).
    """
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=err)
    peak = 0
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        peak = max(peak, _hwm_kib(proc.pid))
        time.sleep(0.02)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    return wall, proc.returncode, usage, peak


def bench_cli(src: Path, work: Path, runs: list[tuple[str, int]], repeat: int, trees: dict[str, Path]) -> None:
    """The CLI as users run it, in a subprocess from the root of each tree (``trees``: label to
    repository root); with several trees their runs alternate, so all meet the same load.
    """
    pages = len(find_records(src))
    print("Wall: the subprocess from start to exit. CPU s: user+sys of it and its workers. "
          "RSS: largest VmHWM of its processes. Load: 1-min load average just before the run.")
    print("| preset | jobs | code | run | wall s | pages/s (wall) | CPU s | CPU ms/page | peak RSS MiB | "
          "mean image KB | load before |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name, jobs in runs:
        rates: dict[str, list[float]] = {label: [] for label in trees}
        for rep, (label, tree) in itertools.product(range(repeat), trees.items()):
            out = work / f"out_{src.name}_{name}_{jobs}_{label}_{rep}"
            cmd = [sys.executable, "-m", "ecg_image_kit", "-i", str(src), "-o", str(out), "--config", name,
                   "--jobs", str(jobs), "--quiet"]
            load = os.getloadavg()[0]
            with open(work / "stderr.txt", "w+", encoding="utf-8") as err:
                wall, code, usage, peak_kib = _run_watched(cmd, tree, err)
                err.seek(0)
                if code != 0:
                    raise RuntimeError(f"{' '.join(cmd)} failed:\n{err.read()}")
            cpu = usage.ru_utime + usage.ru_stime
            images = [p for p in out.rglob("*-0.*") if p.suffix != ".json"]
            size_kb = np.mean([p.stat().st_size for p in images]) / 1024
            rates[label].append(pages / wall)
            print(f"| {name} | {jobs} | {label} | {rep + 1} | {wall:.2f} | {pages / wall:.1f} | {cpu:.2f} | "
                  f"{1000 * cpu / pages:.0f} | {peak_kib / 1024:.0f} | {size_kb:.0f} | {load:.2f} |",
                  flush=True)
        for label, r in rates.items():  # the best run is the one least slowed by other processes
            if repeat > 1:
                print(f"| {name} | {jobs} | {label} | median, best | | **{np.median(r):.1f}**, "
                      f"{max(r):.1f} | | | | | |", flush=True)
    print("\nCommand: python -m ecg_image_kit -i IN -o OUT --config PRESET --jobs J --quiet")


def bench_steps(src: Path, work: Path, presets: tuple[str, ...]) -> None:
    """CPU ms per page of each step of the CLI's worker function, in this process."""
    import shutil

    from ecg_image_kit.cli import DEFAULT_PNG_COMPRESSION, process_record

    records = find_records(src)
    print(f"| preset | pages | {' | '.join(STEPS)} | worker total |")
    print("|---|---|" + "---|" * (len(STEPS) + 1))
    for name in presets:
        task = dict(input=str(src), output=str(work / f"steps_{name}"), n=1, seed=0, config=name,
                    masks=False, yolo=False, ref=None, png_compression=DEFAULT_PNG_COMPRESSION,
                    image_format="png", quality=90)
        process_record(dict(task, record=records[0]))  # warm-up: imports, grid and font caches
        shutil.rmtree(task["output"])
        total = dict.fromkeys(STEPS, 0.0)
        c0 = time.process_time()
        for rel in records:
            status = process_record(dict(task, record=rel))
            if status["error"]:
                raise RuntimeError(status["error"])
            for step in STEPS:
                total[step] += status["cpu_s"][step]
        whole = (time.process_time() - c0) / len(records)
        per_step = " | ".join(f"{1000 * total[s] / len(records):.1f}" for s in STEPS)
        print(f"| {name} | {len(records)} | {per_step} | {1000 * whole:.1f} |", flush=True)


def bench_in_memory(pages: int) -> None:
    from ecg_image_kit import encode_png, is_noisy, render

    rng = np.random.default_rng(0)
    sigs = [synthetic_record(rng) for _ in range(4)]
    print("| preset | render pages/s (wall) | render CPU ms/page | render+PNG pages/s (wall) "
          "| render+PNG CPU ms/page |")
    print("|---|---|---|---|---|")
    for name in ("clean", "moderate", "heavy"):
        render(sigs[0], 500, LEADS_12, name, seed=0)  # warm caches (grid, fonts)
        t0, c0 = time.perf_counter(), time.process_time()
        for i in range(pages):
            render(sigs[i % 4], 500, LEADS_12, name, seed=i)
        t1, c1 = time.perf_counter(), time.process_time()
        for i in range(pages):
            res = render(sigs[i % 4], 500, LEADS_12, name, seed=i)
            encode_png(res.image, 1, is_noisy(res.annotation))
        t2, c2 = time.perf_counter(), time.process_time()
        print(f"| {name} | {pages / (t1 - t0):.1f} | {1000 * (c1 - c0) / pages:.1f} | "
              f"{pages / (t2 - t1):.1f} | {1000 * (c2 - c1) / pages:.1f} |", flush=True)


def bench_png_levels(src: Path, pages: int) -> None:
    """Encoding CPU ms and size per page for PNG levels and lossy formats, on real pages."""
    from ecg_image_kit import is_noisy
    from ecg_image_kit.io import encode_image
    from ecg_image_kit.render import render
    from ecgcore.wfdbio import read_signal

    records = find_records(src)[:pages]
    print("Median over pages of the fastest of 3 encodings (CPU ms); 'up' filter; moderate pages use "
          "Huffman-only coding (noisy pages, as the CLI does).")
    print("| preset | format | level / quality | encode CPU ms | mean KB |")
    print("|---|---|---|---|---|")
    for name in ("clean", "moderate"):
        images = []
        for i, rel in enumerate(records):
            sig, head = read_signal(src / rel)
            res = render(sig, head.fs_hz, head.lead_names, name, seed=i, channel_order="BGR")
            images.append((res.image, is_noisy(res.annotation)))
        cases = [("png", lv, 90) for lv in range(10)] + [("jpg", 0, q) for q in (80, 90, 95)] + \
            [("webp", 0, q) for q in (80, 90)]
        for fmt, level, quality in cases:
            times, sizes = [], []
            for img, noisy in images:
                best = np.inf
                for _ in range(3 if (fmt, level) != ("png", 9) else 1):
                    c0 = time.process_time()
                    buf = encode_image(img, fmt, level, noisy, quality)
                    best = min(best, time.process_time() - c0)
                times.append(best)
                sizes.append(buf.size)
            setting = str(level) if fmt == "png" else f"q{quality}"
            print(f"| {name} | {fmt} | {setting} | {1000 * np.median(times):.1f} | "
                  f"{np.mean(sizes) / 1024:.0f} |",
                  flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--real", type=Path, default=ROOT.parent / "shared" / "data" / "ptbxl_subset500",
                    help="PTB-XL folder (records500/, ptbxl_database.csv); skipped if absent")
    ap.add_argument("--real-records", type=int, default=66, help="real records (fold 10 has 66)")
    ap.add_argument("--records", type=int, default=40, help="synthetic records for the CLI runs")
    ap.add_argument("--pages", type=int, default=20, help="pages of the in-memory and PNG-level runs")
    ap.add_argument("--repeat", type=int, default=3, help="runs of each CLI setting")
    ap.add_argument("--png-levels", action="store_true", help="also time PNG levels, JPEG and WebP")
    ap.add_argument("--skip-synthetic", action="store_true")
    ap.add_argument("--baseline", type=Path, help="another checkout (e.g. `git worktree add /tmp/base "
                    "REV`) whose CLI runs alternate with this one's on the real records")
    args = ap.parse_args()
    import cv2

    cv2.setNumThreads(1)  # as in the CLI workers, so CPU time per page compares across runs
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, python {platform.python_version()}, "
          f"numpy {np.__version__}, opencv {cv2.__version__}; load average before: {_load()}")
    runs = [("clean", 2), ("moderate", 2), ("clean", 1)]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if (args.real / "records500").is_dir():
            src, what = real_folder(args.real, args.real_records, work / "real")
            print(f"\n## Real records: {what}\n\n### CLI end to end (read, render, PNG + JSON, record copy)")
            trees = {"this": ROOT} if args.baseline is None else {"baseline": args.baseline.resolve(),
                                                                   "this": ROOT}
            bench_cli(src, work, runs, args.repeat, trees)
            print("\n### CPU ms per page by step of the worker function, 1 process")
            bench_steps(src, work, ("clean", "moderate"))
            if args.png_levels:
                print("\n### Image encoding of real pages")
                bench_png_levels(src, args.pages)
        else:
            print(f"\n## Real records: skipped ({args.real} has no records500/)")
        if not args.skip_synthetic:
            src = synthetic_folder(work / "synthetic", args.records, seed=1)
            print(f"\n## Synthetic records: {args.records} (12 leads, 10 s, 500 Hz)\n\n### CLI end to end")
            bench_cli(src, work, runs, 1, {"this": ROOT})
            print("\n### CPU ms per page by step of the worker function, 1 process")
            bench_steps(src, work, ("clean", "moderate"))
            print(f"\n### In-memory render, 1 process, {args.pages} pages per preset")
            bench_in_memory(args.pages)
    print(f"\nload average after: {_load()}")


if __name__ == "__main__":
    main()
