"""Reading model files defensively: bounded sizes, errors that name the file and the field.

A model folder may be truncated (a killed copy), corrupt, or edited by hand.  Every model
loader reads its JSON and ``.npz`` files through these functions, so that such a folder is
refused at load time with a :class:`ModelFileError` naming the file (and the field), before
anything large is allocated, instead of a bare ``JSONDecodeError`` or ``BadZipFile`` (or a
failure on every record).
"""

from __future__ import annotations

import json
import math
import zipfile
import zlib
from pathlib import Path

import numpy as np

__all__ = ["ModelFileError", "MAX_JSON_BYTES", "MAX_NPZ_BYTES", "read_json", "read_npz",
           "check_number", "check_choice"]

#: Largest model JSON file read (bytes); the configs this package writes are a few kB.
MAX_JSON_BYTES = 4_000_000
#: Largest total (uncompressed) size of the arrays of one ``.npz`` model file (bytes).
MAX_NPZ_BYTES = 256_000_000


class ModelFileError(ValueError):
    """A model file that cannot be read or holds an invalid value (message names both)."""


def _where(path, field: str | None) -> str:
    return f"{path}: field {field!r}" if field else f"{path}"


def read_json(path: str | Path, max_bytes: int = MAX_JSON_BYTES) -> dict:
    """The JSON object in ``path``.

    Raises
    ------
    FileNotFoundError
        When the file does not exist.
    ModelFileError
        When it is larger than ``max_bytes``, not UTF-8 JSON, or not a JSON object.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "config.json"
    >>> _ = p.write_text('{"fill": "nan"')
    >>> try:
    ...     read_json(p)
    ... except ModelFileError as exc:
    ...     print(str(exc).split(": ", 1)[1])
    not valid JSON (Expecting ',' delimiter: line 1 column 15 (char 14))
    """
    path = Path(path)
    size = path.stat().st_size
    if size > max_bytes:
        raise ModelFileError(f"{path}: {size} bytes, more than the {max_bytes} a model config "
                             f"may have")
    try:
        obj = json.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ModelFileError(f"{path}: not UTF-8 text ({exc})") from None
    except json.JSONDecodeError as exc:
        raise ModelFileError(f"{path}: not valid JSON ({exc})") from None
    except RecursionError:
        raise ModelFileError(f"{path}: JSON nested too deeply") from None
    if not isinstance(obj, dict):
        raise ModelFileError(f"{path}: a JSON object was expected, found {type(obj).__name__}")
    return obj


def read_npz(path: str | Path, max_bytes: int = MAX_NPZ_BYTES) -> dict[str, np.ndarray]:
    """All arrays of an ``.npz`` file, without pickles and within a memory bound.

    Each member's ``.npy`` header is read first: an object dtype, or a shape whose data is
    larger than the member itself or than ``max_bytes`` in all, is refused before any array
    is allocated.

    Raises
    ------
    FileNotFoundError
        When the file does not exist.
    ModelFileError
        When it is not a readable ``.npz`` file (truncated, corrupt, pickled, too large).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: model weights are missing")
    out: dict[str, np.ndarray] = {}
    total = 0
    try:
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                name = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
                with zf.open(info) as fh:
                    version = np.lib.format.read_magic(fh)
                    if version == (1, 0):
                        shape, _, dtype = np.lib.format.read_array_header_1_0(fh)
                    else:
                        shape, _, dtype = np.lib.format.read_array_header_2_0(fh)
                if dtype.hasobject:
                    raise ModelFileError(f"{_where(path, name)}: object arrays are not read")
                nbytes = math.prod(shape) * dtype.itemsize
                total += nbytes
                if nbytes > info.file_size or total > max_bytes:
                    raise ModelFileError(f"{_where(path, name)}: shape {shape} claims more data "
                                         f"than the file holds or than {max_bytes} bytes")
                with zf.open(info) as fh:
                    out[name] = np.lib.format.read_array(fh, allow_pickle=False)
    except ModelFileError:
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError, ValueError, OSError,
            NotImplementedError) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise ModelFileError(f"{path}: not a readable .npz file "
                             f"({type(exc).__name__}: {exc})") from None
    return out


def check_number(path, field: str, value, lo: float | None = None, hi: float | None = None,
                 integer: bool = False) -> float | int:
    """``value`` as a finite number in ``[lo, hi]`` (an int when ``integer``), or a
    :class:`ModelFileError` naming ``path`` and ``field``.

    Examples
    --------
    >>> check_number("c.json", "channels", 16, 1, 64, integer=True)
    16
    >>> check_number("c.json", "channels", 40000, 1, 64, integer=True)
    Traceback (most recent call last):
    ...
    ecgpaper.modelfiles.ModelFileError: c.json: field 'channels' is 40000, outside [1, 64]
    """
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if ok and integer:
        ok = float(value).is_integer() if isinstance(value, float) else True
    if not ok or not math.isfinite(value):
        kind = "an integer" if integer else "a finite number"
        raise ModelFileError(f"{_where(path, field)} is {value!r}, not {kind}")
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise ModelFileError(f"{_where(path, field)} is {value!r}, outside "
                             f"[{'-inf' if lo is None else lo}, {'inf' if hi is None else hi}]")
    return int(value) if integer else value


def check_choice(path, field: str, value, valid) -> object:
    """``value`` when it is one of ``valid``, else a :class:`ModelFileError` listing them."""
    if not isinstance(value, (str, type(None), bool, int, float)) or value not in valid:
        raise ModelFileError(f"{_where(path, field)} is {value!r}; valid: {list(valid)}")
    return value
