"""Speed and memory of ecg_image_kit on synthetic 12-lead, 10-s, 500-Hz records.

Measures
1. in-memory rendering (``render`` only, one process) for the clean,
   moderate and heavy presets, and render + PNG encoding;
2. CPU time per page of each step and of the CLI's worker function;
3. the CLI end to end (read record, render, PNG + JSON writing, record copy)
   with 1 and 2 processes for the clean and moderate presets, with the peak
   resident memory of the process(es) doing the work.

Usage: ``python benchmarks/bench_image_kit.py [--records 40] [--pages 20]``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ecgpaper.constants import LEADS_12  # noqa: E402
from ecgpaper.wfdbio import write_record  # noqa: E402


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


def bench_in_memory(pages: int) -> None:
    from ecg_image_kit import encode_png, is_noisy, render

    rng = np.random.default_rng(0)
    sigs = [synthetic_record(rng) for _ in range(4)]
    print(f"\n## In-memory render, 1 process, {pages} pages per preset (200 DPI clean/moderate)")
    print("| preset | render pages/s (wall) | render CPU ms/page | render+PNG pages/s (wall) | render+PNG CPU ms/page |")
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
              f"{pages / (t2 - t1):.1f} | {1000 * (c2 - c1) / pages:.1f} |")


_RUNNER = (
    "import resource, sys, time; sys.path.insert(0, {root!r}); import cv2; cv2.setNumThreads(1);"
    "from ecg_image_kit.cli import main; t = time.perf_counter(); rc = main({argv!r});"
    "dt = time.perf_counter() - t;"
    "hwm = [int(ln.split()[1]) for ln in open('/proc/self/status') if ln.startswith('VmHWM')][0];"
    "print('RESULT', rc, dt, hwm,"
    " resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
)


def bench_cli(records: int, work: Path) -> None:
    rng = np.random.default_rng(1)
    src = work / "in"
    for i in range(records):
        write_record(src / f"{i // 20:02d}" / f"rec{i:04d}", synthetic_record(rng), 500, LEADS_12,
                     ["Labels: NORM"])
    print(f"\n## CLI end to end: {records} records, 1 image each (read, render, PNG+JSON write, copy)")
    print("Peak RSS: VmHWM of the process with --jobs 1; largest worker (ru_maxrss of children) with 2.")
    print("CPU s: user+sys of the whole process tree; 'pages/s at 2 idle cores' = 2 / (CPU s per page),")
    print("what the run would give on this machine without other load (OpenCV limited to 1 thread).")
    print("| preset | jobs | wall s | pages/s (wall) | CPU s | CPU ms/page | pages/s at 2 idle cores | peak RSS per worker MiB | mean PNG KB |")
    print("|---|---|---|---|---|---|---|---|---|")
    runs = [(name, jobs, 1) for name in ("clean", "moderate") for jobs in (1, 2)] + [("moderate", 2, 0)]
    for name, jobs, level in runs:
        if True:
            out = work / f"out_{name}_{jobs}_{level}"
            argv = ["-i", str(src), "-o", str(out), "--config", name, "--jobs", str(jobs), "--quiet",
                    "--png-compression", str(level)]
            code = _RUNNER.format(root=str(ROOT), argv=argv)
            r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
            r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
            line = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT")][-1].split()
            rc, dt, rss_self, rss_child = int(line[1]), float(line[2]), int(line[3]), int(line[4])
            if rc != 0:
                raise RuntimeError(proc.stderr)
            pngs = list(out.rglob("*.png"))
            size_kb = np.mean([p.stat().st_size for p in pngs]) / 1024
            rss = (rss_self if jobs == 1 else rss_child) / 1024
            per = cpu / len(pngs)
            label = name if level == 1 else f"{name}, PNG level 0 (stored)"
            print(f"| {label} | {jobs} | {dt:.2f} | {len(pngs) / dt:.1f} | {cpu:.1f} | {1000 * per:.0f} | "
                  f"{2 / per:.1f} | {rss:.0f} | {size_kb:.0f} |", flush=True)


def bench_breakdown(work: Path, pages: int) -> None:
    """CPU time per page of each step, and of the CLI's worker function, in this process."""
    from ecg_image_kit import encode_png, is_noisy, render
    from ecg_image_kit.cli import process_record
    from ecg_image_kit.io import dumps_annotation, read_record

    rng = np.random.default_rng(2)
    src = work / "bd_in"
    for i in range(pages + 1):
        write_record(src / f"r{i:03d}", synthetic_record(rng), 500, LEADS_12, ["Labels: NORM"])

    def cpu() -> float:  # user + sys of this process, ns resolution
        return time.process_time()

    print(f"\n## CPU ms per page by step, 1 process, {pages} pages (user+sys)")
    print("| preset | read record | render (BGR) | PNG encode | JSON | worker function total (read, render, encode, write files) |")
    print("|---|---|---|---|---|---|")
    for name in ("clean", "moderate"):
        steps = dict(read=0.0, render=0.0, png=0.0, json=0.0)
        for i in range(pages):
            c0 = cpu()
            sig, head = read_record(src / f"r{i:03d}")
            c1 = cpu()
            res = render(sig, head.fs_hz, head.lead_names, name, seed=i, channel_order="BGR")
            c2 = cpu()
            encode_png(res.image, 1, is_noisy(res.annotation), bgr=True)
            c3 = cpu()
            dumps_annotation(res.annotation)
            c4 = cpu()
            for key, dt in zip(steps, (c1 - c0, c2 - c1, c3 - c2, c4 - c3)):
                steps[key] += dt
        task = dict(input=str(src), output=str(work / f"bd_out_{name}"), n=1, seed=0, config=name,
                    masks=False, yolo=False, ref=None, png_compression=1)
        process_record(dict(task, record=f"r{pages:03d}"))  # warm-up
        c0 = cpu()
        for i in range(pages):
            process_record(dict(task, record=f"r{i:03d}"))
        total = (cpu() - c0) / pages
        print(f"| {name} | " + " | ".join(f"{1000 * v / pages:.1f}" for v in steps.values())
              + f" | {1000 * total:.1f} (= {2 / total:.1f} pages/s on 2 idle cores) |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--records", type=int, default=40)
    ap.add_argument("--pages", type=int, default=20)
    args = ap.parse_args()
    import cv2

    cv2.setNumThreads(1)  # as in the CLI workers, so CPU time per page compares across runs
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, python {platform.python_version()}, "
          f"numpy {np.__version__}, opencv {cv2.__version__}; load average before: {os.getloadavg()}")
    bench_in_memory(args.pages)
    with tempfile.TemporaryDirectory() as tmp:
        bench_breakdown(Path(tmp), args.pages)
    with tempfile.TemporaryDirectory() as tmp:
        bench_cli(args.records, Path(tmp))
    print(f"\nload average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
