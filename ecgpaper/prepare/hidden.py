"""Make a hidden test folder as the Challenge shows it to ``run_models`` (specification §2.2).

As the organizers' ``remove_hidden_data.py`` (without ``-w``/``-l``, with
``-m``): headers keep the record line's first four fields
(``name nsig fs nsamples``), each signal line's first five fields (file name,
format, ``gain(baseline)/units``, ADC resolution, ADC zero), three blank
fields (initial value, checksum, block size) and the lead name, and the
``# Image:`` line; time/date, demographics and labels are dropped. Signal
files are not copied; image files are.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from ecgcore.wfdbio import HeaderError, atomic_write_bytes, parse_header
from ecgpaper.prepare._common import (
    PrepareSummary,
    check_distinct_folders,
    copy_file_atomic,
    find_records,
    header_lines,
    progress,
)

logger = logging.getLogger("ecgpaper.prepare")


def _gain_text(gain: float) -> str:
    return f"{gain:.1f}" if float(gain).is_integer() else f"{gain:g}"


def hidden_header_text(header_text: str, record: str = "<record>") -> str:
    """The hidden version of a header.

    Parameters
    ----------
    header_text : str
        A Challenge training header.
    record : str
        Record path, for error messages.

    Returns
    -------
    str

    Raises
    ------
    HeaderError
        When the header cannot be parsed.

    Examples
    --------
    >>> text = ("r 2 500 5000 09:17:34 09/11/1984\\n"
    ...         "r.dat 16 1000.0(0)/mV 16 0 -115 13047 0 I\\n"
    ...         "r.dat 16 1000.0(0)/mV 16 0 -50 11561 0 II\\n"
    ...         "# Age: 56\\n# Sex: Female\\n# Labels: NORM\\n# Image: r-0.png")
    >>> print(hidden_header_text(text), end="")
    r 2 500 5000
    r.dat 16 1000.0(0)/mV 16 0    I
    r.dat 16 1000.0(0)/mV 16 0    II
    # Image: r-0.png
    """
    header = parse_header(header_text, record)
    body, _comments = header_lines(header_text)
    record_fields = body[0].split()[:4]
    if record_fields[0].lower().endswith(".mat"):  # Georgia headers' quirk
        record_fields[0] = record_fields[0][:-4]
    lines = [" ".join(record_fields)]
    for i, line in enumerate(body[1:1 + header.num_signals]):
        fields = line.split()
        if len(fields) < 5:
            fields = [
                header.file_names[i],
                header.formats[i],
                f"{_gain_text(header.gains[i])}({int(header.baselines[i])})/{header.units[i]}",
                "16",
                "0",
            ]
        lines.append(" ".join(fields[:5] + ["", "", "", header.lead_names[i]]))
    has_image_line = any(
        c.partition(":")[0].strip() == "Image" and c.partition(":")[1] for c in header.comments
    )
    if has_image_line:
        lines.append(f"# Image: {', '.join(header.image_files)}".rstrip())
    return "\n".join(lines) + "\n"


def make_hidden(in_dir: str | os.PathLike, out_dir: str | os.PathLike, quiet: bool = False) -> int:
    """Copy every record of ``in_dir`` to ``out_dir`` as hidden test data.

    Headers are rewritten by :func:`hidden_header_text`; the image files named
    on the ``# Image:`` line are copied; signal files are not. Sub-folders are
    mirrored; records are processed in sorted order; a failing record is
    logged, counted and skipped.

    Parameters
    ----------
    in_dir, out_dir : path-like
        Input folder and (different) output folder.
    quiet : bool
        No progress bar and no printed summary.

    Returns
    -------
    int
        Number of records written.
    """
    in_dir, out_dir = Path(in_dir), Path(out_dir)
    check_distinct_folders(in_dir, out_dir)
    summary = PrepareSummary("hidden")
    no_images = missing_images = 0
    for record in progress(find_records(in_dir), "Hidden", quiet):
        src, dst = in_dir / record, out_dir / record
        try:
            text = Path(f"{src}.hea").read_text(encoding="utf-8", errors="replace")
            hidden = hidden_header_text(text, record)
            image_files = parse_header(hidden, record).image_files
            for name in image_files:
                if (src.parent / name).is_file():
                    copy_file_atomic(src.parent / name, dst.parent / name)
                else:
                    missing_images += 1
                    logger.warning("%s: image file %r named in the header does not exist", record, name)
            atomic_write_bytes(f"{dst}.hea", hidden.encode("utf-8"))
        except (OSError, HeaderError, ValueError) as exc:
            summary.fail(record, exc)
            continue
        summary.written += 1
        no_images += not image_files
    if no_images:
        summary.notes.append(f"  {no_images} record(s) without images (no or empty '# Image:' line)")
    if missing_images:
        summary.notes.append(f"  {missing_images} image file(s) named in headers were missing")
    if not quiet:
        print("\n".join(summary.lines()))
    return summary.written
