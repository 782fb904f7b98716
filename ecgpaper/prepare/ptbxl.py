"""PTB-XL → Challenge 2024 training records (headers with demographics and the 11 labels).

Follows the organizers' ``prepare_ptbxl_data.py`` (python-example-2024, commit
``792e0b3``): labels by the rules of the Challenge specification §3.2 from
``ptbxl_database.csv`` and ``scp_statements.csv`` (Wagner et al., "PTB-XL, a
large publicly available electrocardiography dataset", Sci. Data 7:154, 2020),
plus, for ``Acute MI``, the PTB-XL+ 12SL statements (Strodthoff et al.,
"PTB-XL+, a comprehensive electrocardiographic feature dataset", Sci. Data
10:279, 2023). Signal files are copied unchanged.
"""

from __future__ import annotations

import ast
import csv
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping, Sequence

from ecgcore.wfdbio import HeaderError, atomic_write_bytes, parse_header
from ecgpaper.prepare._common import (
    DEMOGRAPHIC_KEYS,
    PrepareError,
    PrepareSummary,
    cast_age,
    cast_number,
    cast_sex,
    check_distinct_folders,
    comment_key,
    copy_file_atomic,
    count_labels,
    format_counts,
    header_lines,
    new_counts,
    order_labels,
    progress,
)

logger = logging.getLogger("ecgpaper.prepare")

#: 12SL statement numbers whose acronyms mark an acute MI (organizers' list).
ACUTE_MI_STATEMENTS_12SL: tuple[int, ...] = (
    821, 822, 823, 827, 829, 902, 903, 904, 963, 964, 965, 966, 967, 968,
)

#: Printed when no 12SL files are given.
NO_12SL_MESSAGE = (
    "No PTB-XL+ 12SL files given (--statements-12sl, --snomed-12sl): 'Acute MI' cannot be "
    "derived; every record with the MI superclass is labelled 'Old MI'."
)

_RATE_COLUMNS = {500: ("filename_hr", "records500", "hr"), 100: ("filename_lr", "records100", "lr")}


def load_scp_statements(path: str | os.PathLike) -> dict[str, str]:
    """SCP code → diagnostic superclass, for codes whose ``diagnostic`` flag is 1.

    Parameters
    ----------
    path : path-like
        PTB-XL ``scp_statements.csv`` (first column: the code; columns
        ``diagnostic`` and ``diagnostic_class``).

    Returns
    -------
    dict of str to str
    """
    table: dict[str, str] = {}
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        head = next(reader, None)
        if head is None:
            raise PrepareError(f"{path}: empty file")
        try:
            i_diag, i_class = head.index("diagnostic"), head.index("diagnostic_class")
        except ValueError as exc:
            raise PrepareError(f"{path}: lacks the column 'diagnostic' or 'diagnostic_class'") from exc
        for row in reader:
            if len(row) <= max(i_diag, i_class) or not row[0].strip():
                continue
            try:
                flag = float(row[i_diag]) if row[i_diag].strip() else 0.0
            except ValueError:
                flag = 0.0
            if flag == 1.0 and row[i_class].strip():
                table[row[0].strip()] = row[i_class].strip()
    return table


def load_12sl(statements_path: str | os.PathLike, snomed_path: str | os.PathLike,
              statement_numbers: Iterable[int] = ACUTE_MI_STATEMENTS_12SL
              ) -> tuple[dict[int, str], list[str]]:
    """Read PTB-XL+ ``12sl_statements.csv`` and the acute-MI acronyms of ``12slv23ToSNOMED.csv``.

    Returns
    -------
    statements : dict of int to str
        ecg_id → the ``statements`` cell exactly as written in the CSV (the
        organizers match acronyms as substrings of this text).
    acronyms : list of str
        The ``Acronym`` of every statement number of ``statement_numbers``
        present in the mapping file.
    """
    wanted = {int(n) for n in statement_numbers}
    acronyms: list[str] = []
    with open(snomed_path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        if not reader.fieldnames or not {"StatementNumber", "Acronym"} <= set(reader.fieldnames):
            raise PrepareError(f"{snomed_path}: lacks the column 'StatementNumber' or 'Acronym'")
        for row in reader:
            try:
                number = int(float(row["StatementNumber"]))
            except (TypeError, ValueError):
                continue
            acronym = (row["Acronym"] or "").strip()
            if number in wanted and acronym and acronym not in acronyms:
                acronyms.append(acronym)
    statements: dict[int, str] = {}
    with open(statements_path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        if not reader.fieldnames or not {"ecg_id", "statements"} <= set(reader.fieldnames):
            raise PrepareError(f"{statements_path}: lacks the column 'ecg_id' or 'statements'")
        for row in reader:
            try:
                statements[int(float(row["ecg_id"]))] = row["statements"] or ""
            except (TypeError, ValueError):
                continue
    return statements, acronyms


def ptbxl_labels(
    scp_codes: Mapping[str, float],
    scp_table: Mapping[str, str],
    statements_12sl: str | None = None,
    acute_mi_acronyms: Sequence[str] = (),
) -> list[str]:
    """The Challenge labels of one PTB-XL record (specification §3.2).

    Parameters
    ----------
    scp_codes : mapping of str to float
        The record's ``scp_codes`` (SCP code → likelihood in %); every code
        counts, whatever its likelihood.
    scp_table : mapping of str to str
        Diagnostic SCP code → superclass, as from :func:`load_scp_statements`.
    statements_12sl : str, optional
        The record's PTB-XL+ 12SL ``statements`` cell, as text. ``None`` (no
        12SL data, or the record is absent from it): no ``Acute MI``.
    acute_mi_acronyms : sequence of str
        12SL acronyms of acute MI (see :func:`load_12sl`). Matched as
        substrings of ``statements_12sl``, as the organizers do.

    Returns
    -------
    list of str
        Labels in the order of :data:`ecgcore.constants.CLASSES`; possibly empty.

    Examples
    --------
    >>> table = {"NORM": "NORM", "IMI": "MI", "NDT": "STTC", "LVH": "HYP", "CLBBB": "CD"}
    >>> ptbxl_labels({"NORM": 100.0, "SBRAD": 0.0}, table)
    ['NORM', 'BRADY']
    >>> ptbxl_labels({"IMI": 50.0, "PVC": 0.0, "AFLT": 0.0}, table)
    ['Old MI', 'PVC', 'AFIB/AFL']
    >>> ptbxl_labels({"IMI": 50.0}, table, "['IMI', 'ACUTE']", ["ACUTE"])
    ['Acute MI']
    """
    superclasses = {scp_table[c] for c in scp_codes if c in scp_table}
    codes = set(scp_codes)
    text = statements_12sl or ""
    acute = bool(text) and any(a and a in text for a in acute_mi_acronyms)
    labels = []
    if "NORM" in superclasses:
        labels.append("NORM")
    if acute:
        labels.append("Acute MI")
    elif "MI" in superclasses:
        labels.append("Old MI")
    labels += [s for s in ("STTC", "CD", "HYP") if s in superclasses]
    if "PAC" in codes:
        labels.append("PAC")
    if "PVC" in codes:
        labels.append("PVC")
    if codes & {"AFIB", "AFLT"}:
        labels.append("AFIB/AFL")
    if codes & {"STACH", "SVTAC", "PSVT"}:
        labels.append("TACHY")
    if "SBRAD" in codes:
        labels.append("BRADY")
    return order_labels(labels)


@dataclass
class _Row:
    ecg_id: int
    record: str  # path relative to the PTB-XL folder, without extension
    fields: dict[str, str]


def _read_database(path: Path, rate_hz: int) -> list[_Row]:
    column, folder, suffix = _RATE_COLUMNS[rate_hz]
    rows = []
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        if not reader.fieldnames or "ecg_id" not in reader.fieldnames:
            raise PrepareError(f"{path}: lacks the column 'ecg_id'")
        for line_no, row in enumerate(reader, start=2):
            try:
                ecg_id = int(float(row["ecg_id"]))
            except (TypeError, ValueError):
                logger.warning("%s:%d: unreadable ecg_id %r, row skipped", path, line_no, row["ecg_id"])
                continue
            record = (row.get(column) or "").strip()
            if not record:
                record = f"{folder}/{ecg_id // 1000 * 1000:05d}/{ecg_id:05d}_{suffix}"
            rows.append(_Row(ecg_id, record, {k: (v or "") for k, v in row.items() if k}))
    rows.sort(key=lambda r: (r.record, r.ecg_id))
    return rows


def _record_time_date(recording_date: str) -> tuple[str, str] | None:
    """``"1984-11-09 09:17:34"`` → ``("09:17:34", "09/11/1984")``; ``None`` if unreadable."""
    parts = recording_date.strip().split()
    if len(parts) != 2:
        return None
    date, time = parts
    ymd = date.split("-")
    hms = time.split(":")
    if len(ymd) != 3 or len(hms) != 3 or not all(x.isdigit() for x in ymd + [h.split(".")[0] for h in hms]):
        return None
    yyyy, mm, dd = ymd
    return time, f"{dd}/{mm}/{yyyy}"


def ptbxl_header_text(input_header: str, row_fields: Mapping[str, str], labels: Sequence[str],
                      record: str = "<record>") -> str:
    """The prepared header: record line with time/date, the original signal lines, comments.

    Parameters
    ----------
    input_header : str
        The original PTB-XL header text.
    row_fields : mapping of str to str
        The record's row of ``ptbxl_database.csv`` (``recording_date``, ``age``,
        ``sex``, ``height``, ``weight``; any of them may be missing).
    labels : sequence of str
        Labels for the ``# Labels:`` line.
    record : str
        Record path, for error messages.

    Raises
    ------
    HeaderError
        When the header cannot be parsed (no record line, too few signal lines, ...).
    """
    header = parse_header(input_header, record)  # validates the structure
    body, comments = header_lines(input_header)
    record_fields = body[0].split()[:4]
    time_date = _record_time_date(row_fields.get("recording_date", ""))
    if time_date is None:
        logger.warning("%s: recording_date %r unreadable; time and date left out", record,
                       row_fields.get("recording_date", ""))
    elif header.num_samples is not None:
        record_fields += list(time_date)
    signal_lines = body[1:1 + header.num_signals]
    kept = [c for c in comments if comment_key(c) not in DEMOGRAPHIC_KEYS + ("labels",)]
    lines = [" ".join(record_fields)] + signal_lines + kept + [
        f"# Age: {cast_age(row_fields.get('age'))}",
        f"# Sex: {cast_sex(row_fields.get('sex'))}",
        f"# Height: {cast_number(row_fields.get('height'))}",
        f"# Weight: {cast_number(row_fields.get('weight'))}",
        f"# Labels: {', '.join(labels)}",
    ]
    return "\n".join(lines) + "\n"


def prepare_ptbxl(
    ptbxl_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    rate_hz: int = 500,
    folds: Iterable[int] | None = None,
    statements_12sl: str | os.PathLike | None = None,
    snomed_12sl: str | os.PathLike | None = None,
    quiet: bool = False,
) -> dict[str, int]:
    """Write PTB-XL records as Challenge 2024 training records.

    For every row of ``ptbxl_database.csv`` (in the optional folds) whose
    record exists under ``ptbxl_dir``, copies the signal file and writes a
    header with the record line ``name 12 fs n hh:mm:ss dd/mm/yyyy``, the
    original signal lines and ``# Age/Sex/Height/Weight/Labels`` comments, at
    the same relative path under ``out_dir`` (e.g.
    ``records500/00000/00001_hr``). A failing record is logged, counted and
    skipped; the run goes on.

    Parameters
    ----------
    ptbxl_dir : path-like
        PTB-XL root: ``ptbxl_database.csv``, ``scp_statements.csv``,
        ``records500/`` and/or ``records100/``.
    out_dir : path-like
        Output root (must differ from ``ptbxl_dir``).
    rate_hz : {500, 100}
        Which records: ``records500`` (``filename_hr``) or ``records100`` (``filename_lr``).
    folds : iterable of int, optional
        Keep only these ``strat_fold`` values (1--10); all when ``None``.
    statements_12sl, snomed_12sl : path-like, optional
        PTB-XL+ ``12sl_statements.csv`` and ``12slv23ToSNOMED.csv``. Both are
        needed for ``Acute MI``; without them ``Acute MI`` is never set and
        every MI-superclass record is ``Old MI`` (a message says so).
    quiet : bool
        No progress bar and no printed summary.

    Returns
    -------
    dict of str to int
        Label counts per class in the order of
        :data:`ecgcore.constants.CLASSES`, then ``unlabeled`` (records with an
        empty ``# Labels:`` line), ``written`` and ``failed`` (records).

    Raises
    ------
    ValueError
        For a bad ``rate_hz``, only one of the 12SL files, or missing CSVs.
    """
    if rate_hz not in _RATE_COLUMNS:
        raise ValueError(f"rate_hz must be one of {sorted(_RATE_COLUMNS)}, not {rate_hz!r}")
    if (statements_12sl is None) != (snomed_12sl is None):
        raise ValueError("give both 12SL files (12sl_statements.csv and 12slv23ToSNOMED.csv) or neither")
    ptbxl_dir, out_dir = Path(ptbxl_dir), Path(out_dir)
    check_distinct_folders(ptbxl_dir, out_dir)
    database, statements_csv = ptbxl_dir / "ptbxl_database.csv", ptbxl_dir / "scp_statements.csv"
    for path in (database, statements_csv):
        if not path.is_file():
            raise PrepareError(f"{ptbxl_dir}: missing {path.name}")
    scp_table = load_scp_statements(statements_csv)
    if statements_12sl is not None:
        sl_statements, acronyms = load_12sl(statements_12sl, snomed_12sl)
        if not acronyms:
            logger.warning("%s: none of the acute-MI statement numbers %s found; no 'Acute MI'",
                           snomed_12sl, ACUTE_MI_STATEMENTS_12SL)
    else:
        sl_statements, acronyms = {}, []
        if quiet:
            logger.warning(NO_12SL_MESSAGE)
        else:
            print(NO_12SL_MESSAGE)

    rows = _read_database(database, rate_hz)
    fold_set = None if folds is None else {int(f) for f in folds}
    if fold_set is not None:
        kept = []
        for row in rows:
            fold = cast_number(row.fields.get("strat_fold"))
            if isinstance(fold, (int, float)) and int(fold) in fold_set:
                kept.append(row)
        rows = kept
    missing = [r for r in rows if not (ptbxl_dir / f"{r.record}.hea").is_file()]
    rows = [r for r in rows if (ptbxl_dir / f"{r.record}.hea").is_file()]

    counts = new_counts()
    summary = PrepareSummary("ptbxl")
    for row in progress(rows, f"PTB-XL {rate_hz} Hz", quiet):
        try:
            labels = _prepare_one(row, ptbxl_dir, out_dir, scp_table,
                                  sl_statements.get(row.ecg_id) if acronyms else None, acronyms)
        except (OSError, ValueError, SyntaxError) as exc:  # HeaderError/PrepareError are ValueErrors
            summary.fail(row.record, exc)
            continue
        summary.written += 1
        count_labels(counts, labels)
    counts["written"], counts["failed"] = summary.written, len(summary.failures)
    if missing:
        summary.notes.append(
            f"  {len(missing)} database row(s) without a record under {ptbxl_dir} "
            f"(first: {missing[0].record}); not counted as failures"
        )
    if not acronyms:
        summary.notes.append("  'Acute MI' not derived (no 12SL data): MI superclass → 'Old MI'")
    if not quiet:
        print("\n".join(summary.lines()))
        print("Label counts (records):")
        print("\n".join(format_counts(counts)))
    return counts


def _prepare_one(row: _Row, ptbxl_dir: Path, out_dir: Path, scp_table: Mapping[str, str],
                 statements_12sl: str | None, acronyms: Sequence[str]) -> list[str]:
    src = ptbxl_dir / row.record
    text = Path(f"{src}.hea").read_text(encoding="utf-8", errors="replace")
    scp_text = row.fields.get("scp_codes", "").strip()
    if not scp_text:
        raise PrepareError(f"{row.record}: ptbxl_database.csv field 'scp_codes' is empty")
    try:
        scp_codes = ast.literal_eval(scp_text)
    except (ValueError, SyntaxError) as exc:
        raise PrepareError(f"{row.record}: ptbxl_database.csv field 'scp_codes' unreadable: {scp_text!r}") from exc
    if not isinstance(scp_codes, dict):
        raise PrepareError(f"{row.record}: ptbxl_database.csv field 'scp_codes' is not a dict")
    labels = ptbxl_labels(scp_codes, scp_table, statements_12sl, acronyms)
    header_text = ptbxl_header_text(text, row.fields, labels, row.record)
    header = parse_header(header_text, row.record)
    dst = out_dir / row.record
    for name in dict.fromkeys(header.file_names):
        signal_src = src.parent / name
        if not signal_src.is_file():
            raise HeaderError(f"{row.record}: signal file {name!r} named in the header does not exist")
        copy_file_atomic(signal_src, dst.parent / name)
    atomic_write_bytes(f"{dst}.hea", header_text.encode("utf-8"))
    return labels
