"""Learned centre-line read-out (stage 5 of the digitizer, on top of the classical tracker).

The classical tracker (:mod:`.trace`) decides *which* stroke is the trace in every column; its
read-out of *where* the centre line lies inside that stroke is the error that remains on clean
pages (QRS apices cut by 1-2 px, flanks and flat stretches read to about half a pixel).  This
stage re-reads the centre line with a small fully convolutional network, as the 2025 re-run's
best digitizers do (a network trained on the thin centre line rendered from the ground-truth
signal, with a sub-pixel read-out over several sub-columns per pixel column;
``../shared/spec/state-of-the-art.md`` §3-4):

1. **Tiles.**  Each tracked row is cut into tiles of 64 columns (plus 8 columns of context on
   each side) whose height covers the tracked runs of the tile plus 10 px.  Input channels:
   the ink map and a *guide* channel, the tracked run of every column (so the network follows
   the tracker's stroke and not a neighbouring row's QRS or a label).
2. **Network.**  Five 3x3 convolutions (dilations 1, 1, 2, 4, 1; 16 channels; receptive
   field +-9 px) and a 1x1 convolution (9.7 k weights) map the tile to ``OVERSAMPLE`` logit
   maps, one per sub-column of every pixel column; a softmax over the tile's rows gives each
   sub-column's distribution of the centre line.
3. **Read-out.**  Soft-argmax in a window of +-3 rows around the arg-max: the sub-pixel row
   and a confidence (the probability mass in the window).  Confident values replace the
   classical sub-column read-out; elsewhere the classical value stays.

Training (:func:`collect_tiles` and :func:`fit_tiles`, driven by
:func:`ecgpaper.digitize.train_digitizer`) renders training records with ``ecg_image_kit``,
runs the classical pipeline to obtain the geometry, the rows and the tracked runs, maps the
annotation's per-sample pixel coordinates through the pipeline's warp, and fits the network
with a cross-entropy against a Gaussian (sigma 0.8 px) centred on the true centre line of each
sub-column.  Vertical and horizontal flips (a negated or time-reversed trace is still a trace)
augment the tiles.  Weights are stored as ``.npz`` arrays beside a JSON config; nothing is
pickled.
"""

from __future__ import annotations

import io
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ecgcore.wfdbio import atomic_write_bytes
from ecgpaper.modelfiles import ModelFileError, check_number, read_json, read_npz

from .trace import RowTrace

__all__ = ["OVERSAMPLE", "Tile", "CentreLineModel", "row_tiles", "tile_targets", "page_tiles",
           "collect_tiles", "fit_tiles", "load_centreline", "save_centreline",
           "check_centreline_config", "MAX_CHANNELS"]

log = logging.getLogger(__name__)

#: Sub-columns per pixel column (the classical read-out's ``x_fine`` uses the same 4).
OVERSAMPLE = 4
#: Output columns per tile, context columns on each side, rows added above and below the runs.
TILE_W, MARGIN_X, MARGIN_Y = 64, 8, 10
#: Tile heights are multiples of this; taller tiles (blobs) keep the classical read-out.
STEP_H, MAX_H = 16, 256
#: Soft-argmax half-window (rows) and the Gaussian width of the training target (px).
WINDOW, SIGMA_PX = 3, 0.8


@dataclass
class Tile:
    """One tile of a tracked row.

    Attributes
    ----------
    start : int
        Index (into the row's columns) of the tile's first output column.
    n_out : int
        Output columns (``TILE_W`` except at the row's end).
    y0 : int
        Image row of the tile's first row.
    image : numpy.ndarray
        ``(2, h, TILE_W + 2 * MARGIN_X)`` float32: ink map and guide (tracked run coverage).
    """

    start: int
    n_out: int
    y0: int
    image: np.ndarray


def _guide(top: np.ndarray, bot: np.ndarray, y0: int, h: int) -> np.ndarray:
    """Coverage of each pixel by the tracked run ``[top, bot]`` of its column (0 where none)."""
    rows = y0 + np.arange(h, dtype=np.float32)[:, None]
    with np.errstate(invalid="ignore"):
        cov = np.minimum(rows + 0.5, bot[None, :]) - np.maximum(rows - 0.5, top[None, :])
    return np.nan_to_num(np.clip(cov, 0.0, 1.0), nan=0.0).astype(np.float32)


def row_tiles(ink: np.ndarray, rt: RowTrace) -> list[Tile]:
    """Cut a tracked row into network tiles.

    Parameters
    ----------
    ink : numpy.ndarray
        ``(H, W)`` float ink map of the deskewed page (the one the row was tracked on).
    rt : RowTrace
        The row's classical read-out, with ``top_px``/``bot_px``.

    Returns
    -------
    list of Tile
        Tiles with at least one tracked output column and at most ``MAX_H`` rows.

    Examples
    --------
    >>> from ecgpaper.digitize.trace import track_row
    >>> ink = np.zeros((60, 200), np.float32); ink[29:32, 10:190] = 1.0
    >>> rt = track_row(ink, 0.5, 0, 60, 0, 200, 30.0, 60.0)
    >>> tiles = row_tiles(ink, rt)
    >>> [(t.start, t.n_out, t.image.shape) for t in tiles][:2]
    [(0, 64, (2, 32, 80)), (64, 64, (2, 32, 80))]
    """
    if rt.top_px is None or rt.bot_px is None:
        return []
    hh, ww = ink.shape
    n = rt.x_px.size
    c0 = int(round(rt.x_px[0])) if n else 0
    wide = TILE_W + 2 * MARGIN_X
    top = np.full(n + 2 * MARGIN_X + TILE_W, np.nan, np.float32)
    bot = top.copy()
    top[MARGIN_X:MARGIN_X + n], bot[MARGIN_X:MARGIN_X + n] = rt.top_px, rt.bot_px
    tiles = []
    for s in range(0, n, TILE_W):
        n_out = min(TILE_W, n - s)
        if not np.isfinite(rt.top_px[s:s + n_out]).any():
            continue
        t_win, b_win = top[s:s + wide], bot[s:s + wide]
        lo = float(np.nanmin(t_win)) - MARGIN_Y
        hi = float(np.nanmax(b_win)) + MARGIN_Y
        h = int(np.ceil((hi - lo) / STEP_H)) * STEP_H
        if h > MAX_H:
            continue
        y0 = int(np.floor(0.5 * (lo + hi) - 0.5 * h))
        img = np.zeros((2, h, wide), np.float32)
        xa, ya = c0 + s - MARGIN_X, y0
        sx0, sy0 = max(xa, 0), max(ya, 0)
        sx1, sy1 = min(xa + wide, ww), min(ya + h, hh)
        if sx1 > sx0 and sy1 > sy0:
            img[0, sy0 - ya:sy1 - ya, sx0 - xa:sx1 - xa] = ink[sy0:sy1, sx0:sx1]
        img[1] = _guide(t_win, b_win, y0, h)
        tiles.append(Tile(s, n_out, y0, img))
    return tiles


def tile_targets(tile: Tile, y_true_fine: np.ndarray) -> np.ndarray:
    """Training target of a tile: the true centre line per sub-column, in tile rows.

    Parameters
    ----------
    tile : Tile
    y_true_fine : numpy.ndarray
        ``(n * OVERSAMPLE,)`` true centre line (image rows) at the row's sub-columns, NaN where
        the page prints no trace.

    Returns
    -------
    numpy.ndarray
        ``(OVERSAMPLE, TILE_W)`` float32 target rows relative to ``tile.y0``; NaN where there
        is no target (no trace, outside the tile, beyond the row's end).
    """
    f = OVERSAMPLE
    out = np.full((f, TILE_W), np.nan, np.float32)
    seg = y_true_fine[tile.start * f:(tile.start + tile.n_out) * f].reshape(-1, f).T - tile.y0
    h = tile.image.shape[1]
    with np.errstate(invalid="ignore"):
        seg = np.where((seg >= 0) & (seg <= h - 1), seg, np.nan)
    out[:, :tile.n_out] = seg
    return out


def _by_height(tiles: list[Tile]) -> dict[int, list[int]]:
    """Tile height -> indices of the tiles of that height (tiles batch by height)."""
    by_h: dict[int, list[int]] = {}
    for i, t in enumerate(tiles):
        by_h.setdefault(t.image.shape[1], []).append(i)
    return by_h


def _build_net(channels: int, oversample: int):
    import torch.nn as nn

    c = int(channels)
    layers = [nn.Conv2d(2, c, 3, padding=1), nn.ReLU()]
    for d in (1, 2, 4, 1):
        layers += [nn.Conv2d(c, c, 3, padding=d, dilation=d), nn.ReLU()]
    layers.append(nn.Conv2d(c, int(oversample), 1))
    return nn.Sequential(*layers)


class CentreLineModel:
    """The centre-line network with its config (state: the weights).

    Parameters
    ----------
    config : dict
        ``channels``, ``oversample`` (must equal :data:`OVERSAMPLE`), ``min_confidence``.
    state : dict or None
        Parameter name -> array (as saved); random initial weights when None.

    Notes
    -----
    The network runs on the GPU when torch sees one (CUDA), on the CPU otherwise.
    """

    def __init__(self, config: dict | None = None, state: dict | None = None) -> None:
        import torch

        cfg = {"channels": 16, "oversample": OVERSAMPLE, "min_confidence": 0.5}
        cfg.update(config or {})
        if int(cfg["oversample"]) != OVERSAMPLE:
            raise ValueError(f"centre-line model oversample {cfg['oversample']} != {OVERSAMPLE}")
        self.config = cfg
        self.net = _build_net(cfg["channels"], cfg["oversample"])
        if state is not None:
            self.net.load_state_dict({k: torch.from_numpy(np.asarray(v)) for k, v in state.items()})
        self.net.eval()
        self.device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        self.net.to(self.device, memory_format=torch.channels_last)  # faster convolutions

    def state(self) -> dict:
        """Parameter name -> numpy array (what :func:`save_centreline` writes)."""
        return {k: v.detach().cpu().numpy() for k, v in self.net.state_dict().items()}

    def predict(self, tiles: list[Tile], max_px_per_batch: int = 400_000
                ) -> list[tuple[np.ndarray, np.ndarray]]:
        """Sub-pixel centre line and confidence of every tile.

        Returns
        -------
        list of (y, confidence)
            Per tile, ``(OVERSAMPLE, TILE_W + 2 * MARGIN_X)`` image rows and probability mass
            in the read-out window.
        """
        import torch

        out: list = [None] * len(tiles)
        by_h = _by_height(tiles)
        with torch.inference_mode():
            for h, idx in sorted(by_h.items()):
                per = max(1, max_px_per_batch // (h * tiles[idx[0]].image.shape[2]))
                for a in range(0, len(idx), per):
                    chunk = idx[a:a + per]
                    x = torch.from_numpy(np.stack([tiles[i].image for i in chunk]))
                    x = x.to(self.device).contiguous(memory_format=torch.channels_last)
                    y, conf = (v.cpu() for v in _soft_argmax(self.net(x).contiguous()))
                    for j, i in enumerate(chunk):
                        out[i] = (y[j].numpy() + tiles[i].y0, conf[j].numpy())
        return out

    def refine(self, ink: np.ndarray, rt: RowTrace) -> np.ndarray | None:
        """The row's sub-column centre line re-read by the network.

        Parameters
        ----------
        ink : numpy.ndarray
            ``(H, W)`` ink map the row was tracked on.
        rt : RowTrace
            Classical read-out with ``x_fine``/``y_fine`` and run edges.

        Returns
        -------
        numpy.ndarray or None
            ``(n * OVERSAMPLE,)`` centre line: the network's value where it is confident and
            the classical one was finite, the classical value elsewhere; None when the row has
            no sub-column read-out.
        """
        if rt.y_fine is None or rt.top_px is None:
            return None
        tiles = row_tiles(ink, rt)
        if not tiles:
            return rt.y_fine
        f = OVERSAMPLE
        y_new = rt.y_fine.copy()
        min_conf = float(self.config["min_confidence"])
        for t, (y, conf) in zip(tiles, self.predict(tiles)):
            yo = y[:, MARGIN_X:MARGIN_X + t.n_out].T.reshape(-1)
            co = conf[:, MARGIN_X:MARGIN_X + t.n_out].T.reshape(-1)
            sl = slice(t.start * f, (t.start + t.n_out) * f)
            old = y_new[sl]
            y_new[sl] = np.where(np.isfinite(old) & (co >= min_conf), yo, old)
        return y_new


def _soft_argmax(logits):
    """``(B, K, h, w)`` logits -> ``(B, K, w)`` sub-pixel row and window probability mass."""
    import torch

    p = torch.softmax(logits, dim=2)
    h = p.shape[2]
    i = p.argmax(dim=2, keepdim=True)
    offs = torch.arange(-WINDOW, WINDOW + 1, device=logits.device).view(1, 1, -1, 1)
    idx = (i + offs).clamp(0, h - 1)
    pw = torch.gather(p, 2, idx)
    mass = pw.sum(dim=2)
    y = (pw * idx.to(p.dtype)).sum(dim=2) / mass.clamp_min(1e-9)
    return y, mass


def _ce_loss(logits, target):
    """Cross-entropy against a Gaussian around each finite target row (mean over targets)."""
    import torch

    h = logits.shape[2]
    valid = torch.isfinite(target)
    if not bool(valid.any()):
        return logits.sum() * 0.0
    rows = torch.arange(h, dtype=logits.dtype, device=logits.device).view(1, 1, h, 1)
    t = torch.nan_to_num(target, nan=-1e3).unsqueeze(2)
    q = torch.exp(-0.5 * ((rows - t) / SIGMA_PX) ** 2)
    q = q / q.sum(dim=2, keepdim=True).clamp_min(1e-12)
    logp = torch.log_softmax(logits, dim=2)
    ce = -(q * logp).sum(dim=2)
    return ce[valid].mean()


def _augment(x: np.ndarray, y: np.ndarray, rng: np.random.Generator):
    """Random vertical / horizontal flip and ink gain of a batch (arrays are copied)."""
    h = x.shape[2]
    if rng.random() < 0.5:  # a negated trace: rows reversed
        x = x[:, :, ::-1, :]
        y = (h - 1) - y
    if rng.random() < 0.5:  # a time-reversed trace: columns and sub-columns reversed
        x = x[:, :, :, ::-1]
        y = y[:, ::-1, ::-1]
    x = np.ascontiguousarray(x).copy()
    x[:, 0] *= rng.uniform(0.75, 1.1, size=(x.shape[0], 1, 1)).astype(np.float32)
    np.clip(x[:, 0], 0.0, 1.0, out=x[:, 0])
    return x, np.ascontiguousarray(y)


def fit_tiles(model: CentreLineModel, tiles: list[Tile], targets: list[np.ndarray],
              rng: np.random.Generator, time_budget_s: float, max_steps: int | None = None,
              lr: float = 3e-3, px_per_batch: int = 160_000) -> dict:
    """Fit the network on tiles with targets (cosine learning rate).

    With ``max_steps`` the fit is defined by its steps: the learning rate follows the step
    count and ``time_budget_s`` only stops it early (a slow machine); without it the fit runs
    for ``time_budget_s`` and the schedule follows the clock.

    Returns
    -------
    dict
        ``steps``, ``seconds``, ``loss_first``, ``loss_last`` (mean of the first / last 20
        steps).
    """
    import torch

    t0 = time.perf_counter()  # the set-up counts: the first Adam optimiser imports torch._dynamo
    if not tiles:
        return {"steps": 0, "seconds": 0.0}
    by_h = _by_height(tiles)
    hs = sorted(by_h)
    weight = np.array([len(by_h[h]) * h for h in hs], float)
    weight /= weight.sum()
    net = model.net
    net.train()
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    losses: list[float] = []
    step = 0
    while True:
        elapsed = time.perf_counter() - t0
        if elapsed >= time_budget_s or (max_steps is not None and step >= max_steps):
            break
        # with a step count the schedule follows the steps only (the time is a safety cap)
        frac = elapsed / max(time_budget_s, 1e-9) if max_steps is None else step / max_steps
        for g in opt.param_groups:
            g["lr"] = lr * 0.5 * (1.0 + np.cos(np.pi * min(frac, 1.0)))
        h = hs[int(rng.choice(len(hs), p=weight))]
        pool = by_h[h]
        per = max(1, min(len(pool), px_per_batch // (h * tiles[pool[0]].image.shape[2])))
        pick = rng.choice(pool, size=per, replace=False)
        x = np.stack([tiles[i].image for i in pick]).astype(np.float32)
        y = np.stack([targets[i] for i in pick])
        x, y = _augment(x, y, rng)
        xt = torch.from_numpy(x).to(model.device).contiguous(memory_format=torch.channels_last)
        logits = net(xt)[:, :, :, MARGIN_X:MARGIN_X + TILE_W]
        loss = _ce_loss(logits, torch.from_numpy(y).to(model.device))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
        step += 1
    net.eval()
    return {"steps": step, "seconds": round(time.perf_counter() - t0, 1),
            "loss_first": float(np.mean(losses[:20])) if losses else None,
            "loss_last": float(np.mean(losses[-20:])) if losses else None}


def true_fine_rows(rt: RowTrace, panels_xy: list[np.ndarray]) -> np.ndarray:
    """The true centre line at the row's sub-columns from annotated sample positions.

    Parameters
    ----------
    rt : RowTrace
        Row with ``x_fine``.
    panels_xy : list of numpy.ndarray
        ``(m, 2)`` drawn sample positions (x, y) of each panel on this row, in the frame of
        the ink map (NaN rows allowed).

    Returns
    -------
    numpy.ndarray
        ``(n * OVERSAMPLE,)`` true rows, NaN outside every panel's drawn extent.

    Examples
    --------
    >>> rt = RowTrace(np.arange(3.0), np.zeros(3), 1.0, x_fine=np.arange(12) / 4 - 0.375)
    >>> xy = np.c_[np.linspace(0.0, 2.0, 9), np.linspace(10.0, 12.0, 9)]
    >>> true_fine_rows(rt, [xy])[:4].round(3).tolist()
    [nan, nan, 10.125, 10.375]
    """
    xf = rt.x_fine
    out = np.full(xf.size, np.nan)
    for xy in panels_xy:
        ok = np.isfinite(xy).all(axis=1)
        if ok.sum() < 2:
            continue
        x, y = xy[ok, 0], xy[ok, 1]
        order = np.argsort(x, kind="stable")
        x, y = x[order], y[order]
        inside = (xf >= x[0]) & (xf <= x[-1])
        out[inside] = np.interp(xf[inside], x, y)
    return out


def _warp_points(hmat: np.ndarray, xy: np.ndarray) -> np.ndarray:
    p = np.c_[xy, np.ones(len(xy))] @ hmat.T
    return p[:, :2] / p[:, 2:3]


def page_tiles(image: np.ndarray, annotation: dict, fs_hz: float, num_samples: int,
               params: dict | None = None) -> tuple[list[Tile], list[np.ndarray]]:
    """Tiles and targets of one rendered page (classical pipeline + annotation).

    Rows of the pipeline are matched to the annotation's panels by their baselines (within a
    quarter row spacing); rows without a match give no tiles.
    """
    from .pipeline import digitize_image

    ro = digitize_image(image, fs_hz, num_samples, params, keep_maps=True)
    maps = ro.maps or {}
    if not maps.get("tracks"):
        return [], []
    warp = np.asarray(ro.info.get("warp", np.eye(3)), float)
    baselines = np.asarray(maps["baselines"], float)
    spacing = float(np.median(np.diff(baselines))) if baselines.size > 1 else np.inf
    per_row: dict[int, list[np.ndarray]] = {}
    for lead in annotation["leads"]:
        xy = np.c_[np.asarray(lead["x_px"], float), np.asarray(lead["y_px"], float)]
        bl = _warp_points(warp, np.asarray(lead["baseline_px"], float))[:, 1].mean()
        r = int(np.argmin(np.abs(baselines - bl)))
        if abs(baselines[r] - bl) < 0.25 * spacing:
            per_row.setdefault(r, []).append(_warp_points(warp, xy))
    tiles, targets = [], []
    for r, rt in enumerate(maps["tracks"]):
        if r not in per_row or rt.x_fine is None:
            continue
        y_true = true_fine_rows(rt, per_row[r])
        for t in row_tiles(maps["ink"], rt):
            tgt = tile_targets(t, y_true)
            if np.isfinite(tgt).sum() >= 16:
                tiles.append(t)
                targets.append(tgt)
    return tiles, targets


def collect_tiles(pages, params: dict | None = None, time_limit_s: float | None = None
                  ) -> tuple[list[Tile], list[np.ndarray], int]:
    """Training tiles and targets of rendered pages, streamed page by page.

    Parameters
    ----------
    pages : iterable of (image, annotation, header)
        Rendered pages (``ecg_image_kit`` annotations) and their headers; consumed lazily,
        so only one page image is held at a time.
    params : dict or None
        Classical pipeline parameters used to find the rows and runs.
    time_limit_s : float or None
        Stop taking pages after this many seconds.

    Returns
    -------
    (tiles, targets, n_pages)
        Tile images are stored as float16 (half the memory; the fit works in float32).
    """
    t0 = time.perf_counter()
    tiles: list[Tile] = []
    targets: list[np.ndarray] = []
    n_pages = 0
    for image, annotation, hdr in pages:
        try:
            tl, tg = page_tiles(image, annotation, hdr.fs_hz, hdr.num_samples, params)
        except (ValueError, IndexError, FloatingPointError, np.linalg.LinAlgError) as exc:
            log.warning("centre-line training: page %d skipped: %r", n_pages, exc)
            continue
        for t in tl:
            t.image = t.image.astype(np.float16)
        tiles += tl
        targets += tg
        n_pages += 1
        if time_limit_s is not None and time.perf_counter() - t0 > time_limit_s:
            break
    return tiles, targets, n_pages


def save_centreline(model: CentreLineModel, folder: str | Path) -> None:
    """Write ``centreline.npz`` (weights) and ``centreline.json`` (config) to ``folder``
    (each atomically)."""
    folder = Path(folder)
    buf = io.BytesIO()
    np.savez(buf, **model.state())
    atomic_write_bytes(folder / "centreline.npz", buf.getvalue())
    atomic_write_bytes(folder / "centreline.json",
                       json.dumps(model.config, indent=2, sort_keys=True).encode("utf-8"))


#: Most channels a saved centre-line network may declare (trained ones have 16): its
#: activations take ``channels`` x 400 k px x 4 bytes per batch (100 MB at 64).
MAX_CHANNELS = 64
#: Bounds of ``min_confidence`` (a probability mass; above 1 the network is never used).
_CONFIDENCE_RANGE = (0.0, 2.0)


def check_centreline_config(cfg: dict, source="centreline.json") -> dict:
    """The saved config of a centre-line network, validated before anything is built.

    Raises
    ------
    ecgpaper.modelfiles.ModelFileError
        Naming ``source`` and the field: an unknown field, ``channels`` outside
        ``[1, MAX_CHANNELS]``, ``oversample`` other than :data:`OVERSAMPLE`, or a
        ``min_confidence`` that is not a number in ``[0, 2]``.
    """
    known = {"channels", "oversample", "min_confidence"}
    unknown = sorted(set(cfg) - known)
    if unknown:
        raise ModelFileError(f"{source}: unknown field(s) {unknown}; valid: {sorted(known)}")
    out = {"channels": 16, "oversample": OVERSAMPLE, "min_confidence": 0.5}
    out.update(cfg)
    out["channels"] = check_number(source, "channels", out["channels"], 1, MAX_CHANNELS,
                                   integer=True)
    out["oversample"] = check_number(source, "oversample", out["oversample"], OVERSAMPLE,
                                     OVERSAMPLE, integer=True)
    out["min_confidence"] = check_number(source, "min_confidence", out["min_confidence"],
                                         *_CONFIDENCE_RANGE)
    return out


def load_centreline(folder: str | Path) -> CentreLineModel | None:
    """Load the centre-line model of ``folder``; None when there is none.

    Both files are checked before the network is built: the config by
    :func:`check_centreline_config`, the weights for the names, shapes and finite float values
    of the network that the config describes.

    Raises
    ------
    ecgpaper.modelfiles.ModelFileError
        When either file is corrupt or does not describe this code's network (the message
        names the file and the field or array).
    """
    folder = Path(folder)
    w, c = folder / "centreline.npz", folder / "centreline.json"
    if not (w.is_file() and c.is_file()):
        return None
    cfg = check_centreline_config(read_json(c), c)
    state = read_npz(w)
    expected = {k: tuple(v.shape)
                for k, v in _build_net(cfg["channels"], cfg["oversample"]).state_dict().items()}
    missing, extra = sorted(set(expected) - set(state)), sorted(set(state) - set(expected))
    if missing or extra:
        raise ModelFileError(f"{w}: arrays do not match the network of {c.name} "
                             f"(missing {missing}, unexpected {extra})")
    for k, shape in expected.items():
        a = state[k]
        if tuple(a.shape) != shape or a.dtype.kind != "f":
            raise ModelFileError(f"{w}: array {k!r} is {a.dtype} {a.shape}, expected float "
                                 f"{shape} (channels {cfg['channels']} in {c.name})")
        if not np.isfinite(a).all():
            raise ModelFileError(f"{w}: array {k!r} has values that are not finite")
    state = {k: np.asarray(v, np.float32) for k, v in state.items()}
    return CentreLineModel(cfg, state)
