"""Bad input, tampered models and faults (issue 17, part A): clear errors that name the file
or field, nothing lost, bounded memory.  Every case is made on the fly in ``tmp_path``."""

from __future__ import annotations

import io
import json
import logging
import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
import wfdb

from ecgcore.constants import CLASSES, LEADS_12
from ecgcore.wfdbio import parse_header, read_header, write_record
from ecgpaper import runner
from ecgpaper.classify import FEATURE_NAMES, load_classifier
from ecgpaper.classify.model import Classifier, fit_classifier
from ecgpaper.digitize import cnn, load_digitizer
from ecgpaper.digitize.load import MAX_IMAGE_PIXELS, read_image
from ecgpaper.modelfiles import ModelFileError
from ecgpaper.simulate import simulate_ecg

ROOT = Path(__file__).resolve().parents[1]


# ---------------------------------------------------------------- helpers (all synthetic)

def _chunk(kind: bytes, data: bytes) -> bytes:
    return (struct.pack(">I", len(data)) + kind + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))


def _bomb_png(path: Path, width: int = 30000, height: int = 30000) -> Path:
    """A small valid-looking PNG whose header claims ``width x height`` RGB pixels; its
    IDAT is a zlib stream of zero rows (streamed, so the file stays small)."""
    comp = zlib.compressobj(9)
    row = bytes(1 + 3 * width)
    idat = b"".join(comp.compress(row) for _ in range(64)) + comp.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat)
                     + _chunk(b"IEND", b""))
    return path


def _bomb_jpeg(path: Path, width: int = 30000, height: int = 30000) -> Path:
    sof = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, height, width, 1) + b"\x01\x11\x00"
    path.write_bytes(b"\xff\xd8" + b"\xff\xe0" + struct.pack(">H", 4) + b"\x00\x00" + sof
                     + b"\xff\xd9")
    return path


@pytest.fixture(scope="module")
def page():
    """A clean rendered 3x4 page (RGB uint8) of a simulated record, and its signal."""
    from ecg_image_kit import render

    signal = simulate_ecg(["NORM"], np.random.default_rng(1))[0]
    return render(signal, 500, LEADS_12, config="clean", seed=1).image, signal


def _write_png(path: Path, rgb: np.ndarray) -> None:
    ok, buf = cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    assert ok
    path.write_bytes(buf.tobytes())


def _hidden_record(folder: Path, name: str, images: list[str], n: int = 5000) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    lines = [f"{name} 12 500 {n}"] + [f"{name}.dat 16 1000.0(0)/mV 16 0 0 0 0 {lead}"
                                       for lead in LEADS_12]
    lines.append("# Image: " + ", ".join(images))
    (folder / f"{name}.hea").write_text("\n".join(lines) + "\n")
    return folder / name


class _AlwaysNorm:
    """A classifier stub that says NORM whatever it is given."""

    def predict(self, signal, fs_hz, lead_names):
        return ["NORM"]


def _tiny_classifier(folder: Path) -> Path:
    rng = np.random.default_rng(0)
    n = 24
    X = rng.standard_normal((n, len(FEATURE_NAMES)))
    Y = np.zeros((n, len(CLASSES)), bool)
    Y[::2, CLASSES.index("NORM")] = True
    Y[1::2, CLASSES.index("CD")] = True
    fit_classifier(X, Y, np.arange(n), np.zeros(n, int),
                   params={"max_iter": 3, "cv_folds": 2}).save(folder)
    return folder


def _model_folder(root: Path) -> Path:
    """A model folder with every file kind: entry config, digitizer with a centre-line
    network, classifier."""
    model = root / "model"
    dig = model / "digitizer"
    dig.mkdir(parents=True)
    (model / "config.json").write_text(json.dumps({"fill": "nan"}))
    (dig / "config.json").write_text(json.dumps({"format_version": 1, "params": {
        "morph_h_ratio": 1.05}, "centreline": True, "meta": {}}))
    cnn.save_centreline(cnn.CentreLineModel(), dig)
    _tiny_classifier(model / "classifier")
    return model


# ---------------------------------------------------------------- 1. memory

def test_huge_png_is_refused_from_its_header_in_bounded_time_and_memory(tmp_path):
    bomb = _bomb_png(tmp_path / "bomb.png")
    assert bomb.stat().st_size < 1_000_000 and 30000 * 30000 > MAX_IMAGE_PIXELS
    script = (
        "import resource, sys, time\n"
        "from ecgpaper.digitize.load import read_image\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "t = time.perf_counter()\n"
        "try:\n"
        "    read_image(sys.argv[1]); print('DECODED')\n"
        "except ValueError as exc:\n"
        "    print('REFUSED', exc)\n"
        "grow_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024\n"
        "print(f'{time.perf_counter() - t:.3f} {grow_mb:.1f}')\n")
    run = subprocess.run([sys.executable, "-c", script, str(bomb)], cwd=tmp_path,
                         env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True,
                         text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    verdict, numbers = run.stdout.strip().splitlines()
    assert verdict.startswith("REFUSED") and "bomb.png" in verdict and "30000" in verdict
    seconds, grow_mb = map(float, numbers.split())
    assert seconds < 2.0 and grow_mb < 500.0


@pytest.mark.parametrize("make", [_bomb_png, _bomb_jpeg], ids=["png", "jpeg"])
def test_oversized_headers_are_refused_naming_the_file(tmp_path, make):
    path = make(tmp_path / f"big.{make.__name__[-3:]}")
    with pytest.raises(ValueError, match=r"big\.\w+: 30000 x 30000 px .*MAX_IMAGE_PIXELS"):
        read_image(path)


# ---------------------------------------------------------------- 2. model files

def _tamper(model: Path, case: str) -> tuple[str, str]:
    """Break one file of the model folder; returns (file name, field) the error must name."""
    dig = model / "digitizer"
    if case == "channels":
        cfg = json.loads((dig / "centreline.json").read_text())
        (dig / "centreline.json").write_text(json.dumps({**cfg, "channels": 40000}))
        return "centreline.json", "channels"
    if case == "centreline-json-truncated":
        text = (dig / "centreline.json").read_text()
        (dig / "centreline.json").write_text(text[: len(text) // 2])
        return "centreline.json", "JSON"
    if case == "centreline-npz-truncated":
        data = (dig / "centreline.npz").read_bytes()
        (dig / "centreline.npz").write_bytes(data[: len(data) // 2])
        return "centreline.npz", ".npz"
    if case == "centreline-npz-garbage":
        (dig / "centreline.npz").write_bytes(b"PK\x03\x04" + bytes(100))
        return "centreline.npz", ".npz"
    if case == "centreline-npz-shape":
        with np.load(dig / "centreline.npz") as z:
            state = {k: z[k] for k in z.files}
        key = sorted(state)[0]
        state[key] = np.zeros((3, 3), np.float32)
        buf = io.BytesIO()
        np.savez(buf, **state)
        (dig / "centreline.npz").write_bytes(buf.getvalue())
        return "centreline.npz", key
    if case.startswith("param-"):
        name, value = {"param-type": ("min_coverage", "lots"), "param-choice": ("readout", "x"),
                       "param-bool": ("fine_readout", 1), "param-negative": ("band_fraction", -1),
                       "param-int": ("morph_level_window", 2.5),
                       "param-nan": ("max_abs_mv", float("nan")),
                       "param-unknown": ("nope", 1)}[case]
        cfg = json.loads((dig / "config.json").read_text())
        cfg["params"][name] = value
        (dig / "config.json").write_text(json.dumps(cfg))
        return "digitizer/config.json", name
    if case == "digitizer-config-truncated":
        (dig / "config.json").write_text('{"params": {')
        return "digitizer/config.json", "JSON"
    if case == "fill":
        (model / "config.json").write_text(json.dumps({"fill": "zero"}))
        return "model/config.json", "fill"
    if case == "entry-config-truncated":
        (model / "config.json").write_bytes(b'{"fill": "na')
        return "model/config.json", "JSON"
    cls = model / "classifier"
    if case == "classifier-format":
        cfg = json.loads((cls / "config.json").read_text())
        (cls / "config.json").write_text(json.dumps({**cfg, "format": "ecgpaper.classify/0"}))
        return "classifier/config.json", "format"
    if case == "classifier-threshold":
        cfg = json.loads((cls / "config.json").read_text())
        cfg["thresholds"]["NORM"] = "high"
        (cls / "config.json").write_text(json.dumps(cfg))
        return "classifier/config.json", "thresholds.NORM"
    if case == "classifier-weights-path":
        cfg = json.loads((cls / "config.json").read_text())
        (cls / "config.json").write_text(json.dumps({**cfg, "weights": "../digitizer/x.npz"}))
        return "classifier/config.json", "weights"
    if case in ("tree-shape", "tree-index", "tree-missing", "trees-truncated"):
        path = cls / "trees.npz"
        if case == "trees-truncated":
            path.write_bytes(path.read_bytes()[:200])
            return "trees.npz", ".npz"
        with np.load(path) as z:
            arrays = {k: z[k] for k in z.files}
        if case == "tree-shape":
            arrays["c0_value"] = arrays["c0_value"][:-2]
            field = "c0_value"
        elif case == "tree-index":
            arrays["c1_left"] = np.full_like(arrays["c1_left"], 10**6)
            field = "c1_left"
        else:
            del arrays["c0_roots"]
            field = "c0_roots"
        buf = io.BytesIO()
        np.savez(buf, **arrays)
        path.write_bytes(buf.getvalue())
        return "trees.npz", field
    raise AssertionError(case)


@pytest.fixture(scope="module")
def good_model(tmp_path_factory):
    return _model_folder(tmp_path_factory.mktemp("good"))


def test_good_model_folder_loads(good_model):
    digitization, classifier = runner.load(good_model)
    assert digitization.fill == "nan" and digitization.digitizer.centreline is not None
    assert classifier.classes == ["NORM", "CD"]
    assert digitization.digitizer.params == {"morph_h_ratio": 1.05}


@pytest.mark.parametrize("case", [
    "channels", "centreline-json-truncated", "centreline-npz-truncated", "centreline-npz-garbage",
    "centreline-npz-shape", "param-type", "param-choice", "param-bool", "param-negative",
    "param-int", "param-nan", "param-unknown", "digitizer-config-truncated", "fill",
    "entry-config-truncated", "classifier-format", "classifier-threshold",
    "classifier-weights-path", "tree-shape", "tree-index", "tree-missing", "trees-truncated"])
def test_tampered_model_folder_is_refused_at_load_naming_file_and_field(
        tmp_path, good_model, case):
    import shutil

    model = tmp_path / "model"
    shutil.copytree(good_model, model)
    file_name, field = _tamper(model, case)
    with pytest.raises(ModelFileError) as info:
        runner.load(model)
    message = str(info.value)
    assert file_name.split("/")[-1] in message and field in message, message
    if "/" in file_name:
        assert file_name.split("/")[0] in message, message


def test_classifier_format_mismatch_is_never_silently_none(tmp_path):
    folder = _tiny_classifier(tmp_path / "classifier")
    cfg = json.loads((folder / "config.json").read_text())
    del cfg["format"]
    (folder / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ModelFileError, match=r"config\.json: field 'format'"):
        load_classifier(folder)
    assert load_classifier(tmp_path / "absent") is None and load_digitizer(tmp_path) is None


# ---------------------------------------------------------------- 3. each image a boundary

@pytest.fixture(scope="module")
def good_page_signal(page, tmp_path_factory):
    folder = tmp_path_factory.mktemp("one")
    _write_png(folder / "r-0.png", page[0])
    record = _hidden_record(folder, "r", ["r-0.png"])
    signal, _ = runner.run_record(record, runner.DigitizationModel(None), None)
    assert np.isfinite(signal).mean() > 0.2
    return signal


@pytest.mark.parametrize("bad", ["empty", "garbage", "truncated", "bomb"])
def test_a_bad_second_image_keeps_the_good_page(tmp_path, page, good_page_signal, bad, caplog):
    _write_png(tmp_path / "r-0.png", page[0])
    second = tmp_path / "r-1.png"
    if bad == "empty":
        second.write_bytes(b"")
    elif bad == "garbage":
        second.write_bytes(np.random.default_rng(0).bytes(5000))
    elif bad == "truncated":
        second.write_bytes((tmp_path / "r-0.png").read_bytes()[:3000])
    else:
        _bomb_png(second)
    record = _hidden_record(tmp_path, "r", ["r-0.png", "r-1.png"])
    with caplog.at_level(logging.WARNING, logger="ecgpaper"):
        signal, _ = runner.run_record(record, runner.DigitizationModel(None), None)
    np.testing.assert_array_equal(signal, good_page_signal)
    assert "r-1.png" in caplog.text


# ---------------------------------------------------------------- 4. classification boundary

def test_a_failing_classifier_keeps_the_digitized_signal(tmp_path, page, caplog):
    _hidden_record(tmp_path / "data", "r", ["r-0.png"])
    _write_png(tmp_path / "data" / "r-0.png", page[0])
    trees = {"feature": np.zeros(3, np.int32), "threshold": np.zeros(3),
             "left": np.array([1, 0, 0], np.int32), "right": np.array([2, 0, 0], np.int32),
             "missing_left": np.zeros(3, bool), "is_leaf": np.array([False, True, True]),
             "value": np.zeros(1), "roots": np.array([0], np.int32), "baseline": np.zeros(1)}
    broken = Classifier(classes=["NORM"], thresholds={"NORM": 0.5}, trees={"NORM": trees})

    def load_models(model_folder, verbose):
        return runner.DigitizationModel(None), broken

    with caplog.at_level(logging.ERROR, logger="ecgpaper"):
        summary = runner.run_folder(tmp_path / "data", tmp_path / "model", tmp_path / "out",
                                    load_models, runner.run_record)
    assert "classification failed" in caplog.text and "Traceback" in caplog.text
    assert summary.with_signal == 1 and not summary.failures
    rec = wfdb.rdrecord(str(tmp_path / "out" / "r"))
    assert np.isfinite(rec.p_signal).mean() > 0.2
    assert not any(c.startswith("Labels:") for c in rec.comments)


# ---------------------------------------------------------------- 5. output vs data folder

@pytest.mark.parametrize("out", ["data", "data/out", "."], ids=["same", "inside", "contains"])
def test_run_model_refuses_an_output_folder_overlapping_the_data(tmp_path, out):
    data = tmp_path / "data"
    _hidden_record(data, "r", ["r-0.png"])
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    run = subprocess.run([sys.executable, str(ROOT / "run_model.py"), "-d", "data", "-m", "model",
                          "-o", out, "-f"], cwd=tmp_path, capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=60)
    assert run.returncode == 2 and run.stdout == ""
    assert len(run.stderr.strip().splitlines()) == 1 and "data folder" in run.stderr
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before
    with pytest.raises(ValueError, match="data folder"):
        runner.run_folder(data, tmp_path / "model", tmp_path / out, None, None)


# ---------------------------------------------------------------- 6. nothing read: no labels

@pytest.mark.parametrize("kind", ["blank", "noise", "tiny"])
def test_no_labels_when_nothing_was_digitized(tmp_path, kind):
    rng = np.random.default_rng(0)
    image = {"blank": np.full((850, 1100, 3), 255, np.uint8),
             "noise": rng.integers(0, 256, (850, 1100, 3), dtype=np.uint8),
             "tiny": np.full((10, 10, 3), 128, np.uint8)}[kind]
    _write_png(tmp_path / "r-0.png", image)
    record = _hidden_record(tmp_path, "r", ["r-0.png"])
    signal, labels = runner.run_record(record, runner.DigitizationModel(None), _AlwaysNorm())
    assert np.isnan(signal).all() and labels == []


# ---------------------------------------------------------------- 7. RGBA on white

def test_transparent_paper_is_composited_on_white(tmp_path, page):
    rgb = page[0]
    ink = rgb.min(axis=2) < 100
    rgba = np.zeros(rgb.shape[:2] + (4,), np.uint8)  # transparent black paper
    rgba[ink, :3] = rgb[ink]
    rgba[ink, 3] = 255
    half = ~ink & (np.arange(rgb.shape[1])[None, :] < 40)
    rgba[half, 3] = 128  # half-transparent black over white: mid grey
    assert cv2.imwrite(str(tmp_path / "p.png"), cv2.cvtColor(rgba, cv2.COLOR_RGBA2BGRA))
    out = read_image(tmp_path / "p.png")
    assert out.shape == rgb.shape and out.dtype == np.uint8
    assert (out[~ink & ~half] == 255).all() and (out[ink] == rgb[ink]).all()
    assert np.abs(out[half].astype(int) - 127).max() <= 1
    # an opaque page reads as before
    _write_png(tmp_path / "q.png", rgb)
    np.testing.assert_array_equal(read_image(tmp_path / "q.png"), rgb)


# ---------------------------------------------------------------- 8. leftovers of a killed run

def test_a_run_cleans_up_after_a_killed_run(tmp_path):
    data, out = tmp_path / "data", tmp_path / "out"
    for name in ("s00", "s01"):
        _hidden_record(data, name, [f"{name}-0.png"])
    out.mkdir()
    (out / ".s00.hea.k2j4l1x9.tmp").write_bytes(b"half a header")
    (out / ".s00.dat.a8f7q2p0.tmp").write_bytes(b"\x00" * 10)
    (out / "s00.dat").write_bytes(b"\x01" * 7)       # the .dat was written, the .hea not yet
    (out / "s01.dat").write_bytes(b"\x01" * 7)       # a stale signal for a record that now fails
    (out / ".unrelated.tmp").write_bytes(b"not ours")

    def run_models(record, dig, cls, verbose):
        if record.endswith("s01"):
            raise RuntimeError("boom")
        h = read_header(record)
        return np.zeros((h.num_samples, h.num_signals)), ["NORM"]

    summary = runner.run_folder(data, tmp_path / "m", out, lambda m, v: (None, None), run_models,
                                allow_failures=True)
    assert list(summary.failures) == ["s01"]
    assert sorted(p.name for p in out.iterdir()) == [".unrelated.tmp", "s00.dat", "s00.hea",
                                                     "s01.hea"]
    rec = wfdb.rdrecord(str(out / "s00"))
    assert rec.p_signal.shape == (5000, 12) and np.allclose(rec.p_signal, 0.0)


# ---------------------------------------------------------------- 9. image entries confined

@pytest.mark.parametrize("entry", ["../../x.png", "ABS", "link.png", "sub/../../x.png"])
def test_image_entries_outside_the_record_folder_are_refused(tmp_path, page, entry, caplog):
    outside = tmp_path / "x.png"
    _write_png(outside, page[0][:200, :200])
    folder = tmp_path / "a" / "b"
    folder.mkdir(parents=True)
    (folder / "link.png").symlink_to(outside)
    entry = str(outside) if entry == "ABS" else entry
    record = _hidden_record(folder, "r", [entry])
    header = parse_header((folder / "r.hea").read_text(), "r")
    with caplog.at_level(logging.WARNING, logger="ecgpaper"):
        assert runner.load_images(record, header) == []
    assert repr(entry) in caplog.text and "outside" in caplog.text
    # a link that stays inside the folder is read
    _write_png(folder / "real.png", page[0][:200, :200])
    (folder / "inside.png").symlink_to(folder / "real.png")
    (folder / "sub").mkdir()
    record = _hidden_record(folder, "r2", ["inside.png", "sub/../real.png"])
    header = parse_header((folder / "r2.hea").read_text(), "r2")
    assert len(runner.load_images(record, header)) == 2


# ---------------------------------------------------------------- 10. training folders

def _no_training(monkeypatch):
    def boom(*args, **kwargs):
        raise AssertionError("training started")

    monkeypatch.setattr(runner, "train_classifier", boom)
    monkeypatch.setattr(runner, "train_digitizer", boom)


def test_training_with_a_missing_data_folder_creates_nothing(tmp_path, monkeypatch):
    _no_training(monkeypatch)
    with pytest.raises(FileNotFoundError, match="data folder .*missing"):
        runner.train(tmp_path / "missing", tmp_path / "model")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="no WFDB records"):
        runner.train(tmp_path / "empty", tmp_path / "model")
    assert not (tmp_path / "model").exists()


@pytest.mark.parametrize("how", ["under-a-file", "read-only"])
def test_training_checks_the_model_folder_is_writable_first(tmp_path, monkeypatch, how):
    _no_training(monkeypatch)
    data = tmp_path / "data"
    write_record(data / "s00", simulate_ecg(["NORM"], np.random.default_rng(0))[0], 500,
                 LEADS_12, ["Labels: NORM"])
    if how == "under-a-file":
        (tmp_path / "file").write_text("x")
        model = tmp_path / "file" / "model"
    else:
        if os.geteuid() == 0:
            pytest.skip("root can write into a read-only folder")
        model = tmp_path / "ro"
        model.mkdir()
        model.chmod(0o500)
    with pytest.raises(OSError, match="model folder .* cannot be written"):
        runner.train(data, model)


# ---------------------------------------------------------------- 11. records in parallel (--jobs)

def _stub_load_models(model_folder, verbose):
    return None, None


def _stub_run_models(record, dig, cls, verbose):
    """Fails on ``s01``; otherwise a signal of the record's shape (module level: spawn pickles it)."""
    if record.endswith("s01"):
        raise RuntimeError("boom")
    h = read_header(record)
    return np.full((h.num_samples, h.num_signals), 0.25 * len(record)), ["NORM"]


def _outputs(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _stub_folder(folder: Path, n: int = 4) -> Path:
    for i in range(n):
        _hidden_record(folder / ("sub" if i % 2 else ""), f"s{i:02d}", [f"s{i:02d}-0.png"],
                       n=500)
    return folder


@pytest.mark.parametrize("start_method", ["fork", pytest.param("spawn", marks=pytest.mark.slow)])
def test_jobs_keep_the_serial_outputs_counts_and_errors(tmp_path, caplog, start_method):
    data = _stub_folder(tmp_path / "data")
    runs = {}
    for jobs in (1, 2):
        caplog.clear()
        with caplog.at_level(logging.ERROR, logger="ecgpaper"):
            s = runner.run_folder(data, tmp_path / "m", tmp_path / f"out{jobs}", _stub_load_models,
                                  _stub_run_models, allow_failures=True, jobs=jobs,
                                  start_method=start_method)
        runs[jobs] = (s.records, s.with_signal, s.with_labels, s.failures,
                      [r.getMessage() for r in caplog.records])
    assert runs[2] == runs[1]
    assert runs[1][:4] == (4, 3, 3, {"sub/s01": "RuntimeError: boom"})
    assert len(runs[1][4]) == 1 and "sub/s01 failed" in runs[1][4][0] and "Traceback" in runs[1][4][0]
    assert _outputs(tmp_path / "out2") == _outputs(tmp_path / "out1")
    assert "sub/s01.dat" not in _outputs(tmp_path / "out1")


def test_jobs_without_allow_failures_raise_the_records_error(tmp_path):
    data = _stub_folder(tmp_path / "data")
    with pytest.raises(RuntimeError, match="boom"):
        runner.run_folder(data, tmp_path / "m", tmp_path / "out", _stub_load_models,
                          _stub_run_models, jobs=2, start_method="fork")
    with pytest.raises(ValueError, match="jobs"):
        runner.run_folder(data, tmp_path / "m", tmp_path / "out", _stub_load_models,
                          _stub_run_models, jobs=-1)


_KILLED_RUN = """
import os, sys, time
from pathlib import Path
import numpy as np
from ecgpaper import runner
from ecgcore.wfdbio import read_header

def run_models(record, dig, cls, verbose):
    (Path(sys.argv[3]) / str(os.getpid())).touch()
    time.sleep(float(sys.argv[4]))
    h = read_header(record)
    return np.full((h.num_samples, h.num_signals), 0.5), ["NORM"]

runner.run_folder(sys.argv[1], "m", sys.argv[2], lambda m, v: (None, None), run_models,
                  allow_failures=True, jobs=2, start_method="fork")
"""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="workers end with the parent on Linux")
def test_a_killed_parallel_run_leaves_no_worker_and_resumes(tmp_path):
    import signal
    import time

    data = _stub_folder(tmp_path / "data", n=10)
    script, pids, out = tmp_path / "run.py", tmp_path / "pids", tmp_path / "out"
    script.write_text(_KILLED_RUN)
    pids.mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, str(script), str(data), str(out), str(pids), "1"],
                            env=env, cwd=tmp_path)
    deadline = time.monotonic() + 60
    while len(list(out.rglob("*.hea"))) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    workers = [int(p.name) for p in pids.iterdir()]
    assert len(workers) == 2 and 2 <= len(list(out.rglob("*.hea"))) < 10
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_alive(pid) for pid in workers)
    # the rerun writes every record again, the same bytes as a run that was never killed
    for folder in (out, tmp_path / "fresh"):
        run = subprocess.run([sys.executable, str(script), str(data), str(folder), str(pids), "0"],
                             env=env, cwd=tmp_path, timeout=120)
        assert run.returncode == 0
    assert _outputs(out) == _outputs(tmp_path / "fresh") and len(_outputs(out)) == 20


@pytest.mark.slow
def test_run_model_jobs_2_writes_the_bytes_of_jobs_1(tmp_path):
    """Real pages and a model with a network, through ``run_model.py`` (fork) from another
    folder: one record without a readable image is reported, the others are written."""
    from ecg_image_kit import render

    data = tmp_path / "data"
    for i in range(3):
        signal = simulate_ecg([["NORM"], ["AFIB/AFL"], ["TACHY"]][i], np.random.default_rng(i))[0]
        _hidden_record(data, f"r{i}", [f"r{i}-0.png"])
        _write_png(data / f"r{i}-0.png", render(signal, 500, LEADS_12, config="clean",
                                               seed=i).image)
    _hidden_record(data, "r3", ["r3-0.png"])
    (data / "r3-0.png").write_bytes(b"not a png")
    _model_folder(tmp_path)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    runs = {}
    for jobs in ("1", "2"):
        runs[jobs] = subprocess.run(
            [sys.executable, str(ROOT / "run_model.py"), "-d", "data", "-m", "model", "-o",
             f"out{jobs}", "-f", "--jobs", jobs], cwd=tmp_path, env=env, capture_output=True,
            text=True, timeout=300)
        assert runs[jobs].returncode == 0, runs[jobs].stderr
    lines = {j: r.stdout.splitlines() for j, r in runs.items()}
    assert lines["1"][0].split(": ", 1)[1] == lines["2"][0].split(": ", 1)[1] == (
        "3 with a signal, 3 with labels, 1 failed")
    assert lines["1"][1:] == lines["2"][1:] and lines["1"][1].startswith("  FAILED r3: ")
    for r in runs.values():
        assert "record r3 failed" in r.stderr and "Traceback" in r.stderr
    one, two = _outputs(tmp_path / "out1"), _outputs(tmp_path / "out2")
    assert sorted(one) == ["r0.dat", "r0.hea", "r1.dat", "r1.hea", "r2.dat", "r2.hea", "r3.hea"]
    assert two == one
    for extra in (["--jobs", "-1"], ["--jobs", "2", "--report", "report"]):
        bad = subprocess.run([sys.executable, str(ROOT / "run_model.py"), "-d", "data", "-m",
                              "model", "-o", "out3", *extra], cwd=tmp_path, env=env,
                             capture_output=True, text=True, timeout=60)
        assert bad.returncode == 2 and "--jobs" in bad.stderr and bad.stdout == ""
        assert not (tmp_path / "out3").exists() and not (tmp_path / "report").exists()
