"""Tests of the learned centre-line read-out (ecgpaper.digitize.cnn).

Hermetic: pages come from the project's generator (``ecg_image_kit``); networks are tiny fits
or random initialisations, so these tests check the machinery (tiles, targets, read-out,
storage, training loop, the keep-only-if-better rule), not the trained accuracy, which
``benchmarks/bench_digitize.py`` measures.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

import ecg_image_kit
from ecgcore.constants import LEADS_12
from ecgcore.wfdbio import write_record
from ecgpaper.digitize import cnn, load_digitizer, train_digitizer
from ecgpaper.digitize.pipeline import digitize_image
from ecgpaper.digitize.trace import RowTrace, track_row
from tests._synth import synthetic_ecg



def _stroke_row(amp_px: float = 15.0):
    """A sine stroke 3 px thick on a 120 x 300 ink map, tracked by the classical tracker."""
    h, w = 120, 300
    ink = np.zeros((h, w), np.float32)
    xs = np.arange(w)
    yc = 60.0 + amp_px * np.sin(2 * np.pi * xs / 150.0)
    rows = np.arange(h)[:, None]
    ink[:] = np.clip(2.0 - np.abs(rows - yc[None, :]), 0.0, 1.0)
    rt = track_row(ink, 0.5, 0, h, 5, w - 5, 60.0, 120.0, flank_rows=True)
    return ink, rt, yc


def test_tiles_cover_the_tracked_row_and_follow_the_runs():
    ink, rt, _ = _stroke_row()
    tiles = cnn.row_tiles(ink, rt)
    n = rt.x_px.size
    assert sum(t.n_out for t in tiles) == n  # every tracked column lies in one tile
    for t in tiles:
        c, h, w = t.image.shape
        assert c == 2 and h % cnn.STEP_H == 0 and h <= cnn.MAX_H
        assert w == cnn.TILE_W + 2 * cnn.MARGIN_X
        # the guide channel marks the tracked run: every output column has some coverage
        guide = t.image[1][:, cnn.MARGIN_X:cnn.MARGIN_X + t.n_out]
        assert (guide.sum(axis=0) > 1.0).all()
        # the ink channel is the page's ink at the tile's place
        x0 = int(rt.x_px[0]) + t.start - cnn.MARGIN_X
        ya, yb = max(t.y0, 0), min(t.y0 + h, ink.shape[0])
        xa, xb = max(x0, 0), min(x0 + w, ink.shape[1])
        np.testing.assert_array_equal(t.image[0, ya - t.y0:yb - t.y0, xa - x0:xb - x0],
                                      ink[ya:yb, xa:xb])


def test_targets_are_the_true_line_in_tile_rows():
    ink, rt, yc = _stroke_row()
    true = cnn.true_fine_rows(rt, [np.c_[np.arange(ink.shape[1], dtype=float), yc]])
    np.testing.assert_allclose(true, np.interp(rt.x_fine, np.arange(ink.shape[1]), yc))
    t = cnn.row_tiles(ink, rt)[1]
    tgt = cnn.tile_targets(t, true)
    assert tgt.shape == (cnn.OVERSAMPLE, cnn.TILE_W)
    k, j = 2, 10  # sub-column 2 of the tile's 11th column
    assert tgt[k, j] == pytest.approx(true[(t.start + j) * cnn.OVERSAMPLE + k] - t.y0, abs=1e-4)


def test_soft_argmax_reads_a_sub_pixel_peak():
    rows = torch.arange(40, dtype=torch.float32).view(1, 1, 40, 1)
    centre = torch.tensor([12.3, 30.75]).view(1, 1, 1, 2)
    logits = -0.5 * ((rows - centre) / 0.8) ** 2  # log of a Gaussian per column
    y, mass = cnn._soft_argmax(logits)
    np.testing.assert_allclose(y.numpy().ravel(), [12.3, 30.75], atol=0.02)
    assert (mass.numpy() > 0.99).all()


def test_refine_keeps_the_classical_value_where_unsure():
    ink, rt, _ = _stroke_row()
    model = cnn.CentreLineModel({"min_confidence": 1.5})  # no read-out is ever that sure
    np.testing.assert_array_equal(model.refine(ink, rt), rt.y_fine)
    sure = cnn.CentreLineModel({"min_confidence": 0.0}, model.state())
    y = sure.refine(ink, rt)
    assert y.shape == rt.y_fine.shape
    assert np.array_equal(np.isfinite(y), np.isfinite(rt.y_fine))  # never invents samples
    assert cnn.CentreLineModel().refine(ink, RowTrace(rt.x_px, rt.y_px, 1.0)) is None


def test_weights_round_trip_without_pickle(tmp_path: Path):
    ink, rt, _ = _stroke_row()
    torch.manual_seed(3)
    model = cnn.CentreLineModel({"min_confidence": 0.0})
    cnn.save_centreline(model, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["centreline.json", "centreline.npz"]
    with np.load(tmp_path / "centreline.npz", allow_pickle=False) as z:
        assert all(z[k].dtype == np.float32 for k in z.files)
    again = cnn.load_centreline(tmp_path)
    np.testing.assert_array_equal(again.refine(ink, rt), model.refine(ink, rt))
    assert cnn.load_centreline(tmp_path / "none") is None
    with pytest.raises(ValueError, match="oversample"):
        cnn.CentreLineModel({"oversample": 2})


@pytest.mark.slow
def test_fit_on_a_rendered_page_lowers_the_loss():
    sig = synthetic_ecg(500.0, seed=31)
    res = ecg_image_kit.render(sig, 500.0, LEADS_12, config=dict(preset="clean", dpi=150), seed=32)
    tiles, targets = cnn.page_tiles(res.image, res.annotation, 500.0, sig.shape[0])
    assert len(tiles) > 50
    # targets lie on the drawn trace: the ink at the target row is dark
    t, g = tiles[5], targets[5]
    k, j = np.nonzero(np.isfinite(g))
    cols = cnn.MARGIN_X + j
    rows = np.round(g[k, j]).astype(int)
    assert np.median(t.image[0, rows, cols]) > 0.5
    torch.manual_seed(0)
    model = cnn.CentreLineModel()
    fit = cnn.fit_tiles(model, tiles, targets, np.random.default_rng(0), time_budget_s=120.0,
                        max_steps=60, px_per_batch=20_000)
    assert fit["steps"] == 60
    assert fit["loss_last"] < 0.75 * fit["loss_first"], fit


@pytest.mark.slow
def test_fit_by_steps_is_the_same_on_a_quiet_or_a_busy_machine():
    """With a step count the fit does not depend on the clock: a generous and a tight (but
    sufficient) time cap, as on a quiet and a busy machine, give the same weights."""
    sig = synthetic_ecg(500.0, seed=36)
    res = ecg_image_kit.render(sig, 500.0, LEADS_12, config=dict(preset="clean", dpi=150), seed=37)
    tiles, targets = cnn.page_tiles(res.image, res.annotation, 500.0, sig.shape[0])
    weights = []
    for cap_s in (600.0, 60.0):
        torch.manual_seed(1)
        model = cnn.CentreLineModel()
        fit = cnn.fit_tiles(model, tiles, targets, np.random.default_rng(1), time_budget_s=cap_s,
                            max_steps=8, px_per_batch=10_000)
        assert fit["steps"] == 8
        weights.append([p.detach().clone() for p in model.net.parameters()])
    for a, b in zip(*weights):
        assert torch.equal(a, b)


@pytest.mark.slow
def test_pipeline_uses_the_network_only_when_given():
    sig = synthetic_ecg(500.0, seed=33)
    res = ecg_image_kit.render(sig, 500.0, LEADS_12, config="clean", seed=34)
    plain = digitize_image(res.image, 500.0, 5000)
    assert plain.info["centreline"] is False and plain.maps is None
    unsure = cnn.CentreLineModel({"min_confidence": 1.5})
    same = digitize_image(res.image, 500.0, 5000, centreline=unsure, keep_maps=True)
    assert same.info["centreline"] is True and "centreline" in same.info["timings_s"]
    # the unsure network changes nothing: the classical read-out, less the spike tips that the
    # pipeline leaves to a network (trace.sharpen_tips)
    no_tips = digitize_image(res.image, 500.0, 5000, {"tip_prominence": 0.0})
    assert any(not np.array_equal(no_tips.leads[k], v, equal_nan=True)
               for k, v in plain.leads.items())
    for lead, x in no_tips.leads.items():
        np.testing.assert_array_equal(same.leads[lead], x)
    assert len(same.maps["tracks"]) == len(same.maps["baselines"])


@pytest.mark.slow
def test_training_keeps_the_network_only_if_it_helps(tmp_path: Path):
    rec = tmp_path / "data" / "r1"
    rec.parent.mkdir()
    write_record(str(rec), synthetic_ecg(500.0, seed=35), 500.0, list(LEADS_12))
    model_dir = tmp_path / "model"
    train_digitizer([str(rec)], model_dir, seed=0, n_images=1, candidates={"morph_h_ratio": [1.05]},
                    cnn_budget_s=60.0, cnn_pages=1, cnn_steps=20)
    folder = model_dir / "digitizer"
    cfg = json.loads((folder / "config.json").read_text())
    val = cfg["meta"]["centreline"]["validation_db"]
    kept = val["centreline"] > val["classical"]
    assert cfg["centreline"] is kept
    assert (folder / "centreline.npz").is_file() is kept
    dig = load_digitizer(model_dir)
    assert (dig.centreline is not None) is kept
    assert not list(model_dir.rglob("*.pkl")) and not list(model_dir.rglob("*.pt"))


@pytest.mark.slow
def test_training_uses_the_records_own_annotated_images(tmp_path: Path):
    """Images that come with the training data and carry an ecg_image_kit annotation are
    training pages of the network (up to half of them)."""
    from ecg_image_kit.cli import main as render_main

    src = tmp_path / "signals" / "r1"
    src.parent.mkdir()
    write_record(str(src), synthetic_ecg(500.0, seed=37), 500.0, list(LEADS_12))
    data = tmp_path / "data"
    assert render_main(["-i", str(src.parent), "-o", str(data), "--config", "clean",
                        "--seed", "5", "--quiet"]) in (0, None)
    assert list(data.glob("r1*.json"))
    train_digitizer([str(data / "r1")], tmp_path / "model", seed=0, n_images=1,
                    candidates={"morph_h_ratio": [1.05]}, cnn_budget_s=60.0, cnn_pages=4,
                    cnn_steps=10)
    cfg = json.loads((tmp_path / "model" / "digitizer" / "config.json").read_text())
    meta = cfg["meta"]["centreline"]
    assert meta["annotated_pages"] == 1 and meta["pages"] == 4  # 1 own + 3 rendered
