"""The run report: one PNG per record and an ``index.html`` (``run_model.py --report DIR``).

:class:`RunReport` stands in for ``team_code.run_models`` during a run: it runs
:func:`ecgpaper.runner.run_record` (what ``run_models`` calls) asking for the pages as read,
draws each record (:func:`~ecgpaper.report.figures.record_figure`) and, at the end, writes

    DIR/index.html        one row per record, sortable (confidence, leads left NaN, labels)
    DIR/records/REC.png   the page overlay, the 12-lead plot and the labels
    DIR/report.json       the same rows as data (the evaluation report links to them)

A record that fails is drawn as a line saying why, then its exception goes on to
:func:`~ecgpaper.runner.run_folder`, which handles it as without the report.
"""

from __future__ import annotations

import json
import logging
import sys
import time
import traceback
from pathlib import Path

import numpy as np

from ecgcore.constants import canonical_lead_name
from ecgcore.wfdbio import atomic_write_bytes, read_header
from ecgpaper.runner import run_folder, run_record

from .figures import (ReportError, confidence_rgba, error_figure, record_figure,
                      require_matplotlib)
from .html import esc, fmt, href, table, write_page
from .overlay import page_overlay

__all__ = ["RunReport", "run_folder_with_report", "run_and_report", "MANIFEST", "INDEX"]

log = logging.getLogger("ecgpaper.report")

MANIFEST = "report.json"
INDEX = "index.html"
RECORDS_DIR = "records"


def _lead_confidence(overlays, signal: np.ndarray | None, lead_names) -> dict[str, float | None]:
    """Per output lead: mean confidence of its read panels; None where the output is NaN."""
    out: dict[str, float | None] = {}
    for j, name in enumerate(lead_names):
        if signal is None or not np.isfinite(signal[:, j]).any():
            out[name] = None
            continue
        conf = [p.confidence for ov in overlays for p in ov.panels
                if p.lead == canonical_lead_name(name) and not p.failed]
        out[name] = round(float(np.mean(conf)), 3) if conf else None
    return out


class RunReport:
    """Collects the records of a run and writes the report (see the module docstring).

    Parameters
    ----------
    folder : path-like
        The report folder (created).
    data_folder : path-like
        The run's data folder, to name records by their relative path.
    params : dict, optional
        The digitizer's parameters (the limits of the confidence).

    Raises
    ------
    ecgpaper.report.figures.ReportError
        When matplotlib is missing.
    """

    def __init__(self, folder, data_folder, params: dict | None = None):
        require_matplotlib()
        self.folder = Path(folder)
        self.data_folder = Path(data_folder)
        self.params = params
        self.rows: list[dict] = []
        self.render_s = 0.0
        self.folder.mkdir(parents=True, exist_ok=True)

    def _rel(self, record) -> str:
        try:
            return Path(record).relative_to(self.data_folder).as_posix()
        except ValueError:
            return Path(record).name

    def run_models(self, record, digitization_model, classification_model, verbose):
        """``team_code.run_models``'s contract, plus the record's report entry."""
        if self.params is None and digitization_model is not None \
                and digitization_model.digitizer is not None:
            self.params = dict(digitization_model.digitizer.params)
        pages: list = []
        try:
            signal, labels = run_record(record, digitization_model, classification_model,
                                        verbose, pages=pages)
        except Exception as exc:  # noqa: BLE001 -- drawn, then handled by run_folder
            self.add_failure(self._rel(record), f"{type(exc).__name__}: {exc}", pages)
            raise
        header = read_header(record)
        proba = None
        if classification_model is not None and labels is not None and signal is not None \
                and np.isfinite(signal).any():
            try:
                proba = classification_model.predict_proba(signal, header.fs_hz,
                                                           header.lead_names)
            except Exception:  # noqa: BLE001 -- the report's own boundary
                log.warning("record %s: no probabilities for the report:\n%s", record,
                            traceback.format_exc())
        thresholds = getattr(classification_model, "thresholds", None)
        self.add(self._rel(record), header, pages, signal, labels, proba, thresholds)
        return signal, labels

    def add(self, rel: str, header, pages: list, signal: np.ndarray | None, labels,
            probabilities: dict | None = None, thresholds: dict | None = None) -> dict:
        """Draw one record and keep its row.

        Parameters
        ----------
        rel : str
            Record path relative to the data folder.
        header : ecgcore.wfdbio.Header
        pages : list of (name, image, ImageReadout)
            As filled by ``digitize_images(..., pages=)``.
        signal : numpy.ndarray or None
            The output ``(n, leads)`` in mV.
        labels, probabilities, thresholds
            The classifier's output and, when known, its probabilities and thresholds.

        Returns
        -------
        dict
            The record's row of ``report.json``.
        """
        t0 = time.perf_counter()
        overlays = [page_overlay(ro, header.fs_hz, self.params) for _, _, ro in pages]
        png = Path(RECORDS_DIR) / f"{rel}.png"
        record_figure(self.folder / png, rel, [(n, img, ov) for (n, img, _), ov
                                               in zip(pages, overlays)],
                      signal, header.fs_hz, header.lead_names, labels, probabilities,
                      thresholds)
        leads = _lead_confidence(overlays, signal, header.lead_names)
        errors = [ov.info["error"] for ov in overlays if ov.info.get("error")]
        row = dict(record=rel, png=png.as_posix(), status="ok" if signal is not None
                   and np.isfinite(signal).any() else "no signal",
                   confidence=round(float(np.mean([v or 0.0 for v in leads.values()])), 3)
                   if leads else 0.0,
                   leads=leads, n_nan=sum(v is None for v in leads.values()),
                   layouts=[ov.info.get("layout") for ov in overlays],
                   labels=labels, probabilities=probabilities, error="; ".join(errors) or None)
        self.rows.append(row)
        self.render_s += time.perf_counter() - t0
        return row

    def add_failure(self, rel: str, message: str, pages: list | None = None) -> dict:
        """Keep a row (and a PNG saying why) for a record whose run failed."""
        t0 = time.perf_counter()
        png = Path(RECORDS_DIR) / f"{rel}.png"
        error_figure(self.folder / png, rel, message)
        row = dict(record=rel, png=png.as_posix(), status="failed", confidence=0.0, leads={},
                   n_nan=None, layouts=[], labels=None, probabilities=None, error=message)
        self.rows.append(row)
        self.render_s += time.perf_counter() - t0
        return row

    def finish(self, summary=None) -> Path:
        """Write ``index.html`` and ``report.json``; returns the index's path."""
        rows = sorted(self.rows, key=lambda r: (r["confidence"], r["record"]))
        atomic_write_bytes(self.folder / MANIFEST, json.dumps(
            {"records": rows, "summary": summary.text() if summary is not None else None},
            indent=1).encode("utf-8"))
        lead_names = list(dict.fromkeys(n for r in rows for n in r["leads"]))
        body = [f"<p>{len(rows)} records, worst confidence first; click a column to sort. "
                "Confidence: the margin the digitizer had left to its nearest failure check "
                "(1 = clean, 0 = at a limit); a red cell is a lead left NaN. "
                "Click a picture for the page overlay, the 12-lead plot and the labels.</p>"]
        if summary is not None:
            body.append(f"<pre>{esc(summary.text())}</pre>")
        body.append(table(["page", "record", "status", "confidence", "NaN leads", *lead_names,
                           "layout", "labels"], (self._cells(r, lead_names) for r in rows),
                          sortable=True))
        return write_page(self.folder / INDEX, "Digitization report", "\n".join(body))

    @staticmethod
    def _cells(row: dict, lead_names: list[str]) -> list[str]:
        link = href(row["png"])
        thumb = "thumb" if row["status"] != "failed" else "thumb msg"
        cells = [f'<td><a href="{link}"><img class="{thumb}" src="{link}" loading="lazy" '
                 f'alt="{esc(row["record"])}"></a></td>',
                 f'<td>{esc(row["record"])}</td>',
                 f'<td class="{"" if row["status"] == "ok" else "bad"}">{esc(row["status"])}'
                 + (f'<br><small>{esc(row["error"])}</small>' if row["error"] else "") + "</td>",
                 f'<td class="num">{fmt(row["confidence"])}</td>',
                 f'<td class="num">{fmt(row["n_nan"])}</td>']
        for name in lead_names:
            v = row["leads"].get(name, "absent")
            if v is None:
                cells.append(f'<td class="lead nan" data-v="-1" title="{esc(name)}">NaN</td>')
            elif v == "absent":
                cells.append('<td class="lead" data-v="-2"></td>')
            else:
                r, g, b, _ = (int(255 * c) for c in confidence_rgba(v))
                cells.append(f'<td class="lead num" data-v="{v}" title="{esc(name)}" '
                             f'style="background:rgb({r},{g},{b})">{fmt(v)}</td>')
        cells.append(f'<td>{esc(", ".join(str(x) for x in row["layouts"]))}</td>')
        labels = row["labels"]
        cells.append(f'<td>{esc(", ".join(labels)) if labels else ""}</td>')
        return cells


def run_folder_with_report(data_folder, model_folder, output_folder, report_folder,
                           load_models, allow_failures: bool = False, verbose: bool = False):
    """:func:`ecgpaper.runner.run_folder` with a :class:`RunReport` written to ``report_folder``.

    Returns
    -------
    (RunSummary, pathlib.Path)
        The run's summary and the report's ``index.html``.
    """
    report = RunReport(report_folder, data_folder)
    summary = run_folder(data_folder, model_folder, output_folder, load_models,
                         report.run_models, allow_failures=allow_failures, verbose=verbose)
    return summary, report.finish(summary)



def run_and_report(args, load_models, prog: str):
    """The ``--report`` path of ``run_model.py`` and ``python -m ecgpaper.report run``.

    Runs the folder with :func:`run_folder_with_report` (``args``: ``data_folder``,
    ``model_folder``, ``output_folder``, ``report``, ``allow_failures``, ``verbose``), prints
    the summary and where the report is, and exits with status 2 and one line when matplotlib
    is missing (checked before anything is run).
    """
    try:
        summary, index = run_folder_with_report(
            args.data_folder, args.model_folder, args.output_folder, args.report, load_models,
            allow_failures=args.allow_failures, verbose=args.verbose)
    except ReportError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    print(summary.text())
    print(f"report: {index}")
    return summary
