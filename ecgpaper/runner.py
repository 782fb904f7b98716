"""The Challenge entry's orchestration: train, load, run one record, run a folder.

``team_code.py`` adapts these functions to the Challenge's three entry points and
``run_model.py`` drives :func:`run_folder`. Everything that the scorer needs from an
output is guaranteed here, so that it also holds when the Challenge replaces
``run_model.py`` and ``helper_code.py`` by its own copies:

- the signal has the header's sample count and channel count, in the header's order;
- every value is finite or NaN, clipped to the 16-bit range of each channel's gain and
  baseline (the official writer crashes on ``inf`` and on out-of-range values);
- labels are exact Challenge class strings.

Model folder layout (config travels with the weights)::

    model/
      config.json          entry options (``fill``), package version, training summary
      digitizer/           ecgpaper.digitize (config.json)
      classifier/          ecgpaper.classify (config.json + trees.npz)
"""

from __future__ import annotations

import json
import logging
import os
import sys
import tempfile
import time
import traceback
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from ecgcore.constants import CLASSES, DEFAULT_ADC_GAIN, DIGITAL_MAX, DIGITAL_MIN
from ecgcore.wfdbio import (Header, HeaderError, atomic_write_bytes, find_records, parse_header,
                            write_record)
from ecgpaper import __version__
from ecgpaper.classify import load_classifier, train_classifier
from ecgpaper.classify.model import Classifier
from ecgpaper.digitize import Digitizer, digitize_images, load_digitizer, train_digitizer
from ecgpaper.digitize.load import confined_path, read_image
from ecgpaper.digitize.resample import FILL_METHODS
from ecgpaper.modelfiles import check_choice, read_json

__all__ = ["DigitizationModel", "RunSummary", "train", "load", "run_record", "conform_signal",
           "load_images", "write_output", "run_folder", "check_folders", "worker_count",
           "worker_start_method", "CONFIG_NAME", "CLASSIFIER_SUBDIR"]

log = logging.getLogger("ecgpaper.runner")

CONFIG_NAME = "config.json"
CLASSIFIER_SUBDIR = "classifier"
#: How samples that the page does not print are filled (see ``digitize_images``).
DEFAULT_FILL = "nan"


@dataclass
class DigitizationModel:
    """What ``load_models`` returns for the digitization task.

    Attributes
    ----------
    digitizer : Digitizer or None
        Trained parameters; None runs the classical defaults.
    fill : {"nan", "template"}
        Unprinted samples: NaN (free against a masked reference) or a beat-template
        estimate (better against a full-length reference on clean pages).
    """

    digitizer: Digitizer | None
    fill: str = DEFAULT_FILL


def _has_signal_files(record: Path, header: Header) -> bool:
    return bool(header.file_names) and all((record.parent / f).is_file()
                                           for f in set(header.file_names))


def train(data_folder: str | Path, model_folder: str | Path, verbose: bool = False,
          time_budget_s: float | None = None, seed: int = 0,
          cnn_steps: int | None = None) -> dict:
    """Train the digitizer and the classifier on a Challenge training folder.

    Parameters
    ----------
    data_folder : path-like
        Searched recursively for WFDB records; records without signal files are skipped
        (they cannot teach anything), unlabelled records train the digitizer only.
    model_folder : path-like
        Created if needed; see the module docstring for its layout.  It is created (and
        checked to be writable) only once the data folder has records to train on, and
        before anything is trained.
    verbose : bool
    time_budget_s : float, optional
        Wall-clock cap: the classifier trains first (at most 70 % of it), the digitizer
        takes the rest.  None = no cap: the models then depend on the data and the seed only
        (the digitizer's network fits for a number of steps, see ``cnn_steps``).
    seed : int
    cnn_steps : int, optional
        Optimiser steps of the digitizer's centre-line network
        (:data:`ecgpaper.digitize.api.CNN_STEPS` when None).

    Returns
    -------
    dict
        The training summary that is also written into ``model_folder/config.json``.

    Raises
    ------
    FileNotFoundError
        When the data folder does not exist or holds no record with signal files (the model
        folder is then not created).
    OSError
        When the model folder cannot be created or written (nothing is trained).
    """
    t0 = time.monotonic()
    data_folder, model_folder = Path(data_folder), Path(model_folder)
    if not data_folder.is_dir():
        raise FileNotFoundError(f"data folder {data_folder} does not exist or is not a folder")
    with_signal, labelled, skipped = [], [], []
    for rel in find_records(data_folder):
        record = data_folder / rel
        try:
            header = parse_header((data_folder / f"{rel}.hea").read_text(errors="replace"), rel)
        except (OSError, HeaderError) as exc:
            skipped.append(rel)
            log.warning("skipping %s: %s", rel, exc)
            continue
        if not _has_signal_files(record, header):
            skipped.append(rel)
            continue
        with_signal.append(str(record))
        if header.labels:
            labelled.append(str(record))
    if verbose:
        log.info("training data: %d records with signals (%d labelled), %d skipped",
                 len(with_signal), len(labelled), len(skipped))
    if not with_signal:
        raise FileNotFoundError(f"no WFDB records with signal files under {data_folder}")
    _check_writable(model_folder)
    # the classifier finishes by itself (its budget is a cap); the digitizer's centre-line
    # network fits for as long as it is given, so it goes second and takes what is left
    if labelled:
        train_classifier(labelled, model_folder / CLASSIFIER_SUBDIR, verbose=verbose, seed=seed,
                         time_budget_s=None if time_budget_s is None else 0.7 * time_budget_s)
    else:
        log.warning("no labelled training records: no classifier is trained")
    left = None if time_budget_s is None else max(1.0, time_budget_s - (time.monotonic() - t0))
    train_digitizer(with_signal, model_folder, verbose=verbose, seed=seed, time_budget_s=left,
                    cnn_steps=cnn_steps)
    summary = {"package": "ecgpaper", "version": __version__, "fill": DEFAULT_FILL,
               "records_with_signal": len(with_signal), "records_labelled": len(labelled),
               "records_skipped": len(skipped), "train_s": round(time.monotonic() - t0, 1)}
    atomic_write_bytes(model_folder / CONFIG_NAME, json.dumps(summary, indent=1).encode())
    return summary


def _check_writable(folder: Path) -> None:
    """Create ``folder`` if needed and write (then remove) a file in it, before any work."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".write-test-", suffix=".tmp")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise OSError(f"model folder {folder} cannot be written ({type(exc).__name__}: "
                      f"{exc.strerror or exc}); nothing was trained") from None


#: Torch threads when running a digitizer with a network (see :func:`load`).
RUN_THREADS = 1


def load(model_folder: str | Path) -> tuple[DigitizationModel, Classifier | None]:
    """Load the models written by :func:`train`.

    The digitizer is classical, so a folder without a trained digitizer still digitizes
    (with the default parameters); the classifier is None when none was trained.  When the
    digitizer has a network, torch runs it on :data:`RUN_THREADS` thread(s): the network's
    small per-row batches gain nothing from more threads, and on a busy machine extra
    threads halve the speed (issue 16: 16.4 s with one thread, 33.8 s with torch's default).

    Every model file is validated here, once, rather than on every record.

    Raises
    ------
    ecgpaper.modelfiles.ModelFileError
        When a model file is corrupt or holds an invalid value (the message names the file
        and the field).
    """
    model_folder = Path(model_folder)
    fill = DEFAULT_FILL
    cfg_path = model_folder / CONFIG_NAME
    if cfg_path.is_file():
        fill = check_choice(cfg_path, "fill", read_json(cfg_path).get("fill", DEFAULT_FILL),
                            FILL_METHODS)
    digitization = DigitizationModel(load_digitizer(model_folder), fill)
    if digitization.digitizer is not None and digitization.digitizer.centreline is not None:
        import torch

        torch.set_num_threads(RUN_THREADS)
    return digitization, load_classifier(model_folder / CLASSIFIER_SUBDIR)


def _load_pages(record: str | Path, header: Header) -> tuple[list[np.ndarray], list[str]]:
    """The readable ``# Image:`` files of a record and their names (see :func:`load_images`)."""
    folder = Path(record).parent
    images, names = [], []
    for name in header.image_files:
        try:
            path = confined_path(folder, name)
        except ValueError as exc:
            log.warning("record %s: %s; not read", record, exc)
            continue
        if not path.is_file():
            log.warning("record %s: image %s is missing", record, name)
            continue
        try:
            images.append(read_image(path))
            names.append(name)
        except (OSError, ValueError) as exc:  # each image is its own boundary
            log.warning("record %s: image %s not read: %s", record, name, exc)
    return images, names


def load_images(record: str | Path, header: Header) -> list[np.ndarray]:
    """The record's ``# Image:`` files as ``(H, W, 3)`` uint8 RGB arrays.

    Paths are relative to the header's folder, as in the Challenge data; an entry that
    leaves that folder (absolute, ``..``, a link to outside) is refused, and missing,
    undecodable or too large images (:data:`ecgpaper.digitize.load.MAX_IMAGE_PIXELS`) are
    skipped, each with a warning naming the entry.
    """
    return _load_pages(record, header)[0]


def conform_signal(signal, header: Header) -> np.ndarray:
    """The signal as the scorer needs it: header shape and order, finite or NaN, in range.

    Parameters
    ----------
    signal : array-like, shape (n_samples, n_channels)
        mV, channels in the header's order. Shorter signals are padded with NaN, longer
        ones truncated to the header's sample count.
    header : Header

    Returns
    -------
    numpy.ndarray
        ``(num_samples, num_signals)`` float64.

    Raises
    ------
    ValueError
        When the channel count differs from the header's.

    Examples
    --------
    >>> h = parse_header("r 2 500 4\\nr.dat 16 1000(0)/mV 16 0 0 0 0 I\\nr.dat 16 1000(0)/mV 16 0 0 0 0 II")
    >>> conform_signal([[1.0, np.inf], [40.0, -2.0]], h)
    array([[ 1.   ,    nan],
           [32.767, -2.   ],
           [   nan,    nan],
           [   nan,    nan]])
    """
    x = np.array(signal, dtype=np.float64, ndmin=2)
    m = int(header.num_signals)
    if x.ndim != 2 or x.shape[1] != m:
        raise ValueError(f"record {header.record_name}: signal of shape {x.shape} does not have "
                         f"the header's {m} channels")
    n = header.num_samples if header.num_samples is not None else x.shape[0]
    out = np.full((n, m), np.nan)
    k = min(n, x.shape[0])
    out[:k] = x[:k]
    out[~np.isfinite(out)] = np.nan
    gains = np.array([g if g and g > 0 else DEFAULT_ADC_GAIN for g in header.gains[:m]]
                     + [DEFAULT_ADC_GAIN] * (m - len(header.gains)))
    base = np.array(list(header.baselines[:m]) + [0.0] * (m - len(header.baselines)))
    # -32768 is WFDB's invalid-sample code: keep valid values one step inside.
    return np.clip(out, (DIGITAL_MIN - base) / gains, (DIGITAL_MAX - base) / gains)


def _valid_labels(labels: Sequence[str] | None, record: str) -> list[str] | None:
    if labels is None:
        return None
    kept = [str(c) for c in labels if str(c) in CLASSES]
    if len(kept) != len(list(labels)):
        log.warning("record %s: dropped labels that are not Challenge classes: %s", record,
                    [c for c in labels if str(c) not in CLASSES])
    return kept


def run_record(record: str | Path, digitization: DigitizationModel | None,
               classifier: Classifier | None, verbose: bool = False, pages: list | None = None
               ) -> tuple[np.ndarray | None, list[str] | None]:
    """Digitize and classify one hidden record (header + images only).

    ``pages``, when given, receives what each image was read as (see
    :func:`~ecgpaper.digitize.digitize_images`), for :mod:`ecgpaper.report`.

    Returns
    -------
    signal : numpy.ndarray or None
        From :func:`conform_signal`; None when no digitization model is given.
    labels : list of str or None
        None when no classifier is given, or when the classifier failed (logged with its
        traceback; the signal is still returned).  Empty when nothing could be digitized:
        a classifier's output on an all-NaN signal says nothing about the record.
    """
    header = parse_header(Path(f"{record}.hea").read_text(errors="replace"), str(record))
    if digitization is None and classifier is None:
        return None, None
    images, names = _load_pages(record, header)
    if not images:
        raise FileNotFoundError(f"record {record}: no readable image on its '# Image:' line")
    dig = digitization or DigitizationModel(None)
    signal = conform_signal(digitize_images(images, header, dig.digitizer, fill=dig.fill,
                                            verbose=verbose, names=names, pages=pages), header)
    del images
    labels = None
    if classifier is not None:
        if not np.isfinite(signal).any():
            log.warning("record %s: nothing could be digitized; no labels", record)
            labels = []
        else:
            try:
                labels = classifier.predict(signal, header.fs_hz, header.lead_names)
            except Exception:  # noqa: BLE001 -- classification is its own boundary
                log.error("record %s: classification failed; the signal is kept, no labels:"
                          "\n%s", record, traceback.format_exc())
    return (signal if digitization is not None else None), labels


def write_output(out_record: str | Path, header_text: str, signal: np.ndarray | None,
                 labels: Sequence[str] | None) -> None:
    """Write one output record as the official ``run_model.py`` does, atomically.

    The input header is copied (without any ``# Labels:`` line of its own, so reference
    labels can never leak into predictions); a signal regenerates the header with the
    ``.dat`` file, keeping its comments; labels are one ``# Labels:`` line.  Without a
    signal, a ``.dat`` left in the output by an earlier run is removed, so that the output
    never pairs a header with a stale signal.
    """
    out_record = Path(out_record)
    out_record.parent.mkdir(parents=True, exist_ok=True)
    label_line = ["Labels: " + ", ".join(labels)] if labels is not None else []
    if signal is not None:
        header = parse_header(header_text, str(out_record))
        comments = [c for c in header.comments if not c.startswith("Labels:")] + label_line
        write_record(out_record, conform_signal(signal, header), header.fs_hz,
                     header.lead_names, comments, header.gains, header.baselines, header.units)
        return
    lines = [ln for ln in header_text.splitlines()
             if not ln.lstrip("#").strip().startswith("Labels:")]
    lines += ["# " + ln for ln in label_line]
    out_record.with_name(out_record.name + ".dat").unlink(missing_ok=True)
    atomic_write_bytes(out_record.with_name(out_record.name + ".hea"),
                       ("\n".join(lines) + "\n").encode("utf-8"))


@dataclass
class RunSummary:
    """Counts of a :func:`run_folder` run; ``failures`` maps record -> error text."""

    records: int = 0
    with_signal: int = 0
    with_labels: int = 0
    failures: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    def text(self) -> str:
        lines = [f"{self.records} records in {self.seconds:.1f} s: {self.with_signal} with a "
                 f"signal, {self.with_labels} with labels, {len(self.failures)} failed"]
        lines += [f"  FAILED {rec}: {err}" for rec, err in sorted(self.failures.items())]
        return "\n".join(lines)


def check_folders(data_folder: str | Path, output_folder: str | Path) -> None:
    """Refuse an output folder that is, lies inside, or contains the data folder.

    Outputs written there would mix with the inputs (the next run would read them as
    records, and an output ``.dat`` could replace an input one).

    Raises
    ------
    ValueError
        One line naming both folders.

    Examples
    --------
    >>> check_folders("/data/hidden", "/data/outputs")
    >>> check_folders("/data/hidden", "/data/hidden/out")
    Traceback (most recent call last):
    ...
    ValueError: output folder /data/hidden/out lies inside the data folder /data/hidden; choose a folder outside it
    """
    d, o = Path(data_folder).resolve(), Path(output_folder).resolve()
    if o == d:
        where = "is"
    elif o.is_relative_to(d):
        where = "lies inside"
    elif d.is_relative_to(o):
        where = "contains"
    else:
        return
    raise ValueError(f"output folder {output_folder} {where} the data folder {data_folder}; "
                     f"choose a folder outside it")


def _remove_stale_temporaries(output_folder: Path, records: Sequence[str]) -> int:
    """Remove the temporaries (``.<name>.<random>.tmp``) that a killed run left behind for
    the outputs this run writes; returns how many."""
    wanted = {f"{rel}{ext}" for rel in records for ext in (".hea", ".dat")}
    removed = 0
    for root, _dirs, files in os.walk(output_folder):
        for name in files:
            if not (name.startswith(".") and name.endswith(".tmp")):
                continue
            target = name[1:-len(".tmp")].rpartition(".")[0]
            rel = (Path(root) / target).relative_to(output_folder).as_posix()
            if rel in wanted:
                (Path(root) / name).unlink(missing_ok=True)
                removed += 1
    return removed


def worker_count(jobs: int, n_records: int | None = None) -> int:
    """Worker processes for ``jobs``: 0 means one per usable CPU; never more than the records.

    Raises
    ------
    ValueError
        When ``jobs`` is negative.

    Examples
    --------
    >>> worker_count(4, n_records=3), worker_count(1), worker_count(0) >= 1
    (3, 1, True)
    """
    if jobs < 0:
        raise ValueError(f"jobs must be 0 (all CPUs) or more, got {jobs}")
    if jobs == 0:
        jobs = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (
            os.cpu_count() or 1)
    return max(1, min(jobs, n_records)) if n_records is not None else jobs


def worker_start_method() -> str:
    """How ``run_model.py --jobs J`` starts its workers: ``fork`` on Linux, else ``spawn``.

    The choice of ``python -m ecg_image_kit --jobs`` (``ecg_image_kit.cli``), kept here so
    that the package does not import the generator.  A forked worker inherits the imports
    and the models loaded once by the parent (a spawned one imports torch and loads them
    again: seconds per worker).  Forking is safe only from a process that has run no OpenCV
    code (a forked child waits forever on the parent's OpenCV thread pool): the
    command-line process, which only loads the models before it starts the workers.
    Library callers of :func:`run_folder` keep ``spawn``, its default.
    """
    return "fork" if sys.platform.startswith("linux") else "spawn"


@dataclass
class _Outcome:
    """What one record gave: counts, the summary's failure text and the errors to log."""

    with_signal: bool = False
    with_labels: bool = False
    failure: str | None = None
    errors: list[tuple] = field(default_factory=list)


def _run_one(data_folder: Path, output_folder: Path, rel: str, digitization, classifier,
             run_models: Callable, allow_failures: bool, verbose: bool) -> _Outcome:
    """Run and write one record; the record boundary of :func:`run_folder` (serial or not).

    Errors are returned (``errors``: ``log.error`` arguments), not logged, so that a worker
    process reports them through the parent, in record order.
    """
    out = _Outcome()
    header_text = None
    try:
        header_text = (data_folder / f"{rel}.hea").read_text(errors="replace")
        signal, labels = run_models(str(data_folder / rel), digitization, classifier, verbose)
        header = parse_header(header_text, rel)
        signal = conform_signal(signal, header) if signal is not None else None
        labels = _valid_labels(labels, rel)
    except Exception as exc:  # noqa: BLE001 -- the record boundary: count and go on
        if not allow_failures:
            raise
        out.errors.append(("record %s failed:\n%s", rel, traceback.format_exc()))
        out.failure = f"{type(exc).__name__}: {exc}"
        signal, labels = None, None
        if header_text is None:
            return out
    try:
        write_output(output_folder / rel, header_text, signal, labels)
    except (OSError, ValueError) as exc:
        if not allow_failures:
            raise
        out.errors.append(("record %s: output not written: %s", rel, str(exc)))
        out.failure = f"{type(exc).__name__}: {exc}"
        return out
    out.with_signal = signal is not None
    out.with_labels = labels is not None
    return out


#: A worker process's models and options, set once by :func:`_init_worker`.
_WORKER: dict = {}


def _exit_with_parent(parent_pid: int) -> None:
    """Linux: have the kernel send SIGTERM to this worker when the parent dies (a killed
    ``run_model.py`` leaves no worker behind); elsewhere nothing."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes
    import signal

    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGTERM))  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != parent_pid:  # the parent died before prctl
        os._exit(1)


def _init_worker(run_models: Callable, models: tuple | None, load_models: Callable,
                 model_folder: str, verbose: bool, log_level: int, parent_pid: int) -> None:
    """Start a worker: one thread for OpenMP and torch, the models (inherited when forked,
    loaded once here when spawned)."""
    _exit_with_parent(parent_pid)
    os.environ["OMP_NUM_THREADS"] = "1"
    if models is None:  # spawned: nothing inherited, not even the logging set-up
        if not logging.getLogger().handlers:
            logging.basicConfig(level=log_level, format="%(levelname)s %(name)s: %(message)s")
        models = load_models(model_folder, verbose)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(1)
    _WORKER.update(run_models=run_models, models=models)


def _worker_record(data_folder: str, output_folder: str, rel: str, allow_failures: bool,
                   verbose: bool) -> _Outcome:
    """One record in a worker process (see :func:`_run_one`)."""
    digitization, classifier = _WORKER["models"]
    return _run_one(Path(data_folder), Path(output_folder), rel, digitization, classifier,
                    _WORKER["run_models"], allow_failures, verbose)


def run_folder(data_folder: str | Path, model_folder: str | Path, output_folder: str | Path,
               load_models: Callable, run_models: Callable, allow_failures: bool = False,
               verbose: bool = False, jobs: int = 1, start_method: str = "spawn") -> RunSummary:
    """Run the entry on every record of a folder and write the outputs (``run_model.py``).

    Parameters
    ----------
    data_folder, model_folder, output_folder : path-like
    load_models, run_models : callable
        ``team_code``'s functions.
    allow_failures : bool
        Log a failing record with its traceback, count it, write its header without signal
        or labels, and go on; otherwise the exception propagates.
    verbose : bool
        Progress bar and per-record messages.
    jobs : int
        Worker processes (:func:`worker_count`: 0 = one per CPU, at most one per record).
        1 runs the records one after another in this process.  More runs them in worker
        processes with one torch/OpenMP thread each; the outputs, the summary's counts and
        the errors logged at the record boundary (in record order) are the same as with 1.
    start_method : {"spawn", "fork"}
        How workers start (``multiprocessing``).  ``fork`` (what ``run_model.py`` passes,
        :func:`worker_start_method`) shares the models loaded here; it is safe only in a
        process that has run no OpenCV code.  ``spawn`` loads them once per worker and
        needs picklable ``load_models`` and ``run_models``.

    Returns
    -------
    RunSummary

    Raises
    ------
    ValueError
        When the output folder is, lies inside, or contains the data folder
        (:func:`check_folders`), or ``jobs`` is negative; nothing is written.
    FileNotFoundError
        When the data folder holds no record.

    Notes
    -----
    Every record is written again, so the leftovers of a killed run (a ``.dat`` without its
    header) are replaced; its temporaries for this run's outputs are removed first.  On
    Linux the workers end with the process that started them.
    """
    t0 = time.monotonic()
    check_folders(data_folder, output_folder)
    data_folder, output_folder = Path(data_folder), Path(output_folder)
    records = find_records(data_folder)
    if not records:
        raise FileNotFoundError(f"no records (*.hea) found under {data_folder}")
    workers = worker_count(jobs, len(records))
    digitization, classifier = load_models(str(model_folder), verbose)
    output_folder.mkdir(parents=True, exist_ok=True)
    stale = _remove_stale_temporaries(output_folder, records)
    if stale:
        log.warning("removed %d temporary file(s) left in %s by an earlier run", stale,
                    output_folder)
    summary = RunSummary(records=len(records))

    def count(rel: str, out: _Outcome) -> None:
        for args in out.errors:
            log.error(*args)
        if out.failure is not None:
            summary.failures[rel] = out.failure
        summary.with_signal += out.with_signal
        summary.with_labels += out.with_labels

    progress = None
    if verbose:
        from tqdm import tqdm
        progress = tqdm  # created after the workers: no thread of it is forked
    if workers == 1:
        for rel in (progress(records, desc="records", unit="rec") if progress else records):
            count(rel, _run_one(data_folder, output_folder, rel, digitization, classifier,
                                run_models, allow_failures, verbose))
    else:
        models = (digitization, classifier) if start_method == "fork" else None
        init = (run_models, models, load_models, str(model_folder), verbose,
                logging.getLogger().getEffectiveLevel(), os.getpid())
        with ProcessPoolExecutor(max_workers=workers, mp_context=get_context(start_method),
                                 initializer=_init_worker, initargs=init) as pool:
            futures = [pool.submit(_worker_record, str(data_folder), str(output_folder), rel,
                                   allow_failures, verbose) for rel in records]
            try:
                done = zip(records, futures)
                if progress:
                    done = progress(done, total=len(records), desc="records", unit="rec")
                for rel, fut in done:
                    count(rel, fut.result())
            except BaseException:
                for fut in futures:
                    fut.cancel()
                raise
    summary.seconds = time.monotonic() - t0
    return summary


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m ecgpaper.runner -d DATA -m MODEL [-v] [--time-budget-s S] [--seed N] [--cnn-steps K]``.

    Trains as ``train_model.py`` does (same folders), with an optional wall-clock budget (the
    Challenge's ``train_model.py`` has no such option; the demo uses this one).
    """
    import argparse

    ap = argparse.ArgumentParser(prog="python -m ecgpaper.runner",
                                 description=main.__doc__.split("\n")[0])
    ap.add_argument("-d", "--data_folder", required=True)
    ap.add_argument("-m", "--model_folder", required=True)
    ap.add_argument("-v", "--verbose", action="store_true")
    ap.add_argument("--time-budget-s", type=float, default=None,
                    help="wall-clock budget of the whole training (default: none)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cnn-steps", type=int, default=None,
                    help="optimiser steps of the digitizer's network (default: the package's)")
    args = ap.parse_args(argv)
    if args.verbose:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    summary = train(args.data_folder, args.model_folder, verbose=args.verbose,
                    time_budget_s=args.time_budget_s, seed=args.seed, cnn_steps=args.cnn_steps)
    print(f"Trained on {summary['records_with_signal']} records "
          f"({summary['records_labelled']} labelled) in {summary['train_s']} s.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
