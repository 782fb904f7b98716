"""Tolerant WFDB header parsing and Challenge-format record writing.

Hidden Challenge headers keep only part of each line (no initial values, no
checksums, no demographics), and real headers carry odd fields; the parser
here reads what is there and names the record and the field when something
needed is missing or impossible. Counts and rates read from a header are
bounded (:data:`MAX_SAMPLES`, :data:`MAX_SIGNALS`, :data:`MAX_FS_HZ`), so a
tampered header cannot make a reader allocate gigabytes. Signals inside the
project are float arrays ``(n_samples, n_leads)`` in mV; conversion to
digital units happens only in :func:`write_record`, which refuses to write
anything ``wfdb`` could not read back.
"""

from __future__ import annotations

import logging
import math
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from ecgcore.constants import DEFAULT_ADC_GAIN, DEFAULT_FMT, DIGITAL_MAX, DIGITAL_MIN


log = logging.getLogger(__name__)

#: Most samples per signal a header may declare: 10 s at :data:`MAX_FS_HZ`, 5.6 h at
#: 500 Hz (a Challenge record has 5000). 80 MB per signal as float64.
MAX_SAMPLES: int = 10**7
#: Most signals a header may declare (a Challenge record has 12).
MAX_SIGNALS: int = 64
#: Highest sampling frequency a header may declare, Hz.
MAX_FS_HZ: float = 1e6


class HeaderError(ValueError):
    """A header lacks a field that is needed or holds an impossible value.

    The message names the record and the field.
    """


@dataclass
class Header:
    """The parts of a WFDB header the project uses.

    Attributes
    ----------
    record_name : str
        Name on the record line.
    num_signals : int
    fs_hz : float
        Sampling frequency.
    num_samples : int or None
        Samples per signal; ``None`` when the header omits it.
    file_names, formats, units, lead_names : list of str
        One entry per signal line.
    gains, baselines : list of float
        ADC gain (units per mV) and baseline; WFDB defaults (200, 0) when absent.
    comments : list of str
        Comment lines without the leading ``#`` and surrounding whitespace.
    """

    record_name: str
    num_signals: int
    fs_hz: float
    num_samples: int | None
    file_names: list[str] = field(default_factory=list)
    formats: list[str] = field(default_factory=list)
    gains: list[float] = field(default_factory=list)
    baselines: list[float] = field(default_factory=list)
    units: list[str] = field(default_factory=list)
    lead_names: list[str] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)

    def comment_value(self, key: str) -> str | None:
        """Value of the first ``# key: value`` comment, or ``None`` (case-insensitive key)."""
        key_l = key.lower()
        for line in self.comments:
            name, sep, value = line.partition(":")
            if sep and name.strip().lower() == key_l:
                return value.strip()
        return None

    @property
    def labels(self) -> list[str] | None:
        """Labels of all ``# Labels:`` lines; ``None`` if there is none, ``[]`` if empty."""
        found = False
        labels: list[str] = []
        for line in self.comments:
            name, sep, value = line.partition(":")
            if sep and name.strip() == "Labels":
                found = True
                labels += [x.strip() for x in value.split(",") if x.strip()]
        return labels if found else None

    @property
    def image_files(self) -> list[str]:
        """File names on ``# Image:`` lines, in order."""
        files: list[str] = []
        for line in self.comments:
            name, sep, value = line.partition(":")
            if sep and name.strip() == "Image":
                files += [x.strip() for x in value.split(",") if x.strip()]
        return files


_GAIN_RE = re.compile(r"^([-+0-9.eE]+)?(?:\(([-+0-9]+)\))?(?:/(\S+))?$")


def _parse_number(text: str, record: str, what: str) -> float:
    """A finite float from a header field, or :class:`HeaderError` naming record and field."""
    try:
        value = float(text)
    except ValueError:
        raise HeaderError(f"{record}: {what} {text!r} is not a number") from None
    if not math.isfinite(value):
        raise HeaderError(f"{record}: {what} {text!r} is not a finite number")
    return value


def _parse_count(text: str, record: str, what: str, limit: int, limit_name: str) -> int:
    """A positive integer at most ``limit`` from a header field (``"5000.0"`` is accepted)."""
    value = _parse_number(text, record, what)
    if value != int(value):
        raise HeaderError(f"{record}: {what} {text!r} is not an integer")
    if value <= 0:
        raise HeaderError(f"{record}: {what} {text!r} must be positive")
    if value > limit:
        raise HeaderError(f"{record}: {what} {text} exceeds the limit of {limit} "
                          f"(wfdbio.{limit_name})")
    return int(value)


def parse_header(text: str, record: str = "<header>") -> Header:
    """Parse WFDB header text, tolerating missing optional fields.

    Parameters
    ----------
    text : str
        Header text.
    record : str
        Record path or name, used in error messages.

    Returns
    -------
    Header

    Raises
    ------
    HeaderError
        When the record line or the signal count is missing; when the signal
        count, sampling frequency, sample count, a gain or a baseline is not a
        number; when a count is not a positive integer or exceeds
        :data:`MAX_SIGNALS` / :data:`MAX_SAMPLES`; when the sampling frequency
        is not in (0, :data:`MAX_FS_HZ`]; or when there are fewer signal lines
        than signals. The message names the record and the field.

    Examples
    --------
    >>> h = parse_header("r1 2 500 5000\\nr1.dat 16 1000.0(0)/mV 16 0   I\\n"
    ...                  "r1.dat 16 1000/mV 16 0 0 0 0 II\\n# Labels: NORM")
    >>> h.fs_hz, h.num_samples, h.lead_names, h.gains, h.labels
    (500.0, 5000, ['I', 'II'], [1000.0, 1000.0], ['NORM'])
    """
    lines = [ln.strip() for ln in text.splitlines()]
    comments = [ln.lstrip("#").strip() for ln in lines if ln.startswith("#")]
    body = [ln for ln in lines if ln and not ln.startswith("#")]
    if not body:
        raise HeaderError(f"{record}: header has no record line")
    parts = body[0].split()
    name = parts[0].split("/")[0]
    if len(parts) < 2:
        raise HeaderError(f"{record}: record line lacks the number of signals")
    num_signals = _parse_count(parts[1], record, "number of signals", MAX_SIGNALS, "MAX_SIGNALS")
    fs_hz = 250.0  # WFDB's default when the field is absent
    if len(parts) >= 3:
        fs_hz = _parse_number(parts[2].split("/")[0].split("(")[0], record, "sampling frequency")
        if not 0.0 < fs_hz <= MAX_FS_HZ:
            raise HeaderError(f"{record}: sampling frequency {parts[2]!r} must be above 0 and "
                              f"at most {MAX_FS_HZ:g} Hz (wfdbio.MAX_FS_HZ)")
    num_samples = None
    if len(parts) >= 4:
        num_samples = _parse_count(parts[3], record, "number of samples", MAX_SAMPLES,
                                   "MAX_SAMPLES")
    signal_lines = body[1:1 + num_signals]
    if len(signal_lines) < num_signals:
        raise HeaderError(
            f"{record}: header declares {num_signals} signals but has {len(signal_lines)} signal lines"
        )
    header = Header(name, num_signals, fs_hz, num_samples, comments=comments)
    for i, line in enumerate(signal_lines):
        fields = line.split()
        header.file_names.append(fields[0])
        header.formats.append(fields[1] if len(fields) > 1 else "16")
        gain, baseline, units = DEFAULT_ADC_GAIN / 5.0, 0.0, "mV"  # WFDB default gain is 200
        if len(fields) > 2:
            match = _GAIN_RE.match(fields[2])
            if match is None:
                raise HeaderError(f"{record}: signal {i + 1}: unreadable gain field {fields[2]!r}")
            if match.group(1):
                gain = _parse_number(match.group(1), record, f"signal {i + 1} gain")
                gain = gain or DEFAULT_ADC_GAIN / 5.0  # WFDB: gain 0 means the default
            if match.group(2):
                baseline = _parse_number(match.group(2), record, f"signal {i + 1} baseline")
            elif len(fields) > 4:
                try:
                    adc_zero = float(fields[4])  # no explicit baseline: it equals ADC zero
                except ValueError:
                    adc_zero = math.nan  # a shifted field of a hidden header: keep 0
                if math.isfinite(adc_zero):
                    baseline = adc_zero
            if match.group(3):
                units = match.group(3)
        header.gains.append(gain)
        header.baselines.append(baseline)
        header.units.append(units)
        # The description is the last field when the line has more than 8 fields,
        # or when the initial value / checksum / block size are blank (hidden data).
        header.lead_names.append(fields[-1] if len(fields) >= 6 else f"ch{i + 1}")
    return header


def find_records(folder: str | os.PathLike) -> list[str]:
    """All records under ``folder`` (recursive): ``.hea`` paths relative to it, without extension.

    Sorted, with ``/`` as separator, like the official ``helper_code.find_records``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> (d / "b").mkdir(); _ = (d / "b" / "r2.hea").write_text("r2 1 500"); _ = (d / "r1.hea").write_text("r1 1")
    >>> find_records(d)
    ['b/r2', 'r1']
    """
    folder = Path(folder)
    records = []
    for root, _dirs, files in os.walk(folder):
        for name in files:
            if name.endswith(".hea") and not name.startswith("."):
                rel = Path(root, name).relative_to(folder).as_posix()
                records.append(rel[: -len(".hea")])
    return sorted(records)


def _is_image_line(line: str) -> bool:
    """Whether ``line`` is an ``# Image:`` comment (any case, any spacing around ``#``)."""
    body = line.strip()
    if not body.startswith("#"):
        return False
    name, sep, _ = body.lstrip("#").partition(":")
    return bool(sep) and name.strip().lower() == "image"


def with_image_line(header_text: str, image_files: Sequence[str]) -> str:
    """Header text with its ``# Image:`` lines replaced by one listing ``image_files``.

    The one header rewriter of the project: the generator (``python -m ecg_image_kit``) and
    ``python -m ecgpaper.prepare images`` both write their headers with it.  Old image lines
    are recognised in any case and spacing (``#Image:``, ``# image:``), so that no stale
    line survives for a case-insensitive reader; blank lines are dropped (WFDB readers skip
    them); the new line goes last and reads ``# Image:`` alone when ``image_files`` is empty.

    Parameters
    ----------
    header_text : str
        Text of a ``.hea`` file.
    image_files : sequence of str
        Image file names, relative to the header's folder, in page order.

    Returns
    -------
    str
        The new header text, ending with a newline.

    Examples
    --------
    >>> text = "r 1 500 10\\nr.dat 16 1000/mV 16 0 0 0 0 I\\n#image: old.png\\n\\n# Labels: NORM\\n"
    >>> print(with_image_line(text, ["r-0.png", "r-1.png"]), end="")
    r 1 500 10
    r.dat 16 1000/mV 16 0 0 0 0 I
    # Labels: NORM
    # Image: r-0.png, r-1.png
    >>> with_image_line("r 1 500 10\\n# Image: a.png\\n", [])
    'r 1 500 10\\n# Image:\\n'
    """
    lines = [ln for ln in header_text.splitlines() if ln.strip() and not _is_image_line(ln)]
    lines.append(f"# Image: {', '.join(image_files)}".rstrip())
    return "\n".join(lines) + "\n"


def read_header(record: str | os.PathLike) -> Header:
    """Read and parse ``<record>.hea`` (``record`` given without extension)."""
    path = Path(str(record) + ".hea")
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise HeaderError(f"{record}: cannot read header: {exc}") from exc
    return parse_header(text, str(record))


def to_digital(signal_mv: np.ndarray, gains: Sequence[float], baselines: Sequence[float]) -> np.ndarray:
    """Convert a physical signal to int16 digital units, non-finite values to WFDB's invalid code.

    NaN and ``±inf`` become -32768 (read back as NaN: an infinite sample is
    not a reading). Finite values are rounded and clipped to the 16-bit range
    [-32767, 32767], so that no sample can overflow or be mistaken for the
    invalid code.

    Examples
    --------
    >>> to_digital(np.array([[0.0015, np.nan, np.inf, 40.0]]), [1000.0] * 4, [0] * 4)
    array([[     2, -32768, -32768,  32767]], dtype=int16)
    """
    x = np.asarray(signal_mv, dtype=np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        d = x * np.asarray(gains, dtype=np.float64) + np.asarray(baselines, dtype=np.float64)
    invalid = ~np.isfinite(x) | np.isnan(d)
    d = np.clip(np.round(np.nan_to_num(d, nan=0.0)), DIGITAL_MIN, DIGITAL_MAX).astype(np.int16)
    d[invalid] = -32768
    return d


def _new_file_mode() -> int:
    """Permissions of a new file under the process umask (``mkstemp`` alone gives 0600)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and an atomic rename.

    The file gets the permissions of a plainly created file (umask applied), so outputs
    written as root in a container stay readable by a scorer running as another user.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, _new_file_mode())
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


#: What ``wfdb`` accepts as a record name and as units (its header regular expressions).
_RECORD_NAME_RE = re.compile(r"[-\w]+")
_UNITS_RE = re.compile(r"[\w^\-?%/]+")


def _decimal(value: float) -> str:
    """Plain decimal text of ``value`` without loss (``wfdb`` reads no exponent in a rate)."""
    value = float(value)
    if value.is_integer():
        return str(int(value))
    return np.format_float_positional(value, trim="-")


def _gain_text(gain: float) -> str:
    """``1000.0`` for integral gains (as PTB-XL writes them), else the shortest exact text."""
    gain = float(gain)
    return f"{gain:.1f}" if gain.is_integer() else repr(gain)


def _check_fields(record_name: str, fs_hz: float, num_samples: int, lead_names: Sequence[str],
                  comments: Sequence[str], gains: Sequence[float], baselines: Sequence[float],
                  units: Sequence[str], where: str | None = None) -> None:
    """Refuse what ``wfdb`` or :func:`parse_header` could not read back.

    Raises a ValueError naming ``where`` (default: the record name) and the field.
    """
    where = where or f"record {record_name!r}"
    if not _RECORD_NAME_RE.fullmatch(record_name):
        raise ValueError(f"{where}: record name must be letters, digits, '_' or '-' for wfdb")
    n = len(lead_names)
    if not 1 <= n <= MAX_SIGNALS:
        raise ValueError(f"{where}: number of signals {n} must be 1 to {MAX_SIGNALS} "
                         "(wfdbio.MAX_SIGNALS)")
    if not 1 <= int(num_samples) <= MAX_SAMPLES:
        raise ValueError(f"{where}: number of samples {num_samples} must be 1 to {MAX_SAMPLES} "
                         "(wfdbio.MAX_SAMPLES); wfdb cannot read an empty record")
    fs_hz = float(fs_hz)
    if not (math.isfinite(fs_hz) and 0.0 < fs_hz <= MAX_FS_HZ):
        raise ValueError(f"{where}: sampling frequency {fs_hz!r} must be above 0 and at most "
                         f"{MAX_FS_HZ:g} Hz")
    for what, values in (("gains", gains), ("baselines", baselines), ("units", units)):
        if len(values) != n:
            raise ValueError(f"{where}: {len(values)} {what} for {n} signals")
    for j, lead in enumerate(lead_names):
        if not lead or any(c.isspace() for c in lead):
            raise ValueError(f"{where}: signal {j + 1} name {lead!r} is empty or has whitespace")
        gain = float(gains[j])
        if not math.isfinite(gain) or gain == 0.0:
            raise ValueError(f"{where}: signal {j + 1} ({lead}) gain {gain!r} must be finite "
                             "and non-zero")
        if not math.isfinite(float(baselines[j])):
            raise ValueError(f"{where}: signal {j + 1} ({lead}) baseline {baselines[j]!r} "
                             "is not finite")
        if not _UNITS_RE.fullmatch(str(units[j])):
            raise ValueError(f"{where}: signal {j + 1} ({lead}) units {units[j]!r} are empty "
                             "or have characters wfdb cannot read")
    for c in comments:
        if "\n" in c or "\r" in c:
            raise ValueError(f"{where}: comment {c!r} spans several lines")


def format_header(
    record_name: str,
    fs_hz: float,
    num_samples: int,
    lead_names: Sequence[str],
    comments: Sequence[str] = (),
    digital: np.ndarray | None = None,
    gains: Sequence[float] | None = None,
    baselines: Sequence[float] | None = None,
    units: Sequence[str] | None = None,
    signal_file: str | None = None,
) -> str:
    """Header text in the Challenge layout (format 16, one ``.dat`` for all leads).

    With ``digital`` given, initial values and checksums are filled in as
    ``wfdb`` computes them; without, they are left blank as in hidden headers.
    Baselines are rounded to integers (WFDB's type), the rate and the gains are
    written without loss of precision.

    Raises
    ------
    ValueError
        When the header would not read back: a record name ``wfdb`` refuses,
        no signal or sample or more than :data:`MAX_SIGNALS` /
        :data:`MAX_SAMPLES`, a sampling frequency outside (0,
        :data:`MAX_FS_HZ`], a gain that is zero or not finite, a lead name that
        is empty or has whitespace, units ``wfdb`` cannot read, or a comment
        with a line break. The message names the record and the field.
    """
    n = len(lead_names)
    gains = list(gains) if gains is not None else [DEFAULT_ADC_GAIN] * n
    baselines = list(baselines) if baselines is not None else [0.0] * n
    units = list(units) if units is not None else ["mV"] * n
    _check_fields(record_name, fs_hz, num_samples, lead_names, comments, gains, baselines, units)
    signal_file = signal_file or f"{record_name}.dat"
    lines = [f"{record_name} {n} {_decimal(fs_hz)} {int(num_samples)}"]
    for j, lead in enumerate(lead_names):
        fields = (f"{signal_file} {DEFAULT_FMT} {_gain_text(gains[j])}"
                  f"({int(round(float(baselines[j])))})/{units[j]} 16 0")
        if digital is not None:
            col = digital[:, j].astype(np.int64)
            init = int(col[0]) if len(col) else 0
            checksum = int(((col.sum() + 32768) % 65536) - 32768)
            lines.append(f"{fields} {init} {checksum} 0 {lead}")
        else:
            lines.append(f"{fields}   {lead}")
    lines += [f"# {c}" for c in comments]
    return "\n".join(lines) + "\n"


def write_record(
    record: str | os.PathLike,
    signal_mv: np.ndarray,
    fs_hz: float,
    lead_names: Sequence[str],
    comments: Sequence[str] = (),
    gains: Sequence[float] | None = None,
    baselines: Sequence[float] | None = None,
    units: Sequence[str] | None = None,
) -> None:
    """Write a Challenge-format WFDB record (``.dat`` format 16 + ``.hea``), atomically.

    Everything written reads back with ``wfdb.rdrecord`` and :func:`read_header`:
    fields that could not are refused before any file is touched.

    Parameters
    ----------
    record : path-like
        Output path without extension; the record name is its last component
        (letters, digits, ``_``, ``-``).
    signal_mv : ndarray, shape (n_samples, n_leads)
        Physical signal in mV, 1 to :data:`MAX_SAMPLES` samples. NaN is written
        as WFDB's invalid sample (read back as NaN); ``±inf`` too, with a
        warning; finite values beyond the 16-bit range are clipped to it, with
        a warning.
    fs_hz : float
        In (0, :data:`MAX_FS_HZ`].
    lead_names : sequence of str
        Non-empty, without whitespace.
    comments : sequence of str
        Comment lines without ``#`` (e.g. ``"Labels: NORM"``), one line each.
    gains, baselines, units : sequences, optional
        Per lead; default 1000 per mV, 0, ``mV``. Gains finite and non-zero;
        baselines are rounded to integers.

    Raises
    ------
    ValueError
        A shape that does not match the lead names, or a field that would not
        read back (see :func:`format_header`); the message names record and field.

    Examples
    --------
    >>> import tempfile, wfdb
    >>> d = tempfile.mkdtemp()
    >>> x = np.zeros((500, 2)); x[100, 1] = 1.5
    >>> write_record(f"{d}/r", x, 500, ["I", "II"], ["Labels: NORM"])
    >>> float(wfdb.rdrecord(f"{d}/r").p_signal[100, 1])
    1.5
    """
    record = Path(record)
    signal_mv = np.asarray(signal_mv, dtype=np.float64)
    if signal_mv.ndim != 2 or signal_mv.shape[1] != len(lead_names):
        raise ValueError(
            f"{record}: signal shape {signal_mv.shape} does not match {len(lead_names)} lead names"
        )
    n = len(lead_names)
    gains = list(gains) if gains is not None else [DEFAULT_ADC_GAIN] * n
    baselines = list(baselines) if baselines is not None else [0.0] * n
    name = record.name
    # Validate before converting, so a bad gain is named instead of producing NaN digits.
    _check_fields(name, fs_hz, signal_mv.shape[0], lead_names, comments, gains, baselines,
                  list(units) if units is not None else ["mV"] * n, where=str(record))
    baselines = [int(round(float(b))) for b in baselines]
    digital = to_digital(signal_mv, gains, baselines)
    infinite = np.isinf(signal_mv).sum(axis=0)
    if infinite.any():
        log.warning("%s: %d infinite sample(s) in lead(s) %s written as invalid (NaN)", record,
                    int(infinite.sum()), [lead_names[j] for j in np.flatnonzero(infinite)])
    with np.errstate(invalid="ignore", over="ignore"):
        d = signal_mv * np.asarray(gains, dtype=np.float64) + np.asarray(baselines, np.float64)
    clipped = (np.isfinite(signal_mv) & ((d < DIGITAL_MIN - 0.5) | (d > DIGITAL_MAX + 0.5))).sum(0)
    if clipped.any():
        log.warning("%s: %d sample(s) in lead(s) %s beyond the 16-bit range clipped to it",
                    record, int(clipped.sum()), [lead_names[j] for j in np.flatnonzero(clipped)])
    text = format_header(name, fs_hz, signal_mv.shape[0], lead_names, comments, digital,
                         gains, baselines, units)
    atomic_write_bytes(record.parent / f"{name}.dat", digital.astype("<i2").tobytes())
    atomic_write_bytes(record.parent / f"{name}.hea", text.encode("utf-8"))


def _read_format16(record: Path, header: Header) -> np.ndarray | None:
    """Digital samples ``(n, num_signals)`` int16 of a record whose signals share one
    format-16 file, or ``None`` for any other layout (left to ``wfdb``).

    Reads only the header's sample count (at most :data:`MAX_SAMPLES` per
    signal), so an oversized ``.dat`` costs no memory; a shorter one raises
    ValueError, as ``wfdb`` does.
    """
    files = set(header.file_names)
    nsig = header.num_signals
    if len(files) != 1 or nsig < 1 or any(f != "16" for f in header.formats):
        return None  # several files, byte offsets, skew, frames: wfdb
    name = next(iter(files))
    path = record.parent / name
    if header.num_samples is not None:
        raw = np.fromfile(path, dtype="<i2", count=header.num_samples * nsig)
    elif path.stat().st_size > 2 * nsig * MAX_SAMPLES:
        raise ValueError(f"{record}: {name} holds more than {MAX_SAMPLES} samples per signal "
                         "(wfdbio.MAX_SAMPLES) and the header gives no sample count")
    else:
        raw = np.fromfile(path, dtype="<i2")
    n = header.num_samples if header.num_samples is not None else raw.size // nsig
    if raw.size != n * nsig:
        raise ValueError(f"{record}: {name} holds {raw.size} samples, not {n} per signal "
                         f"for {nsig} signals")
    return raw.reshape(n, nsig)


def read_signal(record: str | os.PathLike, header: Header | None = None
                ) -> tuple[np.ndarray, Header]:
    """Read a record's physical signal (mV, NaN for invalid samples) and header.

    Parameters
    ----------
    record : path-like
        Record path without extension.
    header : Header, optional
        The record's parsed header; read with :func:`read_header` if omitted.

    Returns
    -------
    signal : ndarray, float64, shape (n_samples, num_signals)
        ``(digital - baseline) / gain``, NaN for WFDB's invalid sample -32768.
    header : Header

    Raises
    ------
    HeaderError
        A missing or bad header (see :func:`parse_header`).
    OSError, ValueError
        A missing or short signal file.

    Notes
    -----
    The header is parsed here (``wfdb.rdheader`` costs about 40 ms a record).
    Records whose signals share one format-16 file (every Challenge and
    PTB-XL record) are read with ``numpy.fromfile``, giving the same array as
    ``wfdb.rdrecord(..., physical=True).p_signal``; every other layout (other
    formats, several files, ``.mat`` records of CinC 2020/2021) goes through
    ``wfdb``.

    Examples
    --------
    >>> import tempfile
    >>> d = tempfile.mkdtemp()
    >>> x = np.zeros((500, 2)); x[100, 1] = 1.5; x[7, 0] = np.nan
    >>> write_record(f"{d}/r", x, 500, ["I", "II"])
    >>> sig, head = read_signal(f"{d}/r")
    >>> float(sig[100, 1]), bool(np.isnan(sig[7, 0])), head.lead_names
    (1.5, True, ['I', 'II'])
    """
    record = Path(record)
    if header is None:
        header = read_header(record)
    digital = _read_format16(record, header)
    if digital is not None:
        signal = (digital - np.asarray(header.baselines)) / np.asarray(header.gains)
        signal[digital == -32768] = np.nan  # WFDB's invalid sample in format 16
        return signal, header
    import wfdb

    rec = wfdb.rdrecord(str(record), physical=True)
    return np.asarray(rec.p_signal, dtype=np.float64), header
