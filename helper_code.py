#!/usr/bin/env python
"""Challenge I/O helpers with the official 2024 names and meanings (our own code).

The Challenge replaces this file by its own ``helper_code.py``; ``team_code.py`` and the
``ecgpaper`` package therefore import nothing from here that the official file lacks or
means differently. The functions mirror the official semantics (challenge spec §2.3):
``find_records`` walks a folder recursively; ``load_signals`` returns ``(None, None)`` unless
the header lists signal files and all of them exist; ``load_images`` skips missing files and
raises when the header has no ``# Image:`` line; ``load_labels`` raises when the header has
no ``# Labels:`` line; ``save_signals`` writes the physical signal with the header's rate,
formats, gains, baselines, units and names; ``save_labels`` appends a ``# Labels:`` line.
Header parsing tolerates the blank fields of hidden headers. The scoring functions are those
of ``ecgpaper.scoring`` (2024-08-20 semantics).
"""

import os

import numpy as np

from ecgcore.wfdbio import find_records  # noqa: F401  (official name and meaning)

substring_labels = "# Labels:"
substring_images = "# Image:"


# --- Files -------------------------------------------------------------------------------

def get_header_file(record):
    """``record.hea`` (unchanged if it already ends with ``.hea``)."""
    return record if record.endswith(".hea") else record + ".hea"


def load_text(filename):
    with open(filename, "r") as f:
        return f.read()


def save_text(filename, string):
    with open(filename, "w") as f:
        f.write(string)


def load_header(record):
    """The header text of a record."""
    return load_text(get_header_file(record))


def save_header(record, header):
    save_text(get_header_file(record), header)


def get_signal_files(record):
    return get_signal_files_from_header(load_header(record))


def get_image_files(record):
    return get_image_files_from_header(load_header(record))


def load_signals(record):
    """``(signal, fields)`` from ``wfdb.rdsamp`` if every signal file exists, else ``(None, None)``."""
    import wfdb

    files = get_signal_files(record)
    path = os.path.dirname(record)
    if files and all(os.path.isfile(os.path.join(path, f)) for f in files):
        return wfdb.rdsamp(record)
    return None, None


def load_images(record):
    """PIL images of the ``# Image:`` files that exist."""
    from PIL import Image

    path = os.path.dirname(record)
    images = []
    for name in get_image_files(record):
        file = os.path.join(path, name)
        if os.path.isfile(file):
            images.append(Image.open(file))
    return images


def load_labels(record):
    """Labels of the ``# Labels:`` lines (``['']`` for an empty line); raises without one."""
    return get_labels_from_header(load_header(record))


def save_signals(record, signal, comments=()):
    """Write the physical signal with the fields of the header already saved at ``record``."""
    import wfdb

    header = load_header(record)
    path, name = os.path.split(record)
    comments = [c.replace("#", "").strip() for c in comments]
    wfdb.wrsamp(name, fs=get_sampling_frequency(header), units=get_signal_units(header),
                sig_name=get_signal_names(header), p_signal=signal,
                fmt=get_signal_formats(header), adc_gain=get_adc_gains(header),
                baseline=get_baselines(header), comments=comments, write_dir=path)


def save_labels(record, labels):
    """Append ``# Labels: a, b`` to the record's header; returns the new header text."""
    header = load_header(record) + substring_labels + " " + ", ".join(labels) + "\n"
    save_header(record, header)
    return header


# --- Header fields -----------------------------------------------------------------------

def get_variable(string, variable_name):
    """``(value, found)`` of the last line starting with ``variable_name``."""
    value, found = "", False
    for line in string.split("\n"):
        if line.startswith(variable_name):
            value, found = line[len(variable_name):].strip(), True
    return value, found


def get_variables(string, variable_name, sep=","):
    """``(values, found)`` of every line starting with ``variable_name``, split on ``sep``."""
    values, found = [], False
    for line in string.split("\n"):
        if line.startswith(variable_name):
            values += [v.strip() for v in line[len(variable_name):].strip().split(sep)]
            found = True
    return values, found


def get_labels_from_header(string):
    labels, found = get_variables(string, substring_labels)
    if not found:
        raise ValueError("No labels available: the header has no '# Labels:' line "
                         "(held-out data, or data prepared without labels).")
    return labels


def get_image_files_from_header(string):
    images, found = get_variables(string, substring_images)
    if not found:
        raise ValueError("No images available: the header has no '# Image:' line.")
    return images


def _record_fields(string):
    lines = [ln for ln in string.split("\n") if ln.strip() and not ln.startswith("#")]
    return lines[0].split() if lines else []


def _signal_lines(string):
    """The signal lines split on single spaces (blank fields of hidden headers kept)."""
    n = get_num_signals(string) or 0
    lines = [ln for ln in string.split("\n") if ln.strip() and not ln.startswith("#")]
    return [ln.rstrip("\r").split(" ") for ln in lines[1:1 + n]]


def get_signal_files_from_header(string):
    files = []
    for fields in _signal_lines(string):
        if fields[0] not in files:
            files.append(fields[0])
    return files


def get_record_name(string):
    fields = _record_fields(string)
    return fields[0].split("/")[0] if fields else None


def _number(fields, i, cast):
    try:
        value = float(fields[i].split("/")[0])
    except (IndexError, ValueError):
        return None
    if cast is int:
        return int(value) if value.is_integer() else None
    return value


def get_num_signals(string):
    return _number(_record_fields(string), 1, int)


def get_sampling_frequency(string):
    return _number(_record_fields(string), 2, float)


def get_num_samples(string):
    return _number(_record_fields(string), 3, int)


def get_signal_formats(string):
    out = []
    for fields in _signal_lines(string):
        fmt = fields[1]
        for sep in ("x", ":", "+"):
            fmt = fmt.split(sep)[0]
        out.append(fmt)
    return out


def get_adc_gains(string):
    return [float(f[2].split("/")[0].split("(")[0]) for f in _signal_lines(string)]


def get_baselines(string):
    out = []
    for i, fields in enumerate(_signal_lines(string)):
        gain = fields[2].split("/")[0]
        out.append(int(gain.split("(")[1].split(")")[0]) if "(" in gain
                   else get_adc_zeros(string)[i])
    return out


def get_signal_units(string):
    return [f[2].split("/")[1] if "/" in f[2] else "mV" for f in _signal_lines(string)]


def _int_field(string, i):
    return [int(f[i]) for f in _signal_lines(string)]


def get_adc_resolutions(string):
    return _int_field(string, 3)


def get_adc_zeros(string):
    return _int_field(string, 4)


def get_initial_values(string):
    return _int_field(string, 5)


def get_checksums(string):
    return _int_field(string, 6)


def get_block_sizes(string):
    return _int_field(string, 7)


def get_signal_names(string):
    return [f[-1].strip() for f in _signal_lines(string)]


# --- Evaluation helpers ------------------------------------------------------------------

def compute_one_hot_encoding(data, classes):
    """Boolean ``(len(data), len(classes))`` membership matrix."""
    out = np.zeros((len(data), len(classes)), dtype=bool)
    index = {c: j for j, c in enumerate(classes)}
    for i, labels in enumerate(data):
        for label in labels:
            if label in index:
                out[i, index[label]] = True
    return out


def compute_f_measure(labels, outputs):
    """``(macro_f, per_class_f, classes)`` over the classes of ``labels`` (official order)."""
    from ecgpaper.scoring.classification import compute_f_measure as _compute_f_measure

    macro, classes, per_class = _compute_f_measure(labels, outputs)
    return macro, np.array([per_class[c] for c in classes], dtype=float), classes


def compute_snr(label_signal, output_signal, **options):
    """Per-lead Challenge SNR (2024-08-20 semantics; see ``ecgpaper.scoring.metrics``)."""
    from ecgpaper.scoring.metrics import compute_snr as _compute_snr

    return _compute_snr(label_signal, output_signal, **options)


def reorder_signal(input_signal, input_channels, output_channels):
    """Columns of ``input_signal`` in ``output_channels`` order (case-insensitive names)."""
    assert len(set(input_channels)) == len(input_channels)
    assert len(set(output_channels)) == len(output_channels)
    if list(input_channels) == list(output_channels):
        return input_signal
    source = [c.strip().casefold() for c in input_channels]
    x = np.asarray(input_signal)
    out = np.zeros((x.shape[0], len(output_channels)), dtype=x.dtype)
    for i, name in enumerate(output_channels):
        if name.strip().casefold() in source:
            out[:, i] = x[:, source.index(name.strip().casefold())]
    return out


def trim_signal(input_signal, num_samples):
    """Zero-pad or truncate to ``num_samples`` rows."""
    x = np.asarray(input_signal)
    if x.shape[0] >= num_samples:
        return x[:num_samples]
    out = np.zeros((num_samples, x.shape[1]), dtype=x.dtype)
    out[:x.shape[0]] = x
    return out


# --- Small checks ------------------------------------------------------------------------

def is_number(x):
    try:
        float(x)
        return True
    except (ValueError, TypeError):
        return False


def is_integer(x):
    return is_number(x) and float(x).is_integer()


def is_finite_number(x):
    return is_number(x) and bool(np.isfinite(float(x)))


def is_nan(x):
    return is_number(x) and bool(np.isnan(float(x)))


def cast_int_float_unknown(x):
    if is_integer(x):
        return int(float(x))
    if is_finite_number(x):
        return float(x)
    if is_number(x):
        return "Unknown"
    raise NotImplementedError(f"Unable to cast {x}.")
