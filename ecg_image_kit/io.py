"""Fast I/O for the batch path: record reading, annotation and PNG bytes.

:func:`read_record` reads the common Challenge case (every signal in one
format-16 ``.dat``) directly with numpy and falls back to
:func:`ecgpaper.wfdbio.read_signal` (wfdb) for every other format.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from ecgpaper.wfdbio import Header, read_header


def read_record(record: str | os.PathLike) -> tuple[np.ndarray, Header]:
    """Physical signal (mV, NaN for invalid samples) and header of a WFDB record.

    Parameters
    ----------
    record : path-like
        Record path without extension.

    Returns
    -------
    signal_mv : ndarray, float64, shape (n_samples, n_leads)
    header : ecgpaper.wfdbio.Header
    """
    header = read_header(record)
    files = set(header.file_names)
    if (
        len(files) == 1
        and all(f == "16" for f in header.formats)
        and header.num_signals > 0
        and all(g > 0 for g in header.gains)
    ):
        path = Path(record).parent / next(iter(files))
        if path.exists():
            n_sig = header.num_signals
            # read no more than the header declares (a .dat far longer is not loaded whole)
            count = -1 if header.num_samples is None else header.num_samples * n_sig
            raw = np.fromfile(path, dtype="<i2", count=count)
            n = raw.size // n_sig
            if header.num_samples is not None:
                n = min(n, header.num_samples)
            digital = raw[: n * n_sig].reshape(n, n_sig)
            sig = (digital - np.asarray(header.baselines)) / np.asarray(header.gains)
            sig[digital == -32768] = np.nan
            return sig, header
    from ecgpaper.wfdbio import read_signal

    return read_signal(record)


def dumps_annotation(annotation: dict[str, Any]) -> bytes:
    """Compact JSON bytes of an annotation (orjson when installed, else json).

    Examples
    --------
    >>> json.loads(dumps_annotation({"a": [1.5, None]}))
    {'a': [1.5, None]}
    """
    try:
        import orjson
    except ImportError:
        return json.dumps(annotation, separators=(",", ":"), allow_nan=False).encode("utf-8")
    return orjson.dumps(annotation)
