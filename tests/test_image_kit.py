"""Tests of ecg_image_kit: layouts, exact ground truth, distortions, determinism, CLI."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from ecg_image_kit import LAYOUTS, RenderConfig, RenderResult, masked_signal, preset, render
from ecg_image_kit.config import sample_params
from ecgcore.constants import LEADS_12

FS = 500


def beats(fs: float = FS, duration_s: float = 10.0, hr: float = 70.0, amp: float = 1.0,
          qrs_width_s: float = 0.012, phase_s: float = 0.0) -> np.ndarray:
    """A sum of Gaussians per beat (P, Q, R, S, T), in mV."""
    t = np.arange(int(round(duration_s * fs))) / fs
    rr = 60.0 / hr
    ph = (t + phase_s) % rr
    waves = ((0.15, 0.10, 0.025), (-0.12, 0.26, 0.010), (1.0, 0.30, qrs_width_s),
             (-0.25, 0.33, 0.012), (0.3, 0.55, 0.05))
    return amp * sum(a * np.exp(-((ph - c) / w) ** 2) for a, c, w in waves)


def twelve(fs: float = FS, **kw) -> np.ndarray:
    amps = (0.8, 1.2, 0.6, -0.9, 0.5, 0.9, -0.7, 0.9, 1.3, 1.5, 1.3, 1.0)
    return np.stack([beats(fs, amp=a, phase_s=0.05 * k, **kw) for k, a in enumerate(amps)], axis=1)


def snr_db(ref: np.ndarray, est: np.ndarray) -> float:
    ok = np.isfinite(ref) & np.isfinite(est)
    noise = np.sum((ref[ok] - est[ok]) ** 2)
    return float(10 * np.log10(np.sum(ref[ok] ** 2) / max(noise, 1e-30)))


@pytest.fixture(scope="module")
def sig12() -> np.ndarray:
    return twelve()


@pytest.fixture(scope="module")
def clean(sig12) -> RenderResult:
    return render(sig12, FS, LEADS_12, "clean", seed=0, with_masks=True)


def gray(img: np.ndarray) -> np.ndarray:
    return img.astype(np.float32).mean(axis=2)


# --------------------------------------------------------------------------- annotation

def test_annotation_schema_and_json(clean):
    ann = clean.annotation
    for key in ("dpi", "width_px", "height_px", "paper", "layout", "mm_per_s", "mm_per_mv", "px_per_mm_x",
                "px_per_mm_y", "s_per_px", "mv_per_px", "fs_hz", "num_samples", "seed", "params",
                "rotation_deg", "leads", "calibration_pulses", "grid"):
        assert key in ann, key
    assert clean.image.shape == (1700, 2200, 3) and clean.image.dtype == np.uint8
    assert (ann["width_px"], ann["height_px"], ann["dpi"], ann["layout"]) == (2200, 1700, 200, "3x4+1")
    assert ann["px_per_mm_x"] == pytest.approx(200 / 25.4)
    assert ann["mv_per_px"] == pytest.approx(25.4 / 200 / 10)
    assert ann["s_per_px"] == pytest.approx(25.4 / 200 / 25)
    json.dumps(ann, allow_nan=False)  # plain JSON, no NaN
    for lead in ann["leads"]:
        for key in ("name", "row", "col", "start_sample", "end_sample", "bbox", "label_bbox",
                    "baseline_y_px", "x_px", "y_px"):
            assert key in lead
        assert len(lead["x_px"]) == len(lead["y_px"]) == lead["end_sample"] - lead["start_sample"]
    assert len(ann["calibration_pulses"]) == 4
    assert "origin_px" in ann["grid"] and ann["grid"]["style"] == "standard"


def test_3x4_windows_and_rhythm(clean):
    leads = clean.annotation["leads"]
    assert [x["name"] for x in leads[:4]] == ["I", "aVR", "V1", "V4"]
    for lead in leads[:12]:
        c = lead["col"]
        assert lead["start_sample"] == c * 1250 and lead["end_sample"] == (c + 1) * 1250
    rhythm = leads[12]
    assert rhythm["name"] == "II" and rhythm["rhythm"] and (rhythm["start_sample"], rhythm["end_sample"]) == (0, 5000)
    # columns do not overlap in x and rows are ordered top to bottom
    xs = [(lead["bbox"][0], lead["bbox"][2]) for lead in leads[:4]]
    assert all(a[1] <= b[0] + 3 for a, b in zip(xs, xs[1:]))
    ys = [leads[i]["baseline_y_px"] for i in (0, 4, 8, 12)]
    assert ys == sorted(ys)


def test_readback_snr_from_coordinates(clean, sig12):
    ann = clean.annotation
    px_per_s = ann["mm_per_s"] * ann["px_per_mm_x"]
    for lead in ann["leads"]:
        j = LEADS_12.index(lead["name"])
        ref = sig12[lead["start_sample"]:lead["end_sample"], j]
        y = np.array(lead["y_px"], float)
        v = (lead["baseline_y_px"] - y) * ann["mv_per_px"]
        assert snr_db(ref, v) >= 25.0
        # time axis: consecutive samples 1/fs apart through the stated scale
        x = np.array(lead["x_px"], float)
        assert np.allclose(np.diff(x) / px_per_s, 1.0 / FS, atol=1e-4)


def test_coordinates_are_trace_pixels(clean):
    g = gray(clean.image)
    for lead in clean.annotation["leads"]:
        x = np.rint(lead["x_px"]).astype(int)
        y = np.rint(lead["y_px"]).astype(int)
        assert np.mean(g[y, x] < 110) > 0.99
        assert np.mean(clean.trace_mask[y, x] > 0) > 0.99


def test_centerline_mask_readout_snr(sig12):
    """The drawn centre line, read per column, reproduces the (smooth) signal."""
    sig = twelve(qrs_width_s=0.03)
    res = render(sig, FS, LEADS_12, "clean", seed=2, with_masks=True)
    ann = res.annotation
    px_per_s = ann["mm_per_s"] * ann["px_per_mm_x"]
    for k, lead in enumerate(ann["leads"]):
        j = LEADS_12.index(lead["name"])
        x = np.array(lead["x_px"])
        ys, xs = np.nonzero(res.centerline_mask == k + 1)
        cols = np.arange(int(math.ceil(x[0])) + 1, int(math.floor(x[-1])) - 1)
        sums = np.bincount(xs, weights=ys, minlength=res.centerline_mask.shape[1])
        counts = np.bincount(xs, minlength=res.centerline_mask.shape[1])
        cols = cols[counts[cols] > 0]
        y_col = sums[cols] / counts[cols]
        t = lead["start_sample"] / FS + (cols - x[0]) / px_per_s
        ref = np.interp(t, np.arange(sig.shape[0]) / FS, sig[:, j])
        v = (lead["baseline_y_px"] - y_col) * ann["mv_per_px"]
        assert snr_db(ref, v) >= 25.0, lead["name"]


@pytest.mark.parametrize("changes", [dict(rotation_deg=4.0), dict(rotation_deg=-3.0, perspective=0.03),
                                     dict(perspective=0.04, crop=0.02, pad=0.03)])
def test_geometry_keeps_coordinates_on_trace(sig12, changes):
    cfg = RenderConfig(dpi=150, header_text=False, **changes)
    res = render(sig12, FS, LEADS_12, cfg, seed=5, with_masks=True)
    g = gray(res.image)
    h, w = g.shape
    for lead in res.annotation["leads"]:
        x = np.rint(lead["x_px"]).astype(int)
        y = np.rint(lead["y_px"]).astype(int)
        inside = (x >= 0) & (x < w) & (y >= 0) & (y < h)
        assert inside.mean() > 0.9
        x, y = x[inside], y[inside]
        assert np.mean(g[y, x] < 140) > 0.97
        assert np.mean(res.trace_mask[y, x] > 0) > 0.97
    # the homography maps the undistorted page to the image
    hm = np.array(res.annotation["homography"])
    assert hm.shape == (3, 3)
    if "rotation_deg" in changes:
        assert res.annotation["rotation_deg"] == changes["rotation_deg"]


# --------------------------------------------------------------------------- layouts and options

@pytest.mark.parametrize("layout", LAYOUTS)
def test_layouts(sig12, layout):
    res = render(sig12, FS, LEADS_12, RenderConfig(layout=layout, dpi=100), seed=1)
    leads = res.annotation["leads"]
    extra = {"3x4+1": 1, "3x4+3": 3}.get(layout, 0)
    assert len(leads) == 12 + extra
    assert sorted({x["name"] for x in leads}) == sorted(LEADS_12)
    n_cols = 1 + max(x["col"] for x in leads)
    assert n_cols == {"3x4": 4, "3x4+1": 4, "3x4+3": 4, "6x2": 2, "12x1": 1, "2x6": 6}[layout]
    for lead in leads:
        if not lead["rhythm"]:
            win = 5000 / n_cols
            assert abs(lead["start_sample"] - lead["col"] * win) <= 1
            assert abs(lead["end_sample"] - lead["start_sample"] - win) <= 1
    if layout == "3x4+3":
        assert [x["name"] for x in leads[12:]] == ["II", "V1", "V5"]


def test_rhythm_lead_choice_and_errors(sig12):
    res = render(sig12, FS, LEADS_12, RenderConfig(rhythm_leads=("v2",), dpi=100))
    assert res.annotation["leads"][-1]["name"] == "V2"
    with pytest.raises(ValueError, match="rhythm"):
        render(sig12, FS, LEADS_12, RenderConfig(layout="3x4+3", rhythm_leads=("II",), dpi=100))
    with pytest.raises(ValueError, match="valid layouts"):
        render(sig12, FS, LEADS_12, RenderConfig(layout="5x5"))
    with pytest.raises(ValueError, match="valid presets"):
        preset("extreme")
    with pytest.raises(ValueError, match="valid keys"):
        render(sig12, FS, LEADS_12, {"dpii": 100})


def test_subset_any_case_nan_and_rate():
    fs = 250
    sig = np.stack([beats(fs, amp=1.0), beats(fs, amp=0.7), beats(fs, amp=0.5)], axis=1)
    sig[100:120, 0] = np.nan
    res = render(sig, fs, ["ii", "AVR", "v5"], RenderConfig(dpi=100), seed=3)
    names = [x["name"] for x in res.annotation["leads"]]
    assert names == ["aVR", "II", "V5", "II"]
    rhythm = res.annotation["leads"][-1]
    assert rhythm["end_sample"] == 2500
    assert rhythm["y_px"][100] is None and rhythm["x_px"][119] is None and rhythm["y_px"][120] is not None
    masked = masked_signal(sig, res.annotation, ["ii", "AVR", "v5"])
    assert np.isfinite(masked[:, 0]).sum() == 2500 - 20  # lead II: rhythm strip, all 10 s
    assert np.isfinite(masked[:, 1]).sum() == 625  # aVR: one 2.5-s column
    assert np.isfinite(masked[625:1250, 1]).all()


def test_speed_gain_paper_and_short_window(sig12):
    res = render(sig12, FS, LEADS_12, RenderConfig(mm_per_s=50, mm_per_mv=5, paper="a4", dpi=100))
    ann = res.annotation
    assert ann["duration_s"] < 10 and ann["mm_per_s"] == 50 and ann["paper"] == "a4"
    assert res.image.shape[:2] == (round(210 * 100 / 25.4), round(297 * 100 / 25.4))
    for lead in ann["leads"]:
        assert lead["bbox"][2] <= ann["width_px"]
    port = render(sig12, FS, LEADS_12, RenderConfig(orientation="portrait", layout="12x1", dpi=100))
    assert port.image.shape[0] > port.image.shape[1]


@pytest.mark.parametrize("style", ["standard", "random_color", "bw", "dotted", "none"])
def test_grid_styles(sig12, style):
    res = render(sig12[:, :3], FS, LEADS_12[:3], RenderConfig(grid_style=style, dpi=100, header_text=False))
    g = gray(res.image)
    assert (g > 250).mean() > (0.9 if style == "none" else 0.3)
    if style == "none":
        assert res.annotation["grid"]["style"] == "none"


def test_determinism_and_ranges(sig12):
    cfg = preset("moderate").replace(dpi=100)
    a = render(sig12, FS, LEADS_12, cfg, seed=11)
    b = render(sig12, FS, LEADS_12, cfg, seed=11)
    c = render(sig12, FS, LEADS_12, cfg, seed=12)
    assert np.array_equal(a.image, b.image) and a.annotation == b.annotation
    assert not np.array_equal(a.image, c.image)
    p = a.annotation["params"]
    assert -5 <= p["rotation_deg"] <= 5 and 1 <= p["creases"] <= 3
    assert p["rotation_deg"] == a.annotation["rotation_deg"]
    # per-field streams: changing one field's range leaves the others' draws alone
    q = sample_params(cfg.replace(noise_std=(0.0, 1.0)), 11)
    assert q["rotation_deg"] == p["rotation_deg"] and q["blur_sigma_px"] == p["blur_sigma_px"]


def test_config_forms(sig12):
    assert RenderConfig().replace(layout="6x2", dpi=300).dpi == 300
    cfg = RenderConfig.from_dict({"preset": "heavy", "layout": "6x2"})
    assert cfg.layout == "6x2" and cfg.jpeg_quality == (30, 70)
    res = render(sig12, FS, LEADS_12, {"layout": "12x1", "dpi": 100, "calibration_pulse": False,
                                       "lead_labels": False})
    assert res.annotation["calibration_pulses"] == []
    assert all(x["label_bbox"] is None for x in res.annotation["leads"])
    assert render(sig12, FS, LEADS_12, None, seed=0).annotation["dpi"] == 200


@pytest.mark.parametrize("changes", [
    dict(wrinkles=0.8, creases=2), dict(stains=2, shadow=0.5), dict(lighting=0.5, color_temperature_k=4000.0),
    dict(noise_std=8.0, salt_pepper=0.01), dict(blur_sigma_px=1.5, jpeg_quality=40), dict(banding=0.5),
    dict(handwriting=5, stamps=2), dict(crop=0.05, pad=0.05, background_color=(30, 30, 30)),
    dict(blotches=0.8),
])
def test_each_distortion_runs_and_changes_image(sig12, changes):
    base = render(sig12, FS, LEADS_12, RenderConfig(dpi=100), seed=4)
    res = render(sig12, FS, LEADS_12, RenderConfig(dpi=100, **changes), seed=4)
    assert res.image.dtype == np.uint8 and res.image.ndim == 3
    assert res.image.shape != base.image.shape or np.abs(
        res.image.astype(int) - base.image.astype(int)).mean() > 0.05
    json.dumps(res.annotation, allow_nan=False)


def test_blotches_darken_patches_of_the_page(sig12):
    res = render(sig12, FS, LEADS_12, RenderConfig(dpi=100, blotches=1.0), seed=4)
    paper = res.image.astype(float).max(axis=2)
    # the blotches are patches: part of the page darkens strongly, most of it not at all
    blocks = paper[:paper.shape[0] // 16 * 16, :paper.shape[1] // 16 * 16]
    blocks = blocks.reshape(blocks.shape[0] // 16, 16, -1, 16).max(axis=(1, 3))
    assert 0.05 < np.mean(blocks < 0.6 * 255) < 0.5
    assert np.mean(blocks > 0.9 * 255) > 0.4


def test_styled_distortion_presets_combine_both(sig12):
    from ecg_image_kit.config import preset
    for name, base in (("moderate-styles", "moderate"), ("heavy-styles", "heavy")):
        cfg, ref, sty = preset(name), preset(base), preset("styles")
        assert cfg.grid_color == sty.grid_color and cfg.line_width_pt == sty.line_width_pt
        assert cfg.noise_std == ref.noise_std and cfg.wrinkles == ref.wrinkles
        assert cfg.blotches != 0.0


def test_heavy_preset_and_masks(sig12):
    res = render(sig12, FS, LEADS_12, "heavy", seed=8, with_masks=True)
    ann = res.annotation
    assert 100 <= ann["dpi"] <= 150
    assert res.trace_mask.shape == res.image.shape[:2] == res.centerline_mask.shape
    assert set(np.unique(res.trace_mask)) <= set(range(len(ann["leads"]) + 1))
    assert (res.centerline_mask > 0).sum() <= (res.trace_mask > 0).sum()


def test_font_fallback_without_ttf(sig12, monkeypatch):
    from ecg_image_kit import paper

    monkeypatch.setattr(paper, "_all_ttf", lambda: ())
    paper.text_patch.cache_clear()
    res = render(sig12, FS, LEADS_12, RenderConfig(dpi=100, handwriting=2, stamps=1), seed=0)
    paper.text_patch.cache_clear()
    assert res.annotation["derived"]["font_file"] is None
    assert res.annotation["leads"][0]["label_bbox"] is not None


def test_input_validation():
    with pytest.raises(ValueError, match="does not match"):
        render(np.zeros((100, 3)), FS, ["I", "II"])
    with pytest.raises(ValueError, match="fs_hz"):
        render(np.zeros((100, 2)), 0, ["I", "II"])


def test_stroke_width_close_to_nominal(sig12):
    """A flat stretch of baseline is drawn about line_width_pt / 72 * dpi pixels thick."""
    flat = np.zeros((5000, 1))
    res = render(flat, FS, ["II"], RenderConfig(layout="12x1", grid_style="none", header_text=False,
                                               calibration_pulse=False, lead_labels=False), seed=0)
    lead = res.annotation["leads"][0]
    col = int(round(lead["x_px"][2000]))
    dark = gray(res.image)[:, col] < 128
    assert 1.5 <= dark.sum() <= 3.5  # nominal 0.75 pt = 2.08 px at 200 DPI


def test_random_geometry_property(sig12):
    """For random rotations/perspectives the stored points stay on the drawn trace."""
    rng = np.random.default_rng(123)
    sub = sig12[:, [1, 7]]
    for _ in range(4):
        cfg = RenderConfig(dpi=100, rotation_deg=float(rng.uniform(-10, 10)), perspective=float(rng.uniform(0, 0.05)),
                           header_text=False, layout="12x1")
        res = render(sub, FS, ["II", "V2"], cfg, seed=int(rng.integers(1000)), with_masks=True)
        for lead in res.annotation["leads"]:
            x = np.rint(np.array(lead["x_px"])).astype(int)
            y = np.rint(np.array(lead["y_px"])).astype(int)
            ok = (x >= 0) & (x < res.image.shape[1]) & (y >= 0) & (y < res.image.shape[0])
            assert np.mean(res.trace_mask[y[ok], x[ok]] > 0) > 0.97


@pytest.mark.shared_data
def test_real_record_roundtrip_snr(shared_data):
    """A real PTB-XL record (shared data, skipped when absent) reads back at >= 25 dB."""
    from ecg_image_kit import render_record
    from ecgcore.wfdbio import read_signal

    rec = shared_data("ptbxl_subset500/records500/00000/00001_hr.hea").with_suffix("")
    sig, header = read_signal(rec)
    res = render_record(rec, "clean", seed=0)
    names = [LEADS_12[[x.upper() for x in LEADS_12].index(n.upper())] for n in header.lead_names]
    for lead in res.annotation["leads"]:
        j = names.index(lead["name"])
        ref = sig[lead["start_sample"]:lead["end_sample"], j]
        v = (lead["baseline_y_px"] - np.array(lead["y_px"], float)) * res.annotation["mv_per_px"]
        assert snr_db(ref - ref.mean(), v - ref.mean()) >= 25.0


def test_bgr_channel_order_is_the_same_page(sig12):
    cfg = preset("heavy").replace(stamps=1, handwriting=3)
    a = render(sig12, FS, LEADS_12, cfg, seed=3)
    b = render(sig12, FS, LEADS_12, cfg, seed=3, channel_order="BGR")
    assert np.array_equal(a.image, b.image[..., ::-1]) and a.annotation == b.annotation
    with pytest.raises(ValueError, match="channel_order"):
        render(sig12, FS, LEADS_12, cfg, channel_order="RBG")
