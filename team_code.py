#!/usr/bin/env python
"""The team's code for the George B. Moody PhysioNet Challenge 2024 (final contract).

An adapter: the Challenge calls these three functions, and they call the ``ecgpaper``
package, which does the work (see README.md). The Challenge replaces ``train_model.py``,
``run_model.py`` and ``helper_code.py`` by its own copies, so nothing here depends on ours.

Model folder: ``config.json`` (entry options, training summary), ``digitizer/`` (the
digitizer's fitted parameters) and ``classifier/`` (gradient-boosted trees + JSON config).
Weights and JSON only, never pickles.
"""

import logging

from ecgpaper import runner


def _configure_logging(verbose):
    """Show the package's progress messages when the Challenge asks for verbose output."""
    if verbose and not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    logging.getLogger("ecgpaper").setLevel(logging.INFO if verbose else logging.WARNING)


def train_models(data_folder, model_folder, verbose):
    """Train the digitization and classification models and save them in ``model_folder``.

    Parameters
    ----------
    data_folder : str
        Challenge training folder, searched recursively for WFDB records (header + signal,
        ``# Labels:`` for the classifier).
    model_folder : str
        Created if needed.
    verbose : bool
    """
    _configure_logging(verbose)
    summary = runner.train(data_folder, model_folder, verbose=verbose)
    if verbose:
        print(f"Trained on {summary['records_with_signal']} records "
              f"({summary['records_labelled']} labelled) in {summary['train_s']} s.")


def load_models(model_folder, verbose):
    """Load the models once: ``(digitization_model, classification_model)``.

    The classification model is None when training found no labelled records.
    """
    _configure_logging(verbose)
    digitization_model, classification_model = runner.load(model_folder)
    if verbose:
        print(f"Loaded models from {model_folder}: digitizer "
              f"{'trained' if digitization_model.digitizer else 'defaults'}, classifier "
              f"{'yes' if classification_model is not None else 'none'}.")
    return digitization_model, classification_model


def run_models(record, digitization_model, classification_model, verbose):
    """Digitize and classify one record from its header and images.

    Parameters
    ----------
    record : str
        Record path without extension (hidden data: header and images only).
    digitization_model, classification_model
        From :func:`load_models`; either may be None.
    verbose : bool

    Returns
    -------
    signal : numpy.ndarray or None
        ``(num_samples, num_signals)`` in mV in the header's channel order, finite or NaN,
        within the 16-bit range of the header's gains.
    labels : list of str or None
        Challenge class names.
    """
    return runner.run_record(record, digitization_model, classification_model, verbose)
