"""The evaluation report: ``evaluate_model.py ... --report DIR`` writes ``DIR/evaluation.html``.

From an :class:`~ecgpaper.scoring.evaluate.EvaluationResult` it shows the Challenge scores, a
per-lead SNR bar chart and a per-record SNR histogram, breakdowns by sub-folder and by the
layout the digitizer found (when a run report says), the per-class precision/recall/F table
with a reference x prediction confusion view, the interval errors, and the
:data:`N_WORST` worst records with reference and digitized signals overlaid per lead (aligned
as scored), each linked to its page overlay when a run report (``report.json``, see
:mod:`ecgpaper.report.run`) lies in DIR or in ``run_report``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from ecgpaper.scoring.alignment import align_signal
from ecgpaper.scoring.evaluate import _reorder, read_record
from ecgpaper.scoring.intervals import INTERVALS

from .figures import lead_snr_chart, reference_figure, require_matplotlib, snr_histogram
from .html import esc, fmt, href, table, write_page
from .run import MANIFEST

__all__ = ["write_evaluation_report", "PAGE", "N_WORST"]

PAGE = "evaluation.html"
#: Records shown with their signals, worst mean SNR first.
N_WORST = 10
_FIG_DIR = "evaluation"


def _run_rows(folders: list[Path]) -> tuple[Path | None, dict[str, dict]]:
    """The run report's rows by record, from the first folder holding ``report.json``."""
    for folder in folders:
        path = folder / MANIFEST
        if path.is_file():
            try:
                rows = json.loads(path.read_text(encoding="utf-8"))["records"]
                return folder, {r["record"]: r for r in rows}
            except (OSError, ValueError, KeyError, TypeError):
                continue
    return None, {}


def _num(value, digits: int = 2) -> str:
    return f'<td class="num">{fmt(value, digits)}</td>'


def _breakdown(title: str, groups: dict[str, list[float]]) -> str:
    """Mean record SNR per group, when there are at least two groups."""
    if len(groups) < 2:
        return ""
    rows = [[f"<td>{esc(k)}</td>", _num(len(v), 0), _num(np.nanmean(v) if np.isfinite(v).any()
                                                          else float("nan"))]
            for k, v in sorted(groups.items())]
    return f"<h3>{esc(title)}</h3>" + table([title, "records", "mean SNR (dB)"], rows, True)


def _confusion(records) -> str:
    """Reference class (rows) x predicted class (columns): records with both."""
    labeled = [r for r in records if r.ref_labels]
    classes = sorted({c for r in labeled for c in r.ref_labels + r.pred_labels})
    if not classes:
        return ""
    cols = classes + ["(none)"]
    rows = []
    for c in classes:
        with_c = [r for r in labeled if c in r.ref_labels]
        counts = [sum(p in r.pred_labels for r in with_c) for p in classes]
        counts.append(sum(not r.pred_labels for r in with_c))
        top = max(1, len(with_c))
        cells = [f"<td>{esc(c)}</td>", _num(len(with_c), 0)]
        for p, n in zip(cols, counts):
            shade = int(255 - 155 * n / top)
            colour = f"rgb({shade},{shade},255)" if p == c else f"rgb(255,{shade},{shade})"
            cells.append(f'<td class="num" style="background:{colour if n else "white"}">'
                         f"{n}</td>")
        rows.append(cells)
    return ("<h3>Confusion (records of each reference class by predicted class; blue: "
            "correct, red: other classes)</h3>"
            + table(["reference \\ predicted", "records", *cols], rows))


def write_evaluation_report(folder, result, ref_folder, est_folder, run_report=None) -> Path:
    """Write ``evaluation.html`` and its pictures into ``folder``.

    Parameters
    ----------
    folder : path-like
        Report folder (created).
    result : ecgpaper.scoring.evaluate.EvaluationResult
    ref_folder, est_folder : path-like
        The folders that were scored (the worst records' signals are read again).
    run_report : path-like, optional
        A run report folder to link to; ``folder`` itself is looked at too.

    Returns
    -------
    pathlib.Path
        The page.

    Raises
    ------
    ecgpaper.report.figures.ReportError
        When matplotlib is missing.
    """
    require_matplotlib()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    run_dir, run_rows = _run_rows([Path(p) for p in (run_report, folder) if p])
    body = ["<h2>Challenge scores</h2>", table(["score", "value"], [
        ["<td>SNR (dB, mean over records and leads)</td>", _num(result.snr, 3)],
        ["<td>F-measure (macro)</td>", _num(result.f_measure, 3)],
        *[[f"<td>{esc(k)}</td>", _num(v, 3)] for k, v in result.extra.items()],
        ["<td>records scored / digitized</td>",
         f'<td class="num">{result.n_scored} / {result.n_digitized}</td>'],
        ["<td>labeled records / with a prediction</td>",
         f'<td class="num">{result.n_labeled} / {result.n_classified}</td>'],
        [f"<td>alignment</td><td>{esc(result.alignment)}</td>"]])]
    if run_dir is not None:
        index = os.path.relpath(run_dir / "index.html", folder)
        body.append(f'<p>Page overlays: <a href="{href(index)}">run report</a>.</p>')
    warnings = list(result.input_warnings) + list(result.warnings)
    if warnings:
        body.append("<ul>" + "".join(f'<li class="bad">{esc(w)}</li>' for w in warnings)
                    + "</ul>")
    body.append(_snr_section(folder, result, run_rows))
    body.append(_class_section(result))
    body.append(_interval_section(result))
    body.append(_worst_section(folder, result, ref_folder, est_folder, run_dir, run_rows))
    return write_page(folder / PAGE, "Evaluation report", "\n".join(body))


def _snr_section(folder: Path, result, run_rows: dict) -> str:
    out = ["<h2>Digitization</h2>"]
    if result.per_lead_snr:
        lead_snr_chart(folder / _FIG_DIR / "lead_snr.png", result.per_lead_snr)
        snr_histogram(folder / _FIG_DIR / "record_snr.png", result.per_record_snr)
        out.append(f'<figure><img src="{href(_FIG_DIR + "/lead_snr.png")}" alt="per-lead SNR">'
                   "<figcaption>mean SNR per lead</figcaption></figure>"
                   f'<figure><img src="{href(_FIG_DIR + "/record_snr.png")}" '
                   'alt="per-record SNR histogram"><figcaption>mean SNR per record'
                   "</figcaption></figure>")
    by_dir: dict[str, list[float]] = {}
    by_layout: dict[str, list[float]] = {}
    for rec, v in result.per_record_snr.items():
        by_dir.setdefault(str(Path(rec).parent), []).append(v)
        if rec in run_rows:
            layout = ", ".join(str(x) for x in run_rows[rec]["layouts"]) or "none"
            by_layout.setdefault(layout, []).append(v)
    out.append(_breakdown("sub-folder", by_dir))
    out.append(_breakdown("layout found", by_layout))
    return "\n".join(out)


def _class_section(result) -> str:
    if not result.class_scores:
        return ""
    rows = [[f"<td>{esc(s.label)}</td>", _num(s.tp, 0), _num(s.fp, 0), _num(s.fn, 0),
             _num(s.support, 0), _num(s.precision, 3), _num(s.recall, 3), _num(s.f_measure, 3)]
            for s in result.class_scores]
    return ("<h2>Classification</h2>"
            + table(["class", "TP", "FP", "FN", "support", "precision", "recall", "F"], rows,
                    True) + _confusion(result.records))


def _interval_section(result) -> str:
    iv = result.intervals
    if iv is None:
        return ""
    rows = [[f"<td>{esc(name[:-3].upper())}</td>", _num(iv.n_measured.get(name, 0), 0),
             _num(iv.mae_ms.get(name), 1), _num(iv.median_ae_ms.get(name), 1)]
            for name in INTERVALS]
    return (f"<h2>Interval errors</h2><p>{iv.n_records} records, delineation "
            f"{esc(iv.method)}.</p>"
            + table(["interval", "records measured", "mean |error| (ms)",
                     "median |error| (ms)"], rows))


def _worst_section(folder: Path, result, ref_folder, est_folder, run_dir, run_rows) -> str:
    scored = [(v, rec) for rec, v in result.per_record_snr.items()]
    worst = sorted(scored, key=lambda t: (np.nan_to_num(t[0], nan=-np.inf), t[1]))[:N_WORST]
    if not worst:
        return ""
    by_name = {r.record: r for r in result.records}
    out = [f"<h2>The {len(worst)} worst records</h2><p>Reference in black, digitized in red "
           "(aligned as scored); each lead's SNR on its left.</p>"]
    method = "window" if result.alignment in ("none", "window") else result.alignment
    for v, rec in worst:
        r = by_name[rec]
        ref = read_record(Path(ref_folder) / rec)
        est = read_record(Path(est_folder) / rec) if r.digitized else None
        if ref is None:
            continue
        ref_sig, ref_hdr = ref
        est_sig = np.full(ref_sig.shape, np.nan)
        if est is not None:
            est_sig, _ = _reorder(est[0], est[1].lead_names, ref_hdr.lead_names, rec)
            n = min(est_sig.shape[0], ref_sig.shape[0])
            est_sig = np.vstack([est_sig[:n], np.full((ref_sig.shape[0] - n,
                                                      est_sig.shape[1]), np.nan)])
            if result.alignment != "none":
                est_sig = np.stack([align_signal(ref_sig[:, j], est_sig[:, j], ref_hdr.fs_hz,
                                                 method=method)[:ref_sig.shape[0]]
                                    for j in range(ref_sig.shape[1])], axis=1)
        png = Path(_FIG_DIR) / "worst" / f"{rec}.png"
        reference_figure(folder / png, rec, ref_sig, est_sig, ref_hdr.fs_hz, ref_hdr.lead_names,
                         r.metrics.get("snr", np.full(ref_sig.shape[1], np.nan)))
        link = ""
        if rec in run_rows and run_dir is not None:
            overlay = os.path.relpath(run_dir / run_rows[rec]["png"], folder)
            link = f' &middot; <a href="{href(overlay)}">page overlay</a>'
        out.append(f"<h3>{esc(rec)}: {fmt(v)} dB{link}</h3>"
                   f'<img src="{href(png)}" alt="{esc(rec)}" style="max-width:100%">')
    return "\n".join(out)
