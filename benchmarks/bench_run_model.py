"""Benchmark of what a user runs: ``run_model.py`` end to end, per record and per stage (issue 21).

Three sets of hidden records (header + image, no signal), each run the way a user runs them:

* ``own``: PTB-XL folds 9-10 of ``ptbxl_subset500`` (prepared by ``ecgpaper.prepare ptbxl``),
  drawn by this project's generator (``python -m ecg_image_kit``, ``--preset``, default
  ``clean``) and hidden by ``python -m ecgpaper.prepare hidden``;
* ``plain`` and ``distorted``: the official generator's pages in ``../shared/data/eik_samples``
  (their ``.dat`` files are the masked references), hidden the same way.

For each set it times

1. ``python run_model.py -d HIDDEN -m MODEL -o OUT -f`` as a child process: wall-clock and CPU
   seconds (user + system of the child) per record, interpreter start and imports included;
2. the same run in this process (``ecgpaper.runner.run_folder`` with ``team_code``'s
   functions), with timers around the functions it calls: model load (once), image decode,
   each digitizer stage (``digitize_image``'s own ``info["timings_s"]``), the rest of the
   digitization (assembling the leads), classification (features without delineation,
   delineation, trees and rules) and writing.  Wall-clock and CPU seconds (``process_time``:
   all threads of this process) per record.

The outputs of step 1 are scored against the masked references (Challenge SNR and macro F,
``ecgpaper.scoring``), so that a speed change can be checked not to change the results.

The model is ``--model-dir`` when given; otherwise one is trained once into
``WORK/model`` on ``--n-train`` records of folds 1-8 (those drawn in ``eik_samples``
excluded) with ``python -m ecgpaper.runner --cnn-steps N``: the training of
``train_model.py`` with fewer network steps (the network's size, hence its run time, is the
same).  The output says which model ran.  ``uptime`` is printed before and after: the machine
may be shared, and the load changes every timing.

Usage::

    python benchmarks/bench_run_model.py [--work /tmp/bench_run_model] [--model-dir MODEL]
        [--sets own,plain,distorted] [--n-own 22] [--preset clean] [--jobs 1,2 --repeats 2]

``--jobs 1,2 --repeats 2`` runs step 1 four times, ``--jobs`` 1, 2, 1, 2 (alternating, so that a
change of the machine's load falls on both), checks that every run wrote the bytes of the first
and prints the best wall clock of each value and its speed-up over the first value.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import logging
import os
import resource
import shutil
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from ecgcore.wfdbio import find_records
from ecgpaper import runner
from ecgpaper.classify import features as clf_features
from ecgpaper.classify import model as clf_model
from ecgpaper.demo import _copy_records, _rename_masked_references
from ecgpaper.digitize import api as dig_api
from ecgpaper.prepare import make_hidden, prepare_ptbxl
from ecgpaper.scoring.evaluate import evaluate_folders

REPO = Path(__file__).resolve().parents[1]  # the repository root


def _load_team_code():
    """The Challenge adapter ``team_code.py``: a script at the repository root, not part of
    the installed package."""
    spec = importlib.util.spec_from_file_location("team_code", REPO / "team_code.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["team_code"] = module
    spec.loader.exec_module(module)
    return module


team_code = _load_team_code()

SHARED = REPO.parent / "shared" / "data"
#: Digitizer stages in the order ``digitize_image`` records them.
DIGITIZER_STAGES = ("load", "geometry", "grid", "rows", "trace", "centreline", "calibrate",
                    "place")


def uptime() -> str:
    """The load line of ``uptime`` (or ``/proc/loadavg``)."""
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "loadavg " + Path("/proc/loadavg").read_text().strip()


def _run(cmd: list, log: Path | None = None) -> None:
    """Run ``cmd`` from the repository root; with ``log``, its stderr goes there."""
    shown = " ".join(str(c) for c in cmd).replace(sys.executable, "python")
    print(f"$ {shown}" + (f" 2> {log}" if log else ""), flush=True)
    if log is None:
        subprocess.run([str(c) for c in cmd], check=True, cwd=REPO)
        return
    with open(log, "w") as fh:
        subprocess.run([str(c) for c in cmd], check=True, cwd=REPO, stderr=fh)


def _ptbxl_folds(ptbxl: Path) -> dict[int, list[str]]:
    """PTB-XL 500-Hz record paths (relative, no extension) per ``strat_fold``."""
    out: dict[int, list[str]] = {}
    with open(ptbxl / "ptbxl_database.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            out.setdefault(int(row["strat_fold"]), []).append(row["filename_hr"])
    return out


def build_own_pages(work: Path, ptbxl: Path, eik: Path, n_own: int, n_train: int, preset: str,
                    seed: int) -> tuple[Path, Path, Path] | None:
    """Training records, hidden test pages and masked references from PTB-XL (built once).

    Returns ``(train, hidden, reference)`` folders, or None without the PTB-XL data.
    """
    if not (ptbxl / "ptbxl_database.csv").is_file():
        print(f"{ptbxl}: no PTB-XL data; own pages skipped")
        return None
    own = work / "own"
    train, hidden, reference = own / "train", own / "hidden", own / "reference"
    if (own / "done").is_file():
        return train, hidden, reference
    shutil.rmtree(own, ignore_errors=True)
    prepared = own / "prepared"
    prepare_ptbxl(ptbxl, prepared, quiet=True)
    have = set(find_records(prepared))
    drawn = {p.name.removesuffix(".hea") for p in eik.glob("*/*.hea")}
    fl = _ptbxl_folds(ptbxl)
    test = [r for f in (9, 10) for r in sorted(fl.get(f, [])) if r in have][:n_own]
    train_recs = [r for f in range(1, 9) for r in sorted(fl.get(f, []))
                  if r in have and Path(r).name not in drawn][:n_train]
    _copy_records(prepared, train_recs, train)
    _copy_records(prepared, test, own / "test_signals")
    images = own / "images"
    _run([sys.executable, "-m", "ecg_image_kit", "-i", own / "test_signals", "-o", images,
          "--config", preset, "--seed", seed, "--jobs", 1, "--masked-reference", own / "masked",
          "--quiet"])
    _rename_masked_references(own / "masked", reference)
    make_hidden(images, hidden, quiet=True)
    (own / "done").write_text(f"{len(test)} test, {len(train_recs)} training records\n")
    return train, hidden, reference


def ensure_model(args, train: Path | None) -> Path | None:
    """The model folder: ``--model-dir``, or one trained once into ``WORK/model``."""
    if args.model_dir is not None:
        if not args.model_dir.is_dir():
            print(f"model folder {args.model_dir} not found; nothing to run")
            return None
        return args.model_dir
    model = args.work / "model"
    if (model / runner.CONFIG_NAME).is_file():
        return model
    if train is None:
        print("no --model-dir and no training records; nothing to run")
        return None
    _run([sys.executable, "-m", "ecgpaper.runner", "-d", train, "-m", model,
          "--cnn-steps", args.cnn_steps])
    return model


def describe_model(model: Path) -> str:
    """One line: which digitizer and classifier ``model`` holds."""
    dig, clf = runner.load(model)
    cl = dig.digitizer.meta.get("centreline", {}) if dig.digitizer else {}
    net = "none"
    if dig.digitizer is not None and dig.digitizer.centreline is not None:
        net = (f"kept ({cl.get('steps')} steps, {cl.get('tiles')} tiles, validation "
               f"{cl.get('validation_db')})")
    return (f"model {model}: digitizer {'trained' if dig.digitizer else 'defaults'}, "
            f"centre-line network {net}, classifier "
            f"{'none' if clf is None else ', '.join(clf.classes)}")


class StageClock:
    """Wall-clock and CPU seconds per named stage, summed over calls."""

    def __init__(self) -> None:
        self.wall: dict[str, float] = {}
        self.cpu: dict[str, float] = {}
        self.calls: dict[str, list[float]] = {}

    def add(self, name: str, wall: float, cpu: float | None) -> None:
        self.wall[name] = self.wall.get(name, 0.0) + wall
        self.calls.setdefault(name, []).append(wall)
        if cpu is not None:
            self.cpu[name] = self.cpu.get(name, 0.0) + cpu

    def wrap(self, name: str, fn):
        def timed(*a, **kw):
            w, c = time.perf_counter(), time.process_time()
            try:
                return fn(*a, **kw)
            finally:
                self.add(name, time.perf_counter() - w, time.process_time() - c)
        return timed


@contextmanager
def patched(*targets):
    """Replace ``(module, attribute, new)`` for the duration of the block."""
    saved = [(mod, attr, getattr(mod, attr)) for mod, attr, _ in targets]
    try:
        for mod, attr, new in targets:
            setattr(mod, attr, new)
        yield
    finally:
        for mod, attr, old in saved:
            setattr(mod, attr, old)


def profile_in_process(hidden: Path, model: Path, out: Path) -> tuple[StageClock, int, float]:
    """Run ``run_folder`` here with timers around its calls; (clock, records, wall s)."""
    clock = StageClock()
    digitize_image = dig_api.digitize_image

    def timed_digitize(*a, **kw):
        ro = digitize_image(*a, **kw)
        for name, sec in ro.info.get("timings_s", {}).items():
            clock.add(f"digitize: {name}", sec, None)
        return ro

    shutil.rmtree(out, ignore_errors=True)
    targets = [(runner, "read_image", clock.wrap("decode image", runner.read_image)),
               (runner, "digitize_images", clock.wrap("digitize (all)", runner.digitize_images)),
               (dig_api, "digitize_image", timed_digitize),
               (clf_model, "extract_features",
                clock.wrap("classify: features", clf_model.extract_features)),
               (clf_features, "delineate",
                clock.wrap("classify: delineation", clf_features.delineate)),
               (clf_model.Classifier, "predict_proba_features",
                clock.wrap("classify: trees + rules", clf_model.Classifier.predict_proba_features)),
               (runner, "write_output", clock.wrap("write output", runner.write_output))]
    t0 = time.perf_counter()
    with patched(*targets):
        summary = runner.run_folder(hidden, model, out,
                                    clock.wrap("load models (once)", team_code.load_models),
                                    clock.wrap("record (all)", team_code.run_models),
                                    allow_failures=True)
    return clock, summary.records, time.perf_counter() - t0


def print_profile(clock: StageClock, n: int, wall_s: float) -> None:
    """The per-stage table, seconds per record (model load: once)."""
    print("| stage | wall s/record | CPU s/record |")
    print("|---|---|---|")
    rec_wall = clock.wall.get("record (all)", 0.0)

    def row(name: str, wall: float, cpu: float | None, per: int) -> None:
        cpu_txt = "-" if cpu is None else f"{cpu / per:.3f}"
        print(f"| {name} | {wall / per:.3f} | {cpu_txt} |")

    row("load models (once, s)", clock.wall.get("load models (once)", 0.0),
        clock.cpu.get("load models (once)"), 1)
    row("decode image", clock.wall.get("decode image", 0.0), clock.cpu.get("decode image"), n)
    stages = [s for s in DIGITIZER_STAGES if f"digitize: {s}" in clock.wall]
    for s in stages:
        row(f"digitize: {s}", clock.wall[f"digitize: {s}"], None, n)
    inside = sum(clock.wall[f"digitize: {s}"] for s in stages)
    row("digitize: assemble, conform", clock.wall.get("digitize (all)", 0.0) - inside, None, n)
    row("digitize (all stages)", clock.wall.get("digitize (all)", 0.0),
        clock.cpu.get("digitize (all)"), n)
    feat_w = clock.wall.get("classify: features", 0.0)
    feat_c = clock.cpu.get("classify: features", 0.0)
    del_w = clock.wall.get("classify: delineation", 0.0)
    del_c = clock.cpu.get("classify: delineation", 0.0)
    row("classify: delineation", del_w, del_c, n)
    row("classify: other features", feat_w - del_w, feat_c - del_c, n)
    row("classify: trees + rules", clock.wall.get("classify: trees + rules", 0.0),
        clock.cpu.get("classify: trees + rules"), n)
    row("write output", clock.wall.get("write output", 0.0), clock.cpu.get("write output"), n)
    row("**record (run_models + write)**", rec_wall + clock.wall.get("write output", 0.0),
        clock.cpu.get("record (all)", 0.0) + clock.cpu.get("write output", 0.0), n)
    per = np.array(clock.calls.get("record (all)", [np.nan]))
    print(f"\nin-process run_folder: {n} records in {wall_s:.1f} s wall "
          f"({wall_s / max(n, 1):.2f} s/record with the model load); run_models per record: "
          f"median {np.median(per):.2f} s, max {per.max():.2f} s")


def child_seconds(cmd: list, log: Path | None = None) -> tuple[float, float]:
    """Run ``cmd`` (see :func:`_run`): (wall s, CPU s of the child)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    _run(cmd, log)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def run_end_to_end(hidden: Path, model: Path, out: Path, jobs: int = 1) -> tuple[float, float]:
    """``python run_model.py -f [--jobs J]`` as a child: (wall s, CPU s of the child and of
    its worker processes)."""
    shutil.rmtree(out, ignore_errors=True)
    extra = ["--jobs", jobs] if jobs != 1 else []
    return child_seconds([sys.executable, "run_model.py", "-d", hidden, "-m", model, "-o", out,
                          "-f", *extra], log=out.with_name(out.name + ".log"))


def same_files(a: Path, b: Path) -> bool:
    """Whether two output folders hold the same files with the same bytes."""
    def files(root: Path) -> dict[str, bytes]:
        return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
                if p.is_file()}
    return files(a) == files(b)


def load_1min() -> str:
    """The 1-minute load average."""
    return Path("/proc/loadavg").read_text().split()[0] if Path("/proc/loadavg").is_file() else "?"


def compare_jobs(hidden: Path, model: Path, out: Path, jobs: list[int], repeats: int,
                 n: int) -> None:
    """``run_model.py`` with each ``--jobs`` value, ``repeats`` rounds, the values alternating
    within a round; ``out`` holds the first run, every other run is checked byte for byte
    against it."""
    walls: dict[int, list[float]] = {j: [] for j in jobs}
    for rep in range(repeats):
        for j in jobs:
            first = rep == 0 and j == jobs[0]
            folder = out if first else out.with_name(f"{out.name}_jobs{j}")
            load = load_1min()
            wall, cpu = run_end_to_end(hidden, model, folder, j)
            walls[j].append(wall)
            same = "" if first else ("; outputs byte-identical to the first run"
                                     if same_files(out, folder) else "; OUTPUTS DIFFER")
            print(f"run_model.py --jobs {j} (round {rep + 1}, load {load} before): {wall:.1f} s "
                  f"wall, {cpu:.1f} s CPU: {wall / n:.2f} s wall, {cpu / n:.2f} s CPU per record"
                  f"{same}", flush=True)
    base = min(walls[jobs[0]])
    print("best wall per --jobs: " + ", ".join(
        f"{j}: {min(w):.1f} s ({base / min(w):.2f}x)" for j, w in walls.items()))


def hidden_eik(eik: Path, name: str, work: Path) -> tuple[Path, Path] | None:
    """(hidden copy, reference folder) of one ``eik_samples`` set, or None when absent."""
    ref = eik / name
    if not any(ref.glob("*.hea")):
        print(f"{ref}: no records; set {name} skipped")
        return None
    hidden = work / f"eik_{name}" / "hidden"
    if not hidden.is_dir():
        make_hidden(ref, hidden, quiet=True)
    return hidden, ref


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", type=Path, default=Path("/tmp/bench_run_model"),
                    help="pages, model and outputs are kept here between runs")
    ap.add_argument("--model-dir", type=Path, default=None,
                    help="a model trained by train_model.py (default: train one into WORK/model)")
    ap.add_argument("--ptbxl", type=Path, default=SHARED / "ptbxl_subset500")
    ap.add_argument("--eik", type=Path, default=SHARED / "eik_samples")
    ap.add_argument("--sets", default="own,plain,distorted")
    ap.add_argument("--n-own", type=int, default=22, help="own test pages (folds 9-10)")
    ap.add_argument("--preset", default="clean", help="ecg_image_kit preset of the own pages")
    ap.add_argument("--n-train", type=int, default=120, help="training records of a new model")
    ap.add_argument("--cnn-steps", type=int, default=1500, help="network steps of a new model")
    ap.add_argument("--seed", type=int, default=2024)
    ap.add_argument("--no-profile", action="store_true", help="only the end-to-end runs")
    ap.add_argument("--jobs", default="1",
                    help="run_model.py --jobs values to compare, e.g. 1,2 (default 1)")
    ap.add_argument("--repeats", type=int, default=1,
                    help="rounds of the end-to-end runs (the --jobs values alternate)")
    args = ap.parse_args(argv)
    quiet = logging.StreamHandler()  # the digitizer's per-lead warnings: in run_model's logs
    quiet.setLevel(logging.ERROR)
    logging.basicConfig(handlers=[quiet])
    print(f"uptime before: {uptime()}", flush=True)
    sets = [s for s in args.sets.split(",") if s]
    args.work.mkdir(parents=True, exist_ok=True)
    own = build_own_pages(args.work, args.ptbxl, args.eik, args.n_own, args.n_train,
                          args.preset, args.seed) \
        if "own" in sets or args.model_dir is None else None
    model = ensure_model(args, own[0] if own else None)
    if model is None:
        return 0
    import torch

    print(f"cpus {os.cpu_count()}, torch {torch.__version__} (its default: "
          f"{torch.get_num_threads()} threads), numpy {np.__version__}")
    print(describe_model(model))
    wall, cpu = child_seconds([sys.executable, "-c", "import team_code, ecgpaper.runner, torch"])
    print(f"start-up (interpreter and imports of run_model.py, torch included): {wall:.2f} s "
          f"wall, {cpu:.2f} s CPU", flush=True)
    folders = {}
    if "own" in sets and own:
        folders["own"] = own[1:]
    for name in ("plain", "distorted"):
        if name in sets:
            got = hidden_eik(args.eik, name, args.work)
            if got:
                folders[name] = got
    for name, (hidden, reference) in folders.items():
        n = len(find_records(hidden))
        print(f"\n## {name}: {n} records ({hidden})\n", flush=True)
        out = args.work / f"out_{name}"
        jobs = [int(j) for j in args.jobs.split(",") if j]
        if jobs == [1] and args.repeats == 1:
            wall, cpu = run_end_to_end(hidden, model, out)
            print(f"run_model.py: {wall:.1f} s wall, {cpu:.1f} s CPU: {wall / n:.2f} s wall, "
                  f"{cpu / n:.2f} s CPU per record (interpreter start, imports and model load "
                  f"included)")
        else:  # interpreter start, imports and model load included in each
            compare_jobs(hidden, model, out, jobs, args.repeats, n)
        res = evaluate_folders(reference, out, jobs=1, intervals=False)
        print(f"score: SNR {res.snr:.3f} dB, macro F {res.f_measure:.3f} "
              f"({res.n_digitized}/{res.n_scored} digitized)", flush=True)
        if not args.no_profile:
            clock, n_rec, wall_in = profile_in_process(hidden, model, args.work / f"prof_{name}")
            print(f"torch threads while running: {torch.get_num_threads()}\n")
            print_profile(clock, n_rec, wall_in)
    print(f"\nuptime after: {uptime()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
