"""See what the digitizer read: page overlays and an evaluation report (issue 19).

- ``run_model.py ... --report DIR`` (or ``python -m ecgpaper.report run ...``) writes, for
  every record, one PNG with each page and every digitized lead drawn back where it was
  read (coloured by confidence, leads left NaN marked; rows, panels, lead names, the
  calibration pulses and the grid scale annotated), the 12-lead plot of the output and the
  labels with their probabilities and thresholds, and one ``index.html`` sortable by
  confidence (:mod:`ecgpaper.report.run`);
- ``evaluate_model.py ... --report DIR`` writes ``DIR/evaluation.html``: the Challenge
  scores, per-lead and per-record SNR, per-class table, interval errors and the worst records
  with reference and digitized signals overlaid, linked to their page overlays
  (:mod:`ecgpaper.report.evaluation`).

The pictures need matplotlib (``requirements-dev.txt``), imported only when a report is
written; the Challenge entry runs without it.
"""

from .figures import ReportError, require_matplotlib
from .overlay import PageOverlay, PanelTrace, page_overlay, panel_confidence

__all__ = ["ReportError", "require_matplotlib", "PageOverlay", "PanelTrace", "page_overlay",
           "panel_confidence"]
