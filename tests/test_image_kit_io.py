"""Fast paths of the generator's batch I/O (issue 20) give exactly what the slow ones give.

* ``wfdbio.read_signal`` parses headers itself and reads format-16 records with numpy:
  the same header fields and the same array as ``wfdb`` on the records the project writes.
* ``io.dumps_annotation`` writes the bytes of ``json.dumps``.
* The same seed gives the same pixels and the same JSON bytes.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import wfdb

from ecg_image_kit import render
from ecg_image_kit.io import dumps_annotation, encode_image
from ecgcore.constants import LEADS_12
from ecgcore.wfdbio import read_header, read_signal, write_record


def _signal(rng: np.random.Generator, n: int, leads: int) -> np.ndarray:
    t = np.arange(n) / 500.0
    beat = np.exp(-(((t % 0.8) - 0.3) / 0.02) ** 2)
    clean = np.stack([beat * (0.4 + 0.1 * k) for k in range(leads)], 1)
    return clean + 0.05 * rng.standard_normal((n, leads))


def _project_records(folder) -> list[str]:
    """Records as the project writes them: Challenge defaults, odd gains/baselines/rates, NaN."""
    rng = np.random.default_rng(3)
    sig = _signal(rng, 5000, 12)
    write_record(folder / "plain", sig, 500, [x.upper() for x in LEADS_12], ["Age: 61", "Labels: NORM"])
    odd = _signal(rng, 777, 3)
    odd[10:40, 1] = np.nan
    odd[0, 2] = np.nan
    write_record(folder / "odd", odd, 257.5, ["II", "V1", "vx"], ["Labels: AF, PVC"],
                 gains=[200.0, 1000.5, -50.0], baselines=[0, 12, -7], units=["mV", "uV", "mV"])
    write_record(folder / "one", sig[:1, :1], 1000, ["I"])
    return ["plain", "odd", "one"]


def test_read_signal_matches_wfdb_on_project_records(tmp_path):
    for name in _project_records(tmp_path):
        path = str(tmp_path / name)
        sig, head = read_signal(path)
        rec = wfdb.rdrecord(path, physical=True)
        assert sig.dtype == np.float64 and sig.shape == rec.p_signal.shape
        np.testing.assert_array_equal(sig, rec.p_signal)  # NaN where wfdb has NaN
        ref = wfdb.rdheader(path)
        assert (head.record_name, head.num_signals, head.fs_hz, head.num_samples) == \
            (ref.record_name, ref.n_sig, ref.fs, ref.sig_len)
        assert head.lead_names == ref.sig_name and head.units == ref.units
        assert head.formats == ref.fmt and head.file_names == ref.file_name
        assert head.gains == ref.adc_gain and head.baselines == ref.baseline
        assert head.comments == ref.comments


def test_read_signal_other_formats_and_short_files(tmp_path):
    rng = np.random.default_rng(0)
    sig = np.round(_signal(rng, 1000, 2), 3)
    wfdb.wrsamp("r212", fs=500, units=["mV", "mV"], sig_name=["I", "II"], p_signal=sig, fmt=["212", "212"],
                adc_gain=[200.0, 200.0], baseline=[0, 0], write_dir=str(tmp_path))
    got, head = read_signal(tmp_path / "r212")  # not format 16: read by wfdb
    assert head.formats == ["212", "212"]
    np.testing.assert_array_equal(got, wfdb.rdrecord(str(tmp_path / "r212")).p_signal)
    write_record(tmp_path / "short", sig, 500, ["I", "II"])
    data = (tmp_path / "short.dat").read_bytes()
    (tmp_path / "short.dat").write_bytes(data[:-6])
    with pytest.raises(ValueError, match="short.dat holds 1997 samples, not 1000 per signal"):
        read_signal(tmp_path / "short")
    with pytest.raises(ValueError):
        wfdb.rdrecord(str(tmp_path / "short"))  # wfdb refuses it too
    (tmp_path / "short.dat").write_bytes(data + data)  # longer than declared: the declared part
    longer = wfdb.rdrecord(str(tmp_path / "short")).p_signal
    np.testing.assert_array_equal(read_signal(tmp_path / "short")[0], longer)
    (tmp_path / "short.dat").unlink()
    with pytest.raises(OSError):
        read_signal(tmp_path / "short")
    assert read_header(tmp_path / "short").num_samples == 1000


def _json(annotation) -> bytes:
    return json.dumps(annotation, separators=(",", ":"), allow_nan=False).encode("utf-8")


def test_dumps_annotation_writes_the_bytes_of_json_dumps(tmp_path):
    rng = np.random.default_rng(1)
    sig = _signal(rng, 5000, 12)
    sig[100:400, 1] = np.nan  # lead II: null coordinates in the rhythm strip
    sig[2000, 5] = np.nan
    for config in ("clean", "moderate", "heavy"):
        ann = render(sig, 500, LEADS_12, {"preset": config, "dpi": 100}, seed=4).annotation
        assert any(v is None for lead in ann["leads"] for v in lead["y_px"])
        assert dumps_annotation(ann) == _json(ann)
    values = np.round(rng.standard_normal(3000) * 10.0 ** rng.integers(-3, 6, 3000), 2).tolist()
    values[:6] = [-0.0, 0.0, 1.0, -12.5, 999999.99, None]
    ann = {"a": "é", "leads": [{"name": "II", "x_px": values, "y_px": []}, {"x_px": [None]}], "z": None}
    assert dumps_annotation(ann) == _json(ann)
    for odd in ([1, 2.5], [True, 1.0], [1.234], [1e7], [0.001], [float("inf")]):  # left to json
        ann = {"leads": [{"x_px": odd}]}
        if np.isfinite(odd).all():
            assert dumps_annotation(ann) == _json(ann)
        else:
            with pytest.raises(ValueError):
                dumps_annotation(ann)
    with pytest.raises(ValueError):
        dumps_annotation({"leads": [{"x_px": [1.0, float("nan")]}]})


def test_same_seed_same_pixels_and_json():
    sig = _signal(np.random.default_rng(2), 5000, 12)
    for config in ("clean", "moderate", "heavy"):
        a = render(sig, 500, LEADS_12, {"preset": config, "dpi": 100}, seed=11, with_masks=True)
        b = render(sig, 500, LEADS_12, {"preset": config, "dpi": 100}, seed=11, with_masks=True)
        assert np.array_equal(a.image, b.image) and np.array_equal(a.trace_mask, b.trace_mask)
        assert np.array_equal(a.centerline_mask, b.centerline_mask)
        assert dumps_annotation(a.annotation) == dumps_annotation(b.annotation)
        png_a, png_b = (bytes(encode_image(x.image[..., ::-1].copy())) for x in (a, b))
        assert png_a == png_b
        c = render(sig, 500, LEADS_12, {"preset": config, "dpi": 100}, seed=12)
        assert not np.array_equal(a.image, c.image)


def test_encode_image_formats():
    img = np.zeros((40, 60, 3), np.uint8)
    img[10:20, 5:50] = (20, 200, 90)
    import cv2

    assert np.array_equal(cv2.imdecode(encode_image(img, "png", 3), cv2.IMREAD_UNCHANGED), img)
    assert bytes(encode_image(img, "jpg", quality=70)[:2]) == b"\xff\xd8"
    assert bytes(encode_image(img, "webp", quality=80)[8:12]) == b"WEBP"
    with pytest.raises(ValueError, match="valid: png, jpg, webp"):
        encode_image(img, "gif")
