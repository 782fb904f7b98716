"""ECG image -> 12-lead signal in mV (the digitizer).

Stages, one module each: :mod:`.load` (normalisation) -> :mod:`.geometry` (deskew) ->
:mod:`.grid` (px/mm) -> :mod:`.layout` (rows, layout, leads, calibration pulse) ->
:mod:`.trace` (tracking and sub-pixel read-out) -> :mod:`.resample` (header rate and length);
:mod:`.pipeline` composes them, :mod:`.api` is the public surface.
"""

from .api import Digitizer, digitize_images, load_digitizer, train_digitizer

__all__ = ["Digitizer", "train_digitizer", "load_digitizer", "digitize_images"]
