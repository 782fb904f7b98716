"""Multi-label classification of the 11 Challenge 2024 classes from (digitized) signals.

Public API::

    train_classifier(records, model_dir, verbose=False, seed=0, time_budget_s=None,
                     params=None, jobs=None)
    load_classifier(model_dir) -> Classifier | None
    Classifier.predict(signal_mv, fs_hz, lead_names) -> list[str]
    Classifier.predict_proba(signal_mv, fs_hz, lead_names) -> dict[str, float]

See ``docs/classifier.md`` for the design.
"""

from ecgpaper.classify.features import FEATURE_NAMES, extract_features
from ecgpaper.classify.model import Classifier, fit_classifier, load_classifier, train_classifier

__all__ = ["Classifier", "FEATURE_NAMES", "extract_features", "fit_classifier",
           "load_classifier", "train_classifier"]
