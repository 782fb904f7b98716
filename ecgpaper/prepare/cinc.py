"""PhysioNet/CinC Challenge 2020/2021 records → Challenge 2024 training records.

The 2020/2021 records (Perez Alday et al., "Classification of 12-lead ECGs:
the PhysioNet/Computing in Cardiology Challenge 2020", Physiol. Meas. 41,
2020; Reyna et al., CinC 2021) carry SNOMED-CT codes on a ``# Dx:`` line and
the signal in a MATLAB v4 ``.mat`` file (variable ``val``, leads × samples,
digital units). This module maps the codes that correspond to the 11
Challenge 2024 classes (table :data:`SNOMED_TO_CLASS`, documented with the
reason for every entry in ``docs/data_preparation.md``) and writes
Challenge-format records: format-16 ``.dat`` at 1000 ADC units per mV and a
header with ``# Age``, ``# Sex`` and ``# Labels``.

Classes that cannot be derived reliably from the codes: ``Acute MI`` (only
the rare code 57054005; the generic MI codes say nothing about age),
``Old MI`` (given, as the Challenge does for PTB-XL, to MI codes without an
acute-MI code), and ``NORM`` (no CinC code means "normal ECG"; it is
derived by exclusion from sinus-rhythm-only records).
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import Iterable

import numpy as np

from ecgcore.constants import DEFAULT_ADC_GAIN
from ecgcore.wfdbio import Header, HeaderError, atomic_write_bytes, format_header, parse_header, to_digital
from ecgpaper.prepare._common import (
    DEMOGRAPHIC_KEYS,
    PrepareError,
    PrepareSummary,
    cast_age,
    cast_sex,
    check_distinct_folders,
    comment_key,
    count_labels,
    find_records,
    format_counts,
    header_lines,
    new_counts,
    order_labels,
    progress,
)

logger = logging.getLogger("ecgpaper.prepare")

#: SNOMED-CT code → Challenge 2024 class (names from the CinC 2021 ``dx_mapping_*.csv``).
#: ``NORM`` is not here: see :data:`SINUS_CODES` and :func:`snomed_to_labels`.
SNOMED_TO_CLASS: dict[str, str] = {
    # Acute MI
    "57054005": "Acute MI",      # acute myocardial infarction (AMI)
    # MI of unstated age: Old MI unless an acute-MI code is present (the Challenge's PTB-XL rule)
    "164865005": "Old MI",       # myocardial infarction (MI)
    "164867002": "Old MI",       # old myocardial infarction (OldMI)
    "54329005": "Old MI",        # anterior myocardial infarction (AnMI)
    # STTC: ST-segment / T-wave changes, ischaemia, long QT (PTB-XL puts LNGQT and ISC_* in STTC)
    "164934002": "STTC",         # t wave abnormal (TAb)
    "59931005": "STTC",          # t wave inversion (TInv)
    "429622005": "STTC",         # st depression (STD)
    "164931005": "STTC",         # st elevation (STE)
    "55930002": "STTC",          # s t changes (STC)
    "428750005": "STTC",         # nonspecific st t abnormality (NSSTTA)
    "164930006": "STTC",         # st interval abnormal (STIAb)
    "704997005": "STTC",         # inferior ST segment depression (ISTD)
    "111975006": "STTC",         # prolonged qt interval (LQT)
    "164861001": "STTC",         # myocardial ischemia (MIs)
    "413444003": "STTC",         # acute myocardial ischemia (AMIs)
    "413844008": "STTC",         # chronic myocardial ischemia (CMI)
    "426434006": "STTC",         # anterior ischemia (AnMIs)
    "425419005": "STTC",         # inferior ischaemia (IIs)
    "425623009": "STTC",         # lateral ischaemia (LIs)
    # CD: bundle-branch and fascicular blocks, AV blocks, IVCD, pre-excitation (PTB-XL's CD)
    "6374002": "CD",             # bundle branch block (BBB)
    "164909002": "CD",           # left bundle branch block (LBBB)
    "733534002": "CD",           # complete left bundle branch block (CLBBB)
    "251120003": "CD",           # incomplete left bundle branch block (ILBBB)
    "59118001": "CD",            # right bundle branch block (RBBB)
    "713427006": "CD",           # complete right bundle branch block (CRBBB)
    "713426002": "CD",           # incomplete right bundle branch block (IRBBB)
    "445118002": "CD",           # left anterior fascicular block (LAnFB)
    "445211001": "CD",           # left posterior fascicular block (LPFB)
    "698252002": "CD",           # nonspecific intraventricular conduction disorder (NSIVCB)
    "82226007": "CD",            # diffuse intraventricular block (DIB)
    "270492004": "CD",           # 1st degree av block (IAVB)
    "195042002": "CD",           # 2nd degree av block (IIAVB)
    "426183003": "CD",           # mobitz type II atrioventricular block (IIAVBII)
    "54016002": "CD",            # mobitz type i wenckebach atrioventricular block (MoI)
    "233917008": "CD",           # av block (AVB)
    "27885002": "CD",            # complete heart block (CHB)
    "204384007": "CD",           # congenital incomplete atrioventricular heart block (CIAHB)
    "74390002": "CD",            # wolff parkinson white pattern (WPW)
    "195060002": "CD",           # ventricular pre excitation (VPEx)
    # HYP: ventricular hypertrophy and atrial enlargement (PTB-XL's LVH, RVH, SEHYP, LAO/LAE, RAO/RAE)
    "164873001": "HYP",          # left ventricular hypertrophy (LVH)
    "89792004": "HYP",           # right ventricular hypertrophy (RVH)
    "266249003": "HYP",          # ventricular hypertrophy (VH)
    "67741000119109": "HYP",     # left atrial enlargement (LAE)
    "253352002": "HYP",          # left atrial abnormality (LAA)
    "446813000": "HYP",          # left atrial hypertrophy (LAH)
    "253339007": "HYP",          # right atrial abnormality (RAAb)
    "446358003": "HYP",          # right atrial hypertrophy (RAH)
    "67751000119106": "HYP",     # right atrial high voltage (RAHV)
    "195126007": "HYP",          # atrial hypertrophy (AH)
    # PAC: premature atrial / supraventricular beats
    "284470004": "PAC",          # premature atrial contraction (PAC)
    "63593006": "PAC",           # supraventricular premature beats (SVPB)
    "251170000": "PAC",          # blocked premature atrial contraction (BPAC)
    "251173003": "PAC",          # atrial bigeminy (AB)
    "251168009": "PAC",          # supraventricular bigeminy (SVB)
    # PVC: premature ventricular beats
    "427172004": "PVC",          # premature ventricular contractions (PVC)
    "17338001": "PVC",           # ventricular premature beats (VPB)
    "164884008": "PVC",          # ventricular ectopics (VEB)
    "11157007": "PVC",           # ventricular bigeminy (VBig)
    "251180001": "PVC",          # ventricular trigeminy (VTrig)
    "251182009": "PVC",          # paired ventricular premature complexes (VPVC)
    # AFIB/AFL
    "164889003": "AFIB/AFL",     # atrial fibrillation (AF)
    "164890007": "AFIB/AFL",     # atrial flutter (AFL)
    "195080001": "AFIB/AFL",     # atrial fibrillation and flutter (AFAFL)
    "426749004": "AFIB/AFL",     # chronic atrial fibrillation (CAF)
    "282825002": "AFIB/AFL",     # paroxysmal atrial fibrillation (PAF)
    "314208002": "AFIB/AFL",     # rapid atrial fibrillation (RAF)
    # TACHY: sinus and supraventricular tachycardias (PTB-XL's STACH, SVTAC, PSVT)
    "427084000": "TACHY",        # sinus tachycardia (STach)
    "426761007": "TACHY",        # supraventricular tachycardia (SVT)
    "67198005": "TACHY",         # paroxysmal supraventricular tachycardia (PSVT)
    "713422000": "TACHY",        # atrial tachycardia (ATach)
    "251166008": "TACHY",        # atrioventricular node reentrant tachycardia (AVNRT)
    "233897008": "TACHY",        # atrioventricular reentrant tachycardia (AVRT)
    "426648003": "TACHY",        # junctional tachycardia (JTach)
    # BRADY
    "426177001": "BRADY",        # sinus bradycardia (SB)
    "426627000": "BRADY",        # bradycardia (Brady)
}

#: Codes of a sinus rhythm without other findings; a record whose codes are all
#: in this set (and not empty) is labelled ``NORM`` (besides TACHY/BRADY from the table).
SINUS_CODES: frozenset[str] = frozenset({
    "426783006",  # sinus rhythm (NSR)
    "426177001",  # sinus bradycardia (SB)
    "427084000",  # sinus tachycardia (STach)
    "427393009",  # sinus arrhythmia (SA)
})

_DATE_RE = re.compile(r"^(\d{1,2})[-/ ]([A-Za-z]{3}|\d{1,2})[-/ ](\d{4})$")
_MONTHS = {m: i + 1 for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"))}


def split_codes(text: str | None) -> list[str]:
    """SNOMED codes of a ``# Dx:`` value: split on commas/semicolons/spaces, ``.0`` dropped.

    Examples
    --------
    >>> split_codes(" 164889003,59118001 ; 426783006.0")
    ['164889003', '59118001', '426783006']
    """
    if not text:
        return []
    codes = []
    for token in re.split(r"[,;\s]+", text.strip()):
        token = token.strip()
        if token.endswith(".0"):
            token = token[:-2]
        if token:
            codes.append(token)
    return codes


def snomed_to_labels(codes: Iterable[str | int]) -> list[str]:
    """The Challenge 2024 labels for a record's SNOMED-CT codes.

    Rules: each code of :data:`SNOMED_TO_CLASS` gives its class, except that
    ``Old MI`` is dropped when ``Acute MI`` is present (as in the Challenge's
    PTB-XL rule); ``NORM`` when every code is a sinus rhythm code
    (:data:`SINUS_CODES`). Unknown codes are ignored (but prevent ``NORM``).

    Parameters
    ----------
    codes : iterable of str or int

    Returns
    -------
    list of str
        In the order of :data:`ecgcore.constants.CLASSES`; possibly empty.

    Examples
    --------
    >>> snomed_to_labels(["426783006"])
    ['NORM']
    >>> snomed_to_labels([426783006, 59118001])
    ['CD']
    >>> snomed_to_labels(["426177001"])
    ['NORM', 'BRADY']
    >>> snomed_to_labels(["164865005", "57054005", "164889003"])
    ['Acute MI', 'AFIB/AFL']
    """
    code_set = {str(c).strip() for c in codes if str(c).strip()}
    labels = {SNOMED_TO_CLASS[c] for c in code_set if c in SNOMED_TO_CLASS}
    if "Acute MI" in labels:
        labels.discard("Old MI")
    if code_set and code_set <= SINUS_CODES:
        labels.add("NORM")
    return order_labels(labels)


def _time_date(parts: list[str]) -> list[str]:
    """Record-line time/date fields → ``["hh:mm:ss", "dd/mm/yyyy"]`` when readable, else ``[]``.

    CinC headers write ``dd-Mon-yyyy hh:mm:ss`` (date first); WFDB wants time then date.
    """
    time = date = None
    for token in parts:
        if re.fullmatch(r"\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?", token):
            time = token
            continue
        match = _DATE_RE.match(token)
        if match:
            day, month, year = match.groups()
            month_num = _MONTHS.get(month.lower()) if month.isalpha() else int(month)
            if month_num and 1 <= month_num <= 12 and 1 <= int(day) <= 31:
                date = f"{int(day):02d}/{month_num:02d}/{year}"
    if time is None:
        return []
    return [time] + ([date] if date else [])


def _load_signal_mv(record_path: Path, header: Header, record: str) -> np.ndarray:
    """The physical signal ``(n_samples, n_leads)`` in mV of a CinC record."""
    names = list(dict.fromkeys(header.file_names))
    if len(names) != 1:
        raise PrepareError(f"{record}: expected one signal file, header names {names}")
    path = record_path.parent / names[0]
    if not path.is_file():
        raise PrepareError(f"{record}: signal file {names[0]!r} named in the header does not exist")
    if path.suffix.lower() == ".mat":
        import scipy.io

        try:
            mat = scipy.io.loadmat(str(path))
        except (ValueError, OSError, TypeError) as exc:
            raise PrepareError(f"{record}: cannot read {path.name}: {exc}") from exc
        arrays = {k: v for k, v in mat.items() if not k.startswith("__")}
        if "val" in arrays:
            digital = np.asarray(arrays["val"], dtype=np.float64)
        elif len(arrays) == 1:
            digital = np.asarray(next(iter(arrays.values())), dtype=np.float64)
        else:
            raise PrepareError(f"{record}: {path.name} has no variable 'val' (has {sorted(arrays)})")
        if digital.ndim != 2:
            raise PrepareError(f"{record}: 'val' in {path.name} has shape {digital.shape}, not 2-D")
        if digital.shape[0] != header.num_signals and digital.shape[1] == header.num_signals:
            digital = digital.T
        if digital.shape[0] != header.num_signals:
            raise PrepareError(
                f"{record}: 'val' has shape {digital.shape}, header declares {header.num_signals} signals")
        gains = np.asarray(header.gains, dtype=np.float64)[:, None]
        baselines = np.asarray(header.baselines, dtype=np.float64)[:, None]
        return ((digital - baselines) / gains).T
    import wfdb

    try:
        rec = wfdb.rdrecord(str(record_path), physical=True)
    except Exception as exc:  # wfdb raises many types; re-raised as a record-level error
        raise PrepareError(f"{record}: wfdb cannot read the signal: {exc}") from exc
    return np.asarray(rec.p_signal, dtype=np.float64)


def cinc_record_texts(in_dir: Path, record: str) -> tuple[str, np.ndarray, list[str]]:
    """Read one CinC record: (prepared header text, digital int16 signal, labels)."""
    src = in_dir / record
    try:
        text = Path(f"{src}.hea").read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise HeaderError(f"{record}: cannot read header: {exc}") from exc
    header = parse_header(text, record)
    name = Path(record).name
    signal_mv = _load_signal_mv(src, header, record)
    if header.num_samples is not None and header.num_samples != signal_mv.shape[0]:
        logger.warning("%s: header says %d samples, signal has %d; using the signal",
                       record, header.num_samples, signal_mv.shape[0])
    n_nan = int(np.isnan(signal_mv).sum())
    if n_nan:
        logger.warning("%s: %d invalid samples written as WFDB's invalid code", record, n_nan)
    n = header.num_signals
    gains = [DEFAULT_ADC_GAIN] * n
    baselines = [0.0] * n
    clipped = int((np.abs(signal_mv[np.isfinite(signal_mv)]) * DEFAULT_ADC_GAIN > 32767).sum())
    if clipped:
        logger.warning("%s: %d samples beyond ±32.767 mV clipped", record, clipped)
    digital = to_digital(signal_mv, gains, baselines)

    body, comments = header_lines(text)
    dx_codes = split_codes(header.comment_value("Dx"))
    labels = snomed_to_labels(dx_codes)
    kept = []
    for line in comments:
        key = comment_key(line)
        if key in DEMOGRAPHIC_KEYS or key == "labels" or not key:
            continue
        k, _, v = line.lstrip("#").partition(":")
        kept.append(f"{k.strip()}: {v.strip()}")
    out_comments = [
        f"Age: {cast_age(header.comment_value('Age'))}",
        f"Sex: {cast_sex(header.comment_value('Sex'))}",
        *kept,
        f"Labels: {', '.join(labels)}",
    ]
    out = format_header(name, header.fs_hz, signal_mv.shape[0], header.lead_names, out_comments,
                        digital, gains, baselines, ["mV"] * n)
    time_date = _time_date(body[0].split()[4:])
    if time_date:
        lines = out.split("\n")
        lines[0] = " ".join([lines[0]] + time_date)
        out = "\n".join(lines)
    return out, digital, labels


def prepare_cinc(cinc_dir: str | os.PathLike, out_dir: str | os.PathLike,
                 quiet: bool = False) -> dict[str, int]:
    """Write CinC 2020/2021 records as Challenge 2024 training records.

    Every record under ``cinc_dir`` (recursive, sorted) is read (the Georgia
    headers' ``E0xxxx.mat`` record names are tolerated), its signal written as
    format-16 ``.dat`` at 1000 ADC units per mV, and its header as
    ``name nsig fs n [time date]``, signal lines, ``# Age``, ``# Sex``, the
    other original comments (``# Dx`` ...), and ``# Labels`` from
    :func:`snomed_to_labels`. The sub-folder structure is mirrored. A failing
    record is logged, counted and skipped.

    Parameters
    ----------
    cinc_dir, out_dir : path-like
        Input folder and (different) output folder.
    quiet : bool
        No progress bar and no printed summary.

    Returns
    -------
    dict of str to int
        Label counts per class (Challenge order), then ``unlabeled``,
        ``written`` and ``failed``.
    """
    cinc_dir, out_dir = Path(cinc_dir), Path(out_dir)
    check_distinct_folders(cinc_dir, out_dir)
    records = find_records(cinc_dir)
    counts = new_counts()
    summary = PrepareSummary("cinc")
    for record in progress(records, "CinC", quiet):
        try:
            text, digital, labels = cinc_record_texts(cinc_dir, record)
            dst = out_dir / record
            atomic_write_bytes(dst.parent / f"{dst.name}.dat", digital.astype("<i2").tobytes())
            atomic_write_bytes(dst.parent / f"{dst.name}.hea", text.encode("utf-8"))
        except (OSError, ValueError) as exc:  # HeaderError/PrepareError are ValueErrors
            summary.fail(record, exc)
            continue
        summary.written += 1
        count_labels(counts, labels)
    counts["written"], counts["failed"] = summary.written, len(summary.failures)
    summary.notes.append(
        "  Not derivable reliably from SNOMED codes: 'Acute MI' (code 57054005 only), "
        "'Old MI' (MI codes without an acute-MI code), 'NORM' (sinus-rhythm-only records); "
        "see docs/data_preparation.md")
    if not quiet:
        print("\n".join(summary.lines()))
        print("Label counts (records):")
        print("\n".join(format_counts(counts)))
    return counts
