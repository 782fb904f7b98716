"""Macro F-measure of the Challenge 2024 classification task (spec section 4.6).

Only reference records with at least one non-empty label are scored; the
classes are the sorted union of their reference labels (so a predicted label
outside that set costs nothing); a record without output labels predicted
nothing. Labels match by exact, case-sensitive string equality after
stripping surrounding whitespace.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Sequence

import numpy as np

__all__ = ["ClassScore", "clean_labels", "class_table", "compute_f_measure"]


@dataclass(frozen=True)
class ClassScore:
    """One row of the per-class table.

    Attributes
    ----------
    label : str
        Class name.
    tp, fp, fn : int
        Records with the class in both, only in the prediction, only in the reference.
    support : int
        Records whose reference has the class (``tp + fn``).
    precision, recall, f_measure : float
        ``tp / (tp + fp)``, ``tp / (tp + fn)``, ``2 tp / (2 tp + fp + fn)``; NaN
        when the denominator is 0.
    """

    label: str
    tp: int
    fp: int
    fn: int
    support: int
    precision: float
    recall: float
    f_measure: float

    def as_dict(self) -> dict:
        """The row as a plain dict."""
        return asdict(self)


def clean_labels(labels: Sequence[str] | None) -> list[str]:
    """Stripped, non-empty labels in first-seen order without duplicates.

    Examples
    --------
    >>> clean_labels([" NORM", "", "STTC ", "NORM"]), clean_labels(None)
    (['NORM', 'STTC'], [])
    """
    out: list[str] = []
    for label in labels or ():
        label = str(label).strip()
        if label and label not in out:
            out.append(label)
    return out


def _ratio(num: int, den: int) -> float:
    return float(num) / float(den) if den > 0 else float("nan")


def _scored(ref_labels, pred_labels):
    if len(ref_labels) != len(pred_labels):
        raise ValueError(f"{len(ref_labels)} reference label lists but {len(pred_labels)} predicted")
    refs, preds = [], []
    for ref, pred in zip(ref_labels, pred_labels):
        ref = set(clean_labels(ref))
        if ref:  # unlabeled reference records are not scored
            refs.append(ref)
            preds.append(set(clean_labels(pred)))
    return refs, preds


def class_table(ref_labels: Sequence[Sequence[str]],
                pred_labels: Sequence[Sequence[str] | None]) -> list[ClassScore]:
    """Per-class confusion counts, precision, recall and F-measure.

    Parameters
    ----------
    ref_labels : sequence of sequences of str
        Reference labels per record (an empty list: unlabeled, not scored).
    pred_labels : sequence of sequences of str or None
        Predicted labels per record, same order (``None`` or empty: predicted nothing).

    Returns
    -------
    list of ClassScore
        One row per class of the sorted union of the scored reference labels.

    Examples
    --------
    >>> rows = class_table([["NORM"], ["STTC", "CD"], ["NORM"]], [["NORM"], ["STTC"], ["FOO"]])
    >>> [(r.label, r.tp, r.fp, r.fn, r.support, round(r.f_measure, 3)) for r in rows]
    [('CD', 0, 0, 1, 1, 0.0), ('NORM', 1, 0, 1, 2, 0.667), ('STTC', 1, 0, 0, 1, 1.0)]
    """
    refs, preds = _scored(ref_labels, pred_labels)
    classes = sorted(set().union(*refs)) if refs else []
    rows = []
    for c in classes:
        tp = sum(1 for g, p in zip(refs, preds) if c in g and c in p)
        fp = sum(1 for g, p in zip(refs, preds) if c in p and c not in g)
        fn = sum(1 for g, p in zip(refs, preds) if c in g and c not in p)
        rows.append(ClassScore(c, tp, fp, fn, tp + fn, _ratio(tp, tp + fp), _ratio(tp, tp + fn),
                               _ratio(2 * tp, 2 * tp + fp + fn)))
    return rows


def compute_f_measure(ref_labels: Sequence[Sequence[str]],
                      pred_labels: Sequence[Sequence[str] | None]
                      ) -> tuple[float, list[str], dict[str, float]]:
    """Challenge macro F-measure (spec section 4.6).

    Parameters
    ----------
    ref_labels : sequence of sequences of str
        Reference labels per record; records without a non-empty label are excluded.
    pred_labels : sequence of sequences of str or None
        Predicted labels per record in the same order; ``None``/empty = nothing predicted.

    Returns
    -------
    macro_f : float
        Mean of the per-class F-measures (NaN entries ignored); NaN when no
        scored record has any predicted label, or when no record is labeled.
    classes : list of str
        Sorted union of the scored reference labels.
    per_class_f : dict of str to float
        F-measure per class, in ``classes`` order (reported even when
        ``macro_f`` is NaN).

    Examples
    --------
    >>> f, classes, per_class = compute_f_measure([["NORM"], ["STTC", "CD"], ["NORM"]],
    ...                                           [["NORM"], ["STTC"], ["FOO"]])
    >>> round(f, 3), classes, {c: round(v, 3) for c, v in per_class.items()}
    (0.556, ['CD', 'NORM', 'STTC'], {'CD': 0.0, 'NORM': 0.667, 'STTC': 1.0})
    >>> compute_f_measure([["NORM"], []], [[], ["NORM"]])[0]
    nan
    """
    rows = class_table(ref_labels, pred_labels)
    classes = [r.label for r in rows]
    per_class = {r.label: r.f_measure for r in rows}
    values = np.array([r.f_measure for r in rows], dtype=np.float64)
    _, preds = _scored(ref_labels, pred_labels)
    if not any(preds) or not np.isfinite(values).any():
        return float("nan"), classes, per_class
    return float(np.nanmean(values)), classes, per_class
