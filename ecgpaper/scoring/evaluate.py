"""Score a folder of model outputs against a reference folder (Challenge 2024 semantics).

This is the project's equivalent of the official ``evaluate_model.py``
(evaluation-2024 as used for the 2024 results, spec sections 1.5 and 4):

* Records are every ``*.hea`` under the reference folder (recursive, sorted).
* Digitization: a reference record counts when its header lists signal files
  that all exist. The estimate of the same relative path is read when its
  header lists signal files that all exist, otherwise it is all NaN (every
  lead scores 0 dB). Sampling frequencies must be equal and all units ``mV``;
  estimate channels are matched to the reference by case-insensitive name.
  Each lead is aligned (unless ``no_shift``) and scored with
  :func:`~ecgpaper.scoring.metrics.compute_snr`; the score is the flat
  ``nanmean`` over all (record, lead) pairs, NaN when no estimate record has
  a readable signal.
* Classification: reference records with a non-empty ``# Labels:`` line are
  scored by the macro F-measure; a missing output header or label line means
  "predicted nothing".

Input problems the official script passes over silently are warned about
(logged, and kept in ``EvaluationResult.input_warnings``) without changing
any score: reference records without an output header, output headers whose
signal file does not exist, predicted labels that are neither a Challenge
class nor a reference class (``norm``, ``AFIB``; ignored by the F-measure as
officially) and reference labels outside the Challenge classes. An output
folder that does not exist or holds no header of any reference record is an
error (:class:`FileNotFoundError`), not an SNR of NaN.

Differences from the official script, all on paths where it would crash:
an unreadable estimate (bad ``.dat`` or header) is scored as not digitized
and reported in ``warnings``; a reference lead missing from the estimate is
scored as not digitized (with a warning); the extra metrics return NaN for a
lead with no jointly finite sample; contract violations (sampling frequency,
units, duplicate channel names) raise :class:`ScoringError` naming the
record instead of failing an ``assert``. Records are scored in parallel
processes; signals in the common format 16 are read with numpy directly.
"""

from __future__ import annotations

import argparse
import difflib
import logging
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from ecgcore.constants import CLASSES, canonical_lead_name
from ecgcore.wfdbio import (Header, HeaderError, atomic_write_bytes, find_records, read_header,
                            read_signal)

from .alignment import ALIGNMENT_METHODS
from .classification import ClassScore, class_table, clean_labels, compute_f_measure
from .intervals import INTERVALS, IntervalSummary, compare_intervals, summarize_intervals
from .metrics import EXTRA_METRICS, LEAD_METRICS, score_leads

__all__ = [
    "ScoringError",
    "RecordScore",
    "EvaluationResult",
    "read_record",
    "score_record",
    "evaluate_folders",
    "format_summary",
    "format_snr_table",
    "format_class_table",
    "format_interval_table",
    "build_parser",
    "main",
]

log = logging.getLogger("ecgpaper.scoring")

#: Labels of the extra metrics on the summary lines, as the official script writes them.
_EXTRA_LINES = {"snr_median": "SNR median", "ks": "KS metric", "asci": "ASCI metric",
                "wad": "Weighted absolute difference metric"}
#: Exceptions that mean "this estimate file cannot be read" (not a scorer bug).
_READ_ERRORS = (OSError, ValueError, IndexError, EOFError, KeyError)
#: How many record names an input warning lists.
_FIRST_NAMES = 5


class ScoringError(ValueError):
    """A record violates the scoring contract; the message names the record."""


def read_record(record: str | os.PathLike, header: Header | None = None
                ) -> tuple[np.ndarray, Header] | None:
    """Read a record's physical signal the way the official ``load_signals`` decides.

    Parameters
    ----------
    record : path-like
        Record path without extension.
    header : Header, optional
        The record's already parsed header (read from ``<record>.hea`` if omitted).

    Returns
    -------
    (ndarray, Header) or None
        The signal ``(n, c)`` in the header's physical units (mV), NaN for
        WFDB's invalid sample -32768, and the parsed header; ``None`` when the
        header lists no signal file or one of them does not exist.

    Raises
    ------
    HeaderError
        Missing or unparseable header.
    ValueError, OSError
        A signal file that cannot be read (e.g. truncated).

    Notes
    -----
    Read with :func:`ecgcore.wfdbio.read_signal`: single-file format-16 records
    (every Challenge record) with ``numpy.fromfile`` (12x faster than ``wfdb.rdsamp``,
    0.20 vs 2.4 ms per record; ``docs/benchmarks/scoring.md``), any other layout with ``wfdb``; both give identical
    arrays. Only the header's sample count is read (at most
    :data:`~ecgcore.wfdbio.MAX_SAMPLES` per signal), so an oversized ``.dat``
    costs no memory.
    """
    record = Path(record)
    if header is None:
        header = read_header(record)
    files = header.file_names
    if not files or not all((record.parent / f).is_file() for f in files):
        return None
    return read_signal(record, header)


@dataclass
class RecordScore:
    """Everything the evaluation keeps of one reference record.

    Attributes
    ----------
    record : str
        Relative record path.
    channels : list of str
        Reference channel names (empty when the reference has no signal).
    metrics : dict of str to ndarray
        Per-lead metrics (``"snr"`` and, with extras, :data:`EXTRA_METRICS`);
        empty when the reference has no signal.
    has_reference : bool
        The reference signal exists (the record counts for the SNR).
    digitized : bool
        The estimate had a readable signal.
    ref_labels, pred_labels : list of str
        Cleaned labels (empty: unlabeled / predicted nothing).
    intervals : dict or None
        :func:`~ecgpaper.scoring.intervals.compare_intervals` result.
    warnings : list of str
        Problems with the estimate that were scored as "not digitized".
    estimate : {"missing", "no_signal", "unreadable", "ok"}
        The output record: no header; a header whose signal files are not
        listed or do not exist (or not read: the reference has no signal); a
        header or signal that cannot be read; read.
    """

    record: str
    channels: list[str] = field(default_factory=list)
    metrics: dict[str, np.ndarray] = field(default_factory=dict)
    has_reference: bool = False
    digitized: bool = False
    ref_labels: list[str] = field(default_factory=list)
    pred_labels: list[str] = field(default_factory=list)
    intervals: dict | None = None
    warnings: list[str] = field(default_factory=list)
    estimate: str = "missing"


def _reorder(est: np.ndarray, est_names: Sequence[str], ref_names: Sequence[str],
             record: str) -> tuple[np.ndarray, list[str]]:
    """Estimate columns in the reference order (case-insensitive names); NaN for missing ones."""
    lower = [name.strip().lower() for name in est_names]
    dup = sorted({n for n in lower if lower.count(n) > 1})
    if dup:
        raise ScoringError(f"{record}: estimate has duplicate channel names {dup}")
    out = np.full((est.shape[0], len(ref_names)), np.nan)
    missing = []
    for j, name in enumerate(ref_names):
        key = name.strip().lower()
        if key in lower:
            out[:, j] = est[:, lower.index(key)]
        else:
            missing.append(name)
    return out, missing


def _estimate_labels(record: str, est_path: Path, result: RecordScore) -> Header | None:
    """Parse the estimate header (if any) and set the predicted labels."""
    if not Path(str(est_path) + ".hea").is_file():
        return None
    result.estimate = "unreadable"
    try:
        header = read_header(est_path)
    except HeaderError as exc:
        result.warnings.append(f"{record}: unreadable estimate header, scored as not "
                               f"digitized and no labels: {exc}")
        return None
    result.pred_labels = clean_labels(header.labels)
    result.estimate = "no_signal"
    return header


def score_record(ref_folder: str | os.PathLike, est_folder: str | os.PathLike, record: str,
                 no_shift: bool = False, extra: bool = False, intervals: bool = True,
                 method: str = "global") -> RecordScore:
    """Score one record: labels, per-lead metrics and (optionally) interval errors.

    Parameters
    ----------
    ref_folder, est_folder : path-like
        Reference and output folders.
    record : str
        Record path relative to both folders, without extension.
    no_shift : bool
        Skip the alignment.
    extra : bool
        Also compute the extra metrics.
    intervals : bool
        Also measure RR/QRS/QT on reference and estimate.
    method : {"window", "global", "official"}
        Alignment implementation.

    Returns
    -------
    RecordScore

    Raises
    ------
    ScoringError
        Unreadable reference, different sampling frequencies, units other than
        mV, or duplicate estimate channel names.
    """
    ref_path = Path(ref_folder) / record
    est_path = Path(est_folder) / record
    result = RecordScore(record)
    try:
        ref_header = read_header(ref_path)
        ref = read_record(ref_path, ref_header)
    except (HeaderError, *_READ_ERRORS) as exc:
        raise ScoringError(f"{record}: cannot read the reference: {exc}") from exc
    result.ref_labels = clean_labels(ref_header.labels)
    est_header = _estimate_labels(record, est_path, result)
    if ref is None:
        return result
    ref_signal, ref_header = ref
    result.has_reference = True
    result.channels = list(ref_header.lead_names)
    est_signal = None
    if est_header is not None:
        try:
            est = read_record(est_path, est_header)
        except _READ_ERRORS as exc:
            est = None
            result.estimate = "unreadable"
            result.warnings.append(f"{record}: unreadable estimate signal, scored as not "
                                   f"digitized: {type(exc).__name__}: {exc}")
        if est is not None:
            result.estimate = "ok"
            est_signal, est_header = est
            if est_header.fs_hz != ref_header.fs_hz:
                raise ScoringError(f"{record}: estimate sampling frequency {est_header.fs_hz:g} Hz "
                                   f"differs from the reference's {ref_header.fs_hz:g} Hz")
            for side, units in (("reference", ref_header.units), ("estimate", est_header.units)):
                bad = sorted({u for u in units if u != "mV"})
                if bad:
                    raise ScoringError(f"{record}: {side} units must all be mV, found {bad}")
            est_signal, missing = _reorder(est_signal, est_header.lead_names, result.channels,
                                           record)
            if missing:
                result.warnings.append(f"{record}: estimate lacks channels {missing}, scored "
                                       "as not digitized")
            result.digitized = True
    if est_signal is None:
        est_signal = np.full(ref_signal.shape, np.nan)
    result.metrics = score_leads(ref_signal, est_signal, ref_header.fs_hz, align=not no_shift,
                                 method=method, extra=extra)
    if intervals:
        result.intervals = compare_intervals(ref_signal, est_signal, ref_header.fs_hz)
    return result


def _score_task(args: tuple) -> RecordScore:
    return score_record(*args)


def _nanmean(values) -> float:
    values = np.asarray(values, dtype=np.float64)
    if values.size == 0 or not np.isfinite(values).any():
        return float("nan")
    return float(np.nanmean(values))


@dataclass
class EvaluationResult:
    """Outcome of :func:`evaluate_folders`.

    Attributes
    ----------
    snr : float
        Challenge digitization score, dB (NaN when no estimate had a readable signal).
    f_measure : float
        Challenge macro F-measure (NaN when no labeled record has a prediction).
    extra : dict of str to float
        With ``extra=True``: mean ``snr_median`` (dB), ``ks``, ``asci``, ``wad`` (mV).
    records : list of RecordScore
        One per reference record, sorted.
    per_lead_snr : dict of str to float
        Mean SNR (dB) per lead name (canonical spelling) over the scored records.
    per_record_snr : dict of str to float
        Mean SNR (dB) over the leads of each scored record.
    n_scored, n_digitized : int
        Records with a reference signal; those whose estimate had a readable signal.
    classes : list of str
        Classes of the F-measure.
    class_scores : list of ClassScore
        Per-class table.
    n_labeled, n_classified : int
        Labeled reference records; those with at least one predicted label.
    intervals : IntervalSummary or None
        Interval errors (None when not computed).
    warnings : list of str
        Estimates scored as not digitized because they could not be read.
    elapsed_s : float
        Wall-clock time of the evaluation.
    alignment : str
        The alignment method used, or ``"none"`` with ``no_shift``.
    input_warnings : list of str
        Summaries of input problems that leave the score as the official
        scorer computes it: missing output headers, missing signal files,
        unknown predicted labels, reference labels outside the Challenge
        classes. Each names the folder or field, counts and the first records.
    """

    snr: float
    f_measure: float
    extra: dict[str, float]
    records: list[RecordScore]
    per_lead_snr: dict[str, float]
    per_record_snr: dict[str, float]
    n_scored: int
    n_digitized: int
    classes: list[str]
    class_scores: list[ClassScore]
    n_labeled: int
    n_classified: int
    intervals: IntervalSummary | None
    warnings: list[str]
    elapsed_s: float
    alignment: str = "global"
    input_warnings: list[str] = field(default_factory=list)


def evaluate_folders(ref_folder: str | os.PathLike, est_folder: str | os.PathLike,
                     no_shift: bool = False, extra: bool = False, jobs: int | None = None,
                     intervals: bool = True, progress: bool = False,
                     method: str = "global") -> EvaluationResult:
    """Score an output folder against a reference folder (spec sections 4.1-4.6).

    Parameters
    ----------
    ref_folder : path-like
        Reference records (headers with ``# Labels:``, signals); records are
        enumerated from here.
    est_folder : path-like
        Model outputs (``run_model.py`` layout, same relative paths).
    no_shift : bool
        Disable the alignment (official ``-n``).
    extra : bool
        Also compute the extra metrics (official ``-x``).
    jobs : int, optional
        Worker processes; default ``os.cpu_count()``; 1 scores inline.
    intervals : bool
        Also compute RR/QRS/QT errors (adds about 30 ms per record).
    progress : bool
        Print progress to stderr.
    method : {"window", "global", "official"}
        Alignment implementation (see :mod:`ecgpaper.scoring.alignment`).

    Returns
    -------
    EvaluationResult

    Raises
    ------
    FileNotFoundError
        No record in the reference folder; the output folder does not exist
        or holds the header of none of the reference records (checked before
        any scoring).
    ScoringError
        A record violates the contract (see :func:`score_record`).

    Examples
    --------
    >>> import tempfile
    >>> from ecgcore.wfdbio import write_record
    >>> d = Path(tempfile.mkdtemp())
    >>> t = np.arange(1000) / 500.0
    >>> x = np.stack([np.sin(2 * np.pi * 1.1 * t), np.cos(2 * np.pi * 0.7 * t)], axis=1)
    >>> write_record(d / "ref" / "r1", x, 500, ["I", "II"], ["Labels: NORM"])
    >>> write_record(d / "out" / "r1", 1.1 * x, 500, ["i", "ii"], ["Labels: NORM"])
    >>> res = evaluate_folders(d / "ref", d / "out", no_shift=True, jobs=1, intervals=False)
    >>> round(res.snr, 1), res.f_measure, res.n_digitized      # 10 log10(1 / 0.1**2) = 20 dB
    (20.0, 1.0, 1)
    >>> round(evaluate_folders(d / "ref", d / "out", jobs=1, intervals=False).snr, 1)
    15.2

    The alignment maximises the overlap of the binarised traces, not the SNR:
    for a 10 % gain error it picks a level offset that costs 4.8 dB.
    """
    if method not in ALIGNMENT_METHODS:
        raise ValueError(f"unknown alignment method {method!r}; choose one of {ALIGNMENT_METHODS}")
    start = time.perf_counter()
    if not Path(ref_folder).is_dir():
        raise FileNotFoundError(f"reference folder {ref_folder} does not exist")
    records = find_records(ref_folder)
    if not records:
        raise FileNotFoundError(f"no records (*.hea) found in the reference folder {ref_folder}")
    if not Path(est_folder).is_dir():
        raise FileNotFoundError(f"output folder {est_folder} does not exist")
    if not any(Path(est_folder, f"{r}.hea").is_file() for r in records):
        raise FileNotFoundError(
            f"no output record found: the output folder {est_folder} holds no header (.hea) of "
            f"any of the {len(records)} records of the reference folder {ref_folder} "
            f"(looked for {Path(est_folder, records[0])}.hea, ...)")
    jobs = (os.cpu_count() or 1) if jobs is None else max(1, int(jobs))
    tasks = [(str(ref_folder), str(est_folder), r, no_shift, extra, intervals, method)
             for r in records]
    results: list[RecordScore] = []

    def collect(iterator):
        step = max(1, len(tasks) // 10)
        for i, res in enumerate(iterator, 1):
            results.append(res)
            if progress and (i % step == 0 or i == len(tasks)):
                print(f"scored {i}/{len(tasks)} records ({time.perf_counter() - start:.1f} s)",
                      file=sys.stderr, flush=True)

    if jobs == 1 or len(tasks) < 2:
        collect(map(_score_task, tasks))
    else:
        jobs = min(jobs, len(tasks))
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            collect(pool.map(_score_task, tasks, chunksize=max(1, len(tasks) // (8 * jobs))))
    result = _aggregate(results, extra, intervals, time.perf_counter() - start)
    result.alignment = "none" if no_shift else method
    result.input_warnings = _input_warnings(results, ref_folder, est_folder)
    for w in result.input_warnings:
        log.warning("%s", w)
    return result


def _first(names: Sequence[str]) -> str:
    shown = ", ".join(names[:_FIRST_NAMES])
    return shown + (", ..." if len(names) > _FIRST_NAMES else "")


def _suggest(label: str, known: Sequence[str]) -> str:
    """`` (did you mean 'X'?)`` for a case-insensitive or close match among ``known``."""
    upper = {k.upper(): k for k in known}
    match = upper.get(label.upper())
    if match is None:
        close = difflib.get_close_matches(label.upper(), list(upper), n=1, cutoff=0.6)
        match = upper[close[0]] if close else None
    return f" (did you mean {match!r}?)" if match else ""


def _label_counts(pairs: list[tuple[str, list[str]]]) -> tuple[dict[str, int], list[str]]:
    """Records per label and the records holding any, in record order."""
    counts: dict[str, int] = {}
    records: list[str] = []
    for record, labels in pairs:
        for label in labels:
            counts[label] = counts.get(label, 0) + 1
        if labels:
            records.append(record)
    return counts, records


def _input_warnings(results: list[RecordScore], ref_folder, est_folder) -> list[str]:
    """One line per kind of input problem that the official scorer passes over silently.

    None changes a score: missing outputs score 0 dB and "predicted nothing",
    unknown predicted labels are ignored, exactly as officially.
    """
    out = []
    missing = [r.record for r in results if r.estimate == "missing"]
    if missing:
        out.append(f"{len(missing)} of {len(results)} reference records have no output header "
                   f"(.hea) in {est_folder}, scored as not digitized (0 dB) and predicting no "
                   f"label: {_first(missing)}")
    no_dat = [r.record for r in results if r.has_reference and r.estimate == "no_signal"]
    if no_dat:
        out.append(f"{len(no_dat)} of {sum(r.has_reference for r in results)} scored records "
                   f"have an output header in {est_folder} but no signal file (.dat), scored "
                   f"as not digitized (0 dB): {_first(no_dat)}")
    ref_classes = sorted({c for r in results for c in r.ref_labels})
    known = set(ref_classes) | set(CLASSES)
    out += _unknown_labels([(r.record, r.pred_labels) for r in results], sorted(known),
                           f"output header(s) in {est_folder}",
                           "that are no Challenge class and no reference class, ignored by the "
                           "F-measure (labels match case-sensitively)")
    out += _unknown_labels([(r.record, r.ref_labels) for r in results], list(CLASSES),
                           f"reference header(s) in {ref_folder}",
                           "that are no Challenge 2024 class, scored as given")
    return out


def _unknown_labels(pairs: list[tuple[str, list[str]]], known: list[str], where: str,
                    consequence: str) -> list[str]:
    """One warning line on the labels of ``pairs`` (record, labels) that are not in ``known``."""
    counts, records = _label_counts([(rec, [c for c in labs if c not in known])
                                     for rec, labs in pairs])
    if not counts:
        return []
    names = "; ".join(f"{c!r} in {n} record(s){_suggest(c, known)}"
                      for c, n in sorted(counts.items()))
    return [f"'# Labels:' of {len(records)} {where} name labels {consequence}: {names}; "
            f"records: {_first(records)}"]


def _aggregate(results: list[RecordScore], extra: bool, intervals: bool,
               elapsed_s: float) -> EvaluationResult:
    scored = [r for r in results if r.has_reference]
    n_digitized = sum(r.digitized for r in scored)
    snr = float("nan")
    extra_means = {name: float("nan") for name in EXTRA_METRICS} if extra else {}
    if n_digitized > 0:
        snr = _nanmean(np.concatenate([r.metrics["snr"] for r in scored]))
        for name in extra_means:
            extra_means[name] = _nanmean(np.concatenate([r.metrics[name] for r in scored]))
    per_lead: dict[str, list[float]] = {}
    for r in scored:
        for name, value in zip(r.channels, r.metrics["snr"]):
            per_lead.setdefault(canonical_lead_name(name), []).append(value)
    per_record = {r.record: _nanmean(r.metrics["snr"]) for r in scored}
    refs = [r.ref_labels for r in results]
    preds = [r.pred_labels for r in results]
    f_measure, classes, _ = compute_f_measure(refs, preds)
    labeled = [r for r in results if r.ref_labels]
    warnings = [w for r in results for w in r.warnings]
    for w in warnings:
        log.warning("%s", w)
    return EvaluationResult(
        snr=snr, f_measure=f_measure, extra=extra_means, records=results,
        per_lead_snr={k: _nanmean(v) for k, v in per_lead.items()},
        per_record_snr=per_record, n_scored=len(scored), n_digitized=n_digitized,
        classes=classes, class_scores=class_table(refs, preds), n_labeled=len(labeled),
        n_classified=sum(1 for r in labeled if r.pred_labels),
        intervals=summarize_intervals([r.intervals for r in scored if r.intervals is not None])
        if intervals else None,
        warnings=warnings, elapsed_s=elapsed_s)


# ---------------------------------------------------------------------------------------
# Text output


def _fmt(value: float) -> str:
    return f"{value:.3f}"


def format_summary(result: EvaluationResult, extra: bool = False) -> str:
    """The official summary lines: ``SNR: %.3f`` (extras with ``extra``) and ``F-measure: %.3f``."""
    lines = [f"SNR: {result.snr:.3f}"]
    if extra:
        lines += [f"{_EXTRA_LINES[name]}: {result.extra.get(name, float('nan')):.3f}"
                  for name in EXTRA_METRICS]
    lines.append(f"F-measure: {result.f_measure:.3f}")
    return "\n".join(lines) + "\n"


def _columns(result: EvaluationResult) -> list[str]:
    cols: list[str] = []
    for r in result.records:
        for name in r.channels:
            name = canonical_lead_name(name)
            if name not in cols:
                cols.append(name)
    return cols


def format_snr_table(result: EvaluationResult, metric: str = "snr") -> str:
    """Tab-separated per-record x per-channel table of one metric (``-ta``).

    Header ``Record`` + channel names (canonical spelling, first-seen order);
    one row per record with a reference signal; ``nan`` where the metric is
    NaN, an empty cell where the record lacks the channel.
    """
    if metric not in LEAD_METRICS:
        raise ValueError(f"unknown metric {metric!r}; choose one of {LEAD_METRICS}")
    cols = _columns(result)
    lines = ["\t".join(["Record"] + cols)]
    for r in result.records:
        if not r.has_reference or metric not in r.metrics:
            continue
        values = {canonical_lead_name(n): v for n, v in zip(r.channels, r.metrics[metric])}
        lines.append("\t".join([r.record] + [_fmt(values[c]) if c in values else "" for c in cols]))
    return "\n".join(lines) + "\n"


def format_class_table(result: EvaluationResult) -> str:
    """Tab-separated per-class table (``-tb``): counts, precision, recall, F-measure."""
    lines = ["Class\tTP\tFP\tFN\tSupport\tPrecision\tRecall\tF-measure"]
    for s in result.class_scores:
        lines.append(f"{s.label}\t{s.tp}\t{s.fp}\t{s.fn}\t{s.support}\t{_fmt(s.precision)}\t"
                     f"{_fmt(s.recall)}\t{_fmt(s.f_measure)}")
    lines.append(f"Macro\t\t\t\t{result.n_labeled}\t\t\t{_fmt(result.f_measure)}")
    return "\n".join(lines) + "\n"


def format_interval_table(result: EvaluationResult) -> str:
    """Tab-separated per-record intervals (``-ti``): reference and estimate, ms."""
    head = ["Record"] + [f"{name[:-3]}_{side}_ms" for name in INTERVALS for side in ("ref", "est")]
    lines = ["\t".join(head)]
    for r in result.records:
        if r.intervals is None:
            continue
        cells = [_fmt(v) for name in INTERVALS for v in r.intervals[name]]
        lines.append("\t".join([r.record] + cells))
    return "\n".join(lines) + "\n"


def format_report(result: EvaluationResult) -> str:
    """Short human-readable tables: per-lead SNR, per-class F, interval errors, warnings."""
    out = [f"Scored {result.n_scored} records with a reference signal "
           f"({result.n_digitized} digitized) in {result.elapsed_s:.1f} s; alignment: "
           f"{result.alignment}."]
    if result.alignment == "window":
        out.append("  (the window alignment differs from the official scorer where its best lag "
                   "is beyond 0.5 s, common with masked references; --alignment global is "
                   "exact and slower, see docs/scoring.md)")
    if result.per_lead_snr:
        out.append("Per-lead SNR (dB, mean over records):")
        out += [f"  {lead:<5} {_fmt(v):>8}" for lead, v in result.per_lead_snr.items()]
    if result.class_scores:
        out.append(f"Per-class F-measure ({result.n_labeled} labeled records, "
                   f"{result.n_classified} with a prediction):")
        out.append(f"  {'class':<10} {'TP':>5} {'FP':>5} {'FN':>5} {'prec':>7} {'recall':>7} {'F':>7}")
        out += [f"  {s.label:<10} {s.tp:>5} {s.fp:>5} {s.fn:>5} {_fmt(s.precision):>7} "
                f"{_fmt(s.recall):>7} {_fmt(s.f_measure):>7}" for s in result.class_scores]
    if result.intervals is not None:
        iv = result.intervals
        out.append(f"Interval errors over {iv.n_records} records ({iv.method}):")
        out += [f"  {name:<7} n={iv.n_measured[name]:<5} mean |err| {_fmt(iv.mae_ms[name]):>8} ms"
                f"  median |err| {_fmt(iv.median_ae_ms[name]):>8} ms" for name in INTERVALS]
    if result.warnings:
        out.append(f"{len(result.warnings)} warning(s), logged above (EvaluationResult.warnings).")
    out += [f"warning: {w}" for w in result.input_warnings]
    return "\n".join(out) + "\n"


def build_parser() -> argparse.ArgumentParser:
    """Command-line parser: the official flags plus ``-j``, ``--no-intervals``, ``-ti``, ``--alignment``."""
    p = argparse.ArgumentParser(
        prog="evaluate_model.py",
        description="Score ECG digitization (SNR) and classification (macro F) outputs "
                    "against reference records, as the PhysioNet Challenge 2024 does.")
    p.add_argument("-d", "--folder_ref", required=True, help="reference folder (records listed from here)")
    p.add_argument("-o", "--folder_est", required=True, help="model output folder")
    p.add_argument("-n", "--no_shift", action="store_true", help="do not align the estimates")
    p.add_argument("-x", "--extra_scores", action="store_true",
                   help="also compute SNR median, KS, ASCI and weighted absolute difference")
    p.add_argument("-s", "--summary_score_file", "--score_file", dest="summary_score_file",
                   help="write the 'SNR:'/'F-measure:' lines here instead of printing them")
    p.add_argument("-ta", dest="snr_table", metavar="FILE",
                   help="tab-separated per-record x per-channel SNR table")
    p.add_argument("-tb", dest="class_table", metavar="FILE", help="tab-separated per-class table")
    p.add_argument("-ti", dest="interval_table", metavar="FILE",
                   help="tab-separated per-record RR/QRS/QT table (reference and estimate)")
    p.add_argument("-j", "--jobs", type=int, default=None,
                   help="worker processes (default: all CPUs; 1 = inline)")
    p.add_argument("--no-intervals", dest="intervals", action="store_false",
                   help="skip the RR/QRS/QT interval errors")
    p.add_argument("--alignment", choices=ALIGNMENT_METHODS, default="global",
                   help="alignment implementation: 'global' (default: the official arg-max, "
                        "exact), 'window' (9-15x faster; differs from the official scorer when "
                        "the best lag is beyond 0.5 s), 'official' (the official 2-D FFT, "
                        "5-15x slower than 'global')")
    p.add_argument("--report", metavar="DIR",
                   help="also write DIR/evaluation.html with charts and the worst records "
                        "(needs matplotlib; see ecgpaper.report)")
    p.add_argument("--run-report", metavar="DIR",
                   help="run report (run_model.py --report) to link the worst records to "
                        "(default: --report's DIR when it holds one)")
    return p


def _write_problem(path: str) -> str | None:
    """Why ``path`` cannot be written (checked before scoring), or None."""
    target = Path(path)
    folder = target.parent
    if not folder.exists():
        return f"folder {folder} does not exist"
    if not folder.is_dir():
        return f"{folder} is not a folder"
    if target.is_dir():
        return "is a folder"
    if not os.access(folder, os.W_OK):
        return f"folder {folder} is not writable"
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return the exit status.

    0 on success; 2 on a contract violation, a missing reference or output
    folder, no output record at all, or an output file (``-s``, ``-ta``,
    ``-tb``, ``-ti``) whose folder does not exist (checked before scoring).
    Each error is one line on stderr naming the file or folder.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.interval_table and not args.intervals:
        parser.error("-ti needs the interval errors; drop --no-intervals")
    targets = (("-s", args.summary_score_file), ("-ta", args.snr_table),
               ("-tb", args.class_table), ("-ti", args.interval_table))
    for flag, path in targets:
        problem = _write_problem(path) if path else None
        if problem:
            print(f"error: {flag} {path}: {problem}", file=sys.stderr)
            return 2
    if args.report:  # before scoring: a missing matplotlib is one line, not a lost run
        from ecgpaper.report import ReportError, require_matplotlib

        try:
            require_matplotlib()
        except ReportError as exc:
            print(f"error: --report: {exc}", file=sys.stderr)
            return 2
    try:
        result = evaluate_folders(args.folder_ref, args.folder_est, no_shift=args.no_shift,
                                  extra=args.extra_scores, jobs=args.jobs,
                                  intervals=args.intervals, method=args.alignment)
    except (ScoringError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    summary = format_summary(result, extra=args.extra_scores)
    if args.summary_score_file:
        atomic_write_bytes(args.summary_score_file, summary.encode("utf-8"))
    else:
        print(summary, end="")
    outputs = ((args.snr_table, format_snr_table), (args.class_table, format_class_table),
               (args.interval_table, format_interval_table))
    for path, formatter in outputs:
        if path:
            atomic_write_bytes(path, formatter(result).encode("utf-8"))
    print(format_report(result), end="")
    if args.report:
        from ecgpaper.report.evaluation import write_evaluation_report

        page = write_evaluation_report(args.report, result, args.folder_ref, args.folder_est,
                                       run_report=args.run_report)
        print(f"evaluation report: {page}")
    return 0
