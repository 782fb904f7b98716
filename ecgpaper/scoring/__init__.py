"""The Challenge 2024 scorer: digitization SNR with alignment, macro F-measure, extras.

Reproduces ``evaluate_model.py`` of evaluation-2024 as used for the 2024
results (see ``docs/scoring.md``), faster (a sparse exact alignment, numpy
signal reading, a process pool) and without its crash paths, plus clinical
interval errors (RR, QRS, QT) of the digitized records.

Public API
----------
evaluate_folders(ref_folder, est_folder, no_shift=False, extra=False, jobs=None,
                 intervals=True, progress=False, method="global") -> EvaluationResult
snr_per_lead(reference, estimate, fs_hz, align=True, method="global") -> (c,) dB
score_leads(reference, estimate, fs_hz, align=True, method="global", extra=False)
compute_snr(x, y, keep_nans=True, signal_median=False, noise_median=False) -> dB
compute_ks_metric, compute_asci_metric, compute_weighted_absolute_difference
align_signal(x, y, fs_hz, method="global"), find_shift, apply_shift
compute_f_measure(ref_labels, pred_labels) -> (macro_f, classes, per_class_f)
class_table(ref_labels, pred_labels) -> list[ClassScore]
compare_intervals, summarize_intervals
main(argv=None)
    The command line (also ``python -m ecgpaper.scoring`` and ``evaluate_model.py``).
"""

from .alignment import ALIGNMENT_METHODS, align_signal, apply_shift, find_shift
from .classification import ClassScore, class_table, compute_f_measure
from .evaluate import EvaluationResult, RecordScore, ScoringError, evaluate_folders, main, read_record
from .intervals import IntervalSummary, compare_intervals, summarize_intervals
from .metrics import (
    compute_asci_metric,
    compute_ks_metric,
    compute_snr,
    compute_weighted_absolute_difference,
    score_leads,
    snr_per_lead,
)

__all__ = [
    "ALIGNMENT_METHODS",
    "ClassScore",
    "EvaluationResult",
    "IntervalSummary",
    "RecordScore",
    "ScoringError",
    "align_signal",
    "apply_shift",
    "class_table",
    "compare_intervals",
    "compute_asci_metric",
    "compute_f_measure",
    "compute_ks_metric",
    "compute_snr",
    "compute_weighted_absolute_difference",
    "evaluate_folders",
    "find_shift",
    "main",
    "read_record",
    "score_leads",
    "snr_per_lead",
    "summarize_intervals",
]
