"""Add ``# Image:`` lines to headers for the image files beside each record.

As the organizers' ``prepare_image_data.py``: an image ``<record>-<k>.png``
(``.jpg``, ``.jpeg``; any case) belongs to ``<record>`` (the part before the
last ``-``); a record's images are sorted by the numeric suffix ``k`` when all
suffixes are numbers, else by name; every header gets exactly one
``# Image:`` line (empty when the record has no image), replacing old ones.
"""

from __future__ import annotations

import logging
import math
import os
from collections import defaultdict
from pathlib import Path

from ecgcore.wfdbio import atomic_write_bytes, with_image_line
from ecgpaper.prepare._common import PrepareSummary, find_records, progress

logger = logging.getLogger("ecgpaper.prepare")

#: Image file extensions recognised (lower case).
IMAGE_EXTENSIONS: tuple[str, ...] = (".png", ".jpg", ".jpeg")


def _suffix_number(file_name: str) -> float | None:
    stem = os.path.splitext(file_name)[0]
    suffix = stem.rsplit("-", 1)[-1]
    try:
        value = float(suffix)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def sort_image_files(file_names: list[str]) -> list[str]:
    """Sort image names numerically by the suffix after the last ``-``, else by name.

    Examples
    --------
    >>> sort_image_files(["r-10.png", "r-2.png", "r-1.jpg"])
    ['r-1.jpg', 'r-2.png', 'r-10.png']
    >>> sort_image_files(["r-b.png", "r-a.png"])
    ['r-a.png', 'r-b.png']
    """
    numbers = [_suffix_number(f) for f in file_names]
    if all(n is not None for n in numbers):
        return [f for _, f in sorted(zip(numbers, file_names))]
    return sorted(file_names)


def find_image_files(folder: str | os.PathLike) -> dict[str, list[str]]:
    """Record (relative path, no extension) → its image file names, sorted."""
    folder = Path(folder)
    found: dict[str, list[str]] = defaultdict(list)
    for root, _dirs, files in os.walk(folder):
        for name in files:
            stem, ext = os.path.splitext(name)
            if ext.lower() not in IMAGE_EXTENSIONS or "-" not in stem or name.startswith("."):
                continue
            rel_dir = Path(root).relative_to(folder)
            record = (rel_dir / stem.rsplit("-", 1)[0]).as_posix()
            found[record].append(name)
    return {r: sort_image_files(f) for r, f in found.items()}


def add_image_lines(folder: str | os.PathLike, quiet: bool = False) -> int:
    """Add or rewrite the ``# Image:`` line of every header under ``folder``, in place.

    Parameters
    ----------
    folder : path-like
        Folder with records and their images (searched recursively).
    quiet : bool
        No progress bar and no printed summary.

    Returns
    -------
    int
        Number of headers that list at least one image.

    Notes
    -----
    Each header is rewritten atomically. A record without images gets an
    empty ``# Image:`` line (as the organizers' script writes it). Images
    whose record has no header are reported.
    """
    folder = Path(folder)
    records = find_records(folder)
    images = find_image_files(folder)
    summary = PrepareSummary("images")
    with_images = 0
    for record in progress(records, "Images", quiet):
        files = images.get(record, [])
        path = folder / f"{record}.hea"
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
            atomic_write_bytes(path, with_image_line(text, files).encode("utf-8"))
        except OSError as exc:
            summary.fail(record, exc)
            continue
        summary.written += 1
        with_images += bool(files)
    orphans = sorted(set(images) - set(records))
    summary.notes.append(f"  {with_images} header(s) list at least one image")
    if orphans:
        summary.notes.append(f"  {len(orphans)} image group(s) without a header (first: {orphans[0]})")
        logger.warning("images without a header: %s", orphans[:10])
    if not quiet:
        print("\n".join(summary.lines()))
    return with_images
