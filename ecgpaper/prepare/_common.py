"""Shared pieces of the preparation tools: record discovery, progress, failure summary.

Every tool iterates records in sorted order, writes every output atomically
(:func:`ecgcore.wfdbio.atomic_write_bytes`), mirrors the input sub-folder
structure and never stops at one broken record: the failure is logged with
its traceback, counted, and summarised at the end.
"""

from __future__ import annotations

import logging
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator, Sequence, TypeVar

from ecgcore.constants import CLASSES
from ecgcore.wfdbio import atomic_write_bytes, find_records  # noqa: F401  (re-exported)

logger = logging.getLogger("ecgpaper.prepare")

T = TypeVar("T")

#: Comment keys that carry demographics or labels (dropped or rewritten by the tools).
DEMOGRAPHIC_KEYS: tuple[str, ...] = ("age", "sex", "height", "weight")


class PrepareError(ValueError):
    """A record cannot be prepared; the message names the record and the field."""


@dataclass
class PrepareSummary:
    """Outcome of one preparation run (``python -m ecgpaper.prepare``).

    Not ``ecgpaper.runner.RunSummary``, which counts a ``run_model.py`` run (records read,
    signals and labels written, seconds) and feeds the run report; this one counts records
    written by a preparation tool, with its extra note lines and logging of each failure.

    Attributes
    ----------
    tool : str
        Name shown in the summary (``"ptbxl"``, ``"cinc"``, ...).
    written : int
        Records written.
    failures : list of (str, str)
        ``(record, message)`` of every record that failed.
    notes : list of str
        Extra summary lines.
    """

    tool: str
    written: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def fail(self, record: str, exc: BaseException) -> None:
        """Log ``record``'s failure with its traceback and count it."""
        logger.error("%s: record %s failed: %s", self.tool, record, exc, exc_info=exc)
        self.failures.append((record, f"{type(exc).__name__}: {exc}"))

    def lines(self) -> list[str]:
        """Human-readable summary lines."""
        out = [f"{self.tool}: {self.written} record(s) written, {len(self.failures)} failed"]
        for record, message in self.failures[:20]:
            out.append(f"  FAILED {record}: {message}")
        if len(self.failures) > 20:
            out.append(f"  ... and {len(self.failures) - 20} more failures")
        out += self.notes
        return out


def progress(items: Sequence[T] | Iterable[T], desc: str, quiet: bool = False,
             total: int | None = None) -> Iterator[T]:
    """Iterate with a tqdm bar on stderr, disabled when ``quiet`` or stderr is not a TTY."""
    from tqdm import tqdm

    disable = quiet or not sys.stderr.isatty()
    yield from tqdm(items, desc=desc, total=total, disable=disable, unit="rec")


def order_labels(labels: Iterable[str]) -> list[str]:
    """Labels in the order of :data:`ecgcore.constants.CLASSES` (unknown ones dropped).

    Examples
    --------
    >>> order_labels({"BRADY", "NORM", "FOO"})
    ['NORM', 'BRADY']
    """
    present = set(labels)
    return [c for c in CLASSES if c in present]


def count_labels(counts: dict[str, int], labels: Sequence[str]) -> None:
    """Add one record's labels to ``counts`` (keys: classes, plus ``unlabeled``)."""
    for label in labels:
        counts[label] = counts.get(label, 0) + 1
    if not labels:
        counts["unlabeled"] = counts.get("unlabeled", 0) + 1


def new_counts() -> dict[str, int]:
    """Zero counts for every class in Challenge order, then ``unlabeled``, ``written``, ``failed``."""
    counts = {c: 0 for c in CLASSES}
    counts.update(unlabeled=0, written=0, failed=0)
    return counts


def format_counts(counts: dict[str, int]) -> list[str]:
    """Lines ``  <class>: <n>`` for the label counts."""
    width = max(len(k) for k in counts)
    return [f"  {k:<{width}} {v:>7d}" for k, v in counts.items()]


def cast_number(value: object, max_value: float | None = None) -> int | float | str:
    """An int when integral, else a float; ``"Unknown"`` when missing or not a finite number.

    ``max_value`` caps the value (ages above 89 are written as 90).

    Examples
    --------
    >>> cast_number("63.0"), cast_number(""), cast_number("nan"), cast_number(300.0, 90), cast_number("1.5")
    (63, 'Unknown', 'Unknown', 90, 1.5)
    """
    if value is None:
        return "Unknown"
    try:
        x = float(str(value).strip())
    except ValueError:
        return "Unknown"
    if not math.isfinite(x):
        return "Unknown"
    if max_value is not None and x > max_value:
        x = float(max_value)
    return int(x) if x.is_integer() else x


def cast_age(value: object) -> int | float | str:
    """Age for a ``# Age:`` line: ages above 89 become 90 (PTB-XL stores them as 300)."""
    age = cast_number(value)
    if isinstance(age, (int, float)) and age > 89:
        return 90
    return age


def cast_sex(value: object) -> str:
    """``Male``, ``Female`` or ``Unknown`` from PTB-XL's 0/1 or CinC's text.

    Examples
    --------
    >>> cast_sex("0"), cast_sex(1.0), cast_sex("F"), cast_sex("male"), cast_sex("")
    ('Male', 'Female', 'Female', 'Male', 'Unknown')
    """
    text = str(value).strip().lower() if value is not None else ""
    if text in ("0", "0.0", "m", "male"):
        return "Male"
    if text in ("1", "1.0", "f", "female"):
        return "Female"
    return "Unknown"


def copy_file_atomic(src: Path, dst: Path) -> None:
    """Copy ``src`` to ``dst`` through a temporary file and an atomic rename."""
    atomic_write_bytes(dst, src.read_bytes())


def header_lines(text: str) -> tuple[list[str], list[str]]:
    """Split header text into non-comment lines and comment lines (both stripped, non-empty)."""
    body, comments = [], []
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        (comments if line.startswith("#") else body).append(line)
    return body, comments


def comment_key(line: str) -> str:
    """Lower-case key of a ``# Key: value`` comment line (``""`` if none)."""
    name, sep, _ = line.lstrip("#").partition(":")
    return name.strip().lower() if sep else ""


def check_distinct_folders(in_dir: Path, out_dir: Path) -> None:
    """Refuse to write into the input folder (a run must never damage its input)."""
    if in_dir.resolve() == out_dir.resolve():
        raise ValueError(f"output folder {out_dir} is the input folder; choose another one")
