"""The main job end to end: data -> images -> train -> hidden copy -> run -> evaluate.

``python -m ecgpaper.demo`` runs, in a work folder, what a Challenge team does, with the
entry scripts of the repository (each command is printed before it runs):

1. data: simulated labelled 12-lead records (``ecgpaper.simulate``, the default) or the
   records of a real folder (``--data``, e.g. PTB-XL prepared by ``ecgpaper.prepare``),
   split into a training and a test set;
2. images of the test records rendered by ``ecg_image_kit`` (with the masked reference:
   NaN where a sample is not printed, as the Challenge scores);
3. training on the training records: ``python -m ecgpaper.runner``, the same training as
   ``train_model.py`` but with fewer network steps (``--cnn-steps``, 1500 by default;
   ``train_model.py`` uses the package's 14000) and a wall-clock cap (``--train-budget-s``,
   240 s by default, a safety stop);
4. a hidden copy of the test folder (no signals, labels or demographics) made by
   ``python -m ecgpaper.prepare hidden``;
5. ``run_model.py -f --report`` on the hidden copy;
6. ``evaluate_model.py --report`` against the masked reference: Challenge SNR and macro F,
   with a per-lead and a per-class table.

Both write into ``WORK/report/`` (``index.html``: every page with what was read drawn on
it; ``evaluation.html``: scores, charts and the worst records; see :mod:`ecgpaper.report`).

The default size (200 training and 30 test records) takes a few minutes on two cores, most
of it the training budget (`docs/benchmarks.md`).
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import subprocess
import sys
import time
from pathlib import Path

from ecgcore.wfdbio import find_records, read_header, read_signal, write_record

REPO_ROOT = Path(__file__).resolve().parents[1]


def _step(title: str, cmd: list[str] | None = None) -> None:
    print(f"\n== {title}", flush=True)
    if cmd:
        shown = " ".join(str(c) for c in cmd).replace(sys.executable, "python")
        print(f"$ {shown}", flush=True)


def _run(title: str, cmd: list[str]) -> None:
    _step(title, cmd)
    t0 = time.monotonic()
    subprocess.run([str(c) for c in cmd], check=True, cwd=REPO_ROOT)
    print(f"({time.monotonic() - t0:.0f} s)", flush=True)


def _copy_records(src: Path, records: list[str], dst: Path) -> None:
    """Copy records (header and signal files) keeping their sub-folders."""
    for rel in records:
        header = read_header(src / rel)
        out = dst / rel
        out.parent.mkdir(parents=True, exist_ok=True)
        for name in {f"{Path(rel).name}.hea", *header.file_names}:
            shutil.copyfile(src / Path(rel).parent / name, out.parent / name)


def _split_real_data(data: Path, work: Path, n_test: int, n_train: int | None) -> tuple[Path, Path]:
    """Deterministic split of a real folder: every k-th labelled record is a test record."""
    records = [r for r in find_records(data)
               if read_header(data / r).labels and read_header(data / r).file_names]
    if len(records) < 2:
        raise SystemExit(f"{data}: fewer than two labelled records with signals")
    n_test = min(n_test, len(records) // 2)
    step = len(records) / n_test
    test = [records[int(i * step)] for i in range(n_test)]
    train = [r for r in records if r not in set(test)][:n_train]
    _copy_records(data, train, work / "train")
    _copy_records(data, test, work / "test_signals")
    print(f"{data}: {len(train)} training and {len(test)} test records")
    return work / "train", work / "test_signals"


def _rename_masked_references(masked: Path, out: Path) -> int:
    """``<rec>-0`` masked references -> ``<rec>``, the names of the run's outputs."""
    count = 0
    for rel in find_records(masked):
        if not rel.endswith("-0"):
            continue
        signal, header = read_signal(masked / rel)
        dest = out / rel[:-2]
        dest.parent.mkdir(parents=True, exist_ok=True)
        write_record(dest, signal, header.fs_hz, header.lead_names, header.comments,
                     header.gains, header.baselines, header.units)
        count += 1
    return count


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m ecgpaper.demo", description=__doc__.split("\n")[0])
    ap.add_argument("--work", default="demo_work", help="work folder (default: demo_work)")
    ap.add_argument("--data", help="real WFDB folder with labels (default: simulate records)")
    ap.add_argument("--n-train", type=int, default=200, help="training records")
    ap.add_argument("--n-test", type=int, default=30, help="test records")
    ap.add_argument("--preset", default="moderate", help="ecg_image_kit preset of the test images")
    ap.add_argument("--train-budget-s", type=float, default=240.0,
                    help="wall-clock cap of training (a safety stop; python train_model.py has "
                         "none)")
    ap.add_argument("--cnn-steps", type=int, default=1500,
                    help="optimiser steps of the digitizer's network (train_model.py: 14000)")
    ap.add_argument("--seed", type=int, default=2024)
    ap.add_argument("--jobs", type=int, default=2, help="processes for simulation and rendering")
    args = ap.parse_args(argv)
    t0 = time.monotonic()
    work = Path(args.work).resolve()
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    py = sys.executable
    if args.data:
        _step("1. split the real records")
        train, test = _split_real_data(Path(args.data).resolve(), work, args.n_test, args.n_train)
    else:
        train, test = work / "train", work / "test_signals"
        _run("1a. simulate training records", [py, "-m", "ecgpaper.simulate", "-o", train,
             "-n", args.n_train, "--seed", args.seed, "--jobs", args.jobs])
        _run("1b. simulate test records", [py, "-m", "ecgpaper.simulate", "-o", test,
             "-n", args.n_test, "--seed", args.seed + 1, "--jobs", args.jobs])
    images = work / "test"
    _run("2. render the test images", [py, "-m", "ecg_image_kit", "-i", test, "-o", images,
         "--config", args.preset, "--seed", args.seed, "--jobs", args.jobs,
         "--masked-reference", work / "masked", "--quiet"])
    reference = work / "test_reference"
    n_ref = _rename_masked_references(work / "masked", reference)
    print(f"{n_ref} masked reference records in {reference}")
    model = work / "model"
    # the Challenge's train_model.py has no budget; the same training with one:
    _run("3. train", [py, "-m", "ecgpaper.runner", "-d", train, "-m", model, "-v",
                      "--time-budget-s", args.train_budget_s, "--cnn-steps", args.cnn_steps])
    hidden = work / "test_hidden"
    _run("4. hidden copy of the test folder", [py, "-m", "ecgpaper.prepare", "-q", "hidden",
         "-i", images, "-o", hidden])
    outputs = work / "test_outputs"
    report = work / "report"
    # the reports draw with matplotlib, a development dependency (the entry runs without it)
    with_report = importlib.util.find_spec("matplotlib") is not None
    report_args = ["--report", report] if with_report else []
    _run("5. run the models on the hidden records", [py, "run_model.py", "-d", hidden,
         "-m", model, "-o", outputs, "-f", *report_args])
    _run("6. evaluate against the masked reference", [py, "evaluate_model.py", "-d", reference,
         "-o", outputs, "-s", work / "scores.txt", "-ta", work / "snr_table.tsv",
         "-tb", work / "f_table.tsv", *report_args])
    print(f"\nDemo finished in {time.monotonic() - t0:.0f} s; everything is in {work}")
    if with_report:
        print(f"Reports (open in a browser): {report / 'index.html'} (page overlays) and "
              f"{report / 'evaluation.html'} (scores, worst records)")
    else:
        print("No reports: they need matplotlib (python -m pip install -r "
              "requirements-dev.txt)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
