"""Public entry points: train, load and run the digitizer.

``model_dir/digitizer/config.json`` holds the resolved parameters of the classical pipeline;
when training kept a centre-line network, ``centreline.npz`` (weights) and ``centreline.json``
(its config) lie beside it.  Nothing is pickled.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ecgcore.constants import DIGITAL_MAX, DEFAULT_ADC_GAIN, LAYOUT_GRIDS, canonical_lead_name
from ecgcore.wfdbio import atomic_write_bytes
from ecgpaper.modelfiles import ModelFileError, check_choice, check_number, read_json
from ecgpaper.scoring import snr_per_lead

from .cnn import load_centreline, save_centreline
from .load import confined_path, read_image
from .pipeline import DEFAULT_PARAMS, ImageReadout, combine_readouts, digitize_image
from .resample import FILL_METHODS, detect_beats, fill_template
from .trace import READOUT_METHODS

__all__ = ["Digitizer", "train_digitizer", "load_digitizer", "digitize_images", "assemble_leads",
           "check_params", "SUBDIR"]

log = logging.getLogger(__name__)

#: Sub-folder of ``model_dir`` owned by the digitizer.
SUBDIR = "digitizer"
_CONFIG = "config.json"
_FORMAT_VERSION = 1


@dataclass
class Digitizer:
    """A loaded digitizer: the classical pipeline's parameters, the learned read-out (plus
    provenance).

    Attributes
    ----------
    params : dict
        Overrides of :data:`ecgpaper.digitize.pipeline.DEFAULT_PARAMS`.
    meta : dict
        What training measured (records, scores per candidate, seconds).
    centreline : ecgpaper.digitize.cnn.CentreLineModel or None
        The centre-line network, when training kept one.
    """

    params: dict = field(default_factory=dict)
    meta: dict = field(default_factory=dict)
    centreline: object | None = None


#: Values searched by :func:`train_digitizer`, one parameter at a time.
DEFAULT_CANDIDATES: dict = {"morph_h_ratio": [1.0, 1.05, 1.1],
                            "morph_h_ratio_blurred": [0.9, 0.95, 1.0],
                            "fall_lag_samples": [1.5, 0.0]}
_BRUSH_PARAMS = ("morph_h_ratio", "morph_h_ratio_blurred")


def _render_pairs(records: list[str], rng: np.random.Generator, n_images: int,
                  levels: tuple[str, ...]):
    """Yield (image, masked reference, header, annotation) for rendered training records.

    Records are taken in a random order, again and again (with new render seeds) when there
    are fewer records than images.  A record that cannot be read or rendered is logged once
    and skipped from then on, so one broken training record does not stop training.
    """
    from ecg_image_kit import render
    from ecg_image_kit.render import masked_signal

    from ecgcore.wfdbio import read_signal

    if not records:
        return
    order = rng.permutation(len(records))
    broken: set[str] = set()
    made = 0
    for k in range(n_images + len(records)):
        if made >= n_images or len(broken) == len(records):
            break
        rec = records[int(order[k % len(records)])]
        if rec in broken:
            continue
        level = levels[made % len(levels)]
        seed = int(rng.integers(2**31 - 1))
        try:
            sig, hdr = read_signal(rec)
            res = render(sig, hdr.fs_hz, hdr.lead_names, config=level, seed=seed)
            ref = masked_signal(sig, res.annotation, hdr.lead_names)
        except (OSError, ValueError) as exc:
            log.warning("digitizer training: skipping %s: %s", rec, exc)
            broken.add(rec)
            continue
        made += 1
        yield res.image, ref, hdr, res.annotation


def foreign_annotation(meta: dict, image: np.ndarray, max_offset_px: int = 12
                       ) -> dict | None:
    """An ``ecg_image_kit``-style annotation from the official generator's JSON, or None.

    ECG-Image-Kit writes per lead ``lead_name``, ``start_sample``, ``end_sample`` and
    ``plotted_pixels`` (``[y, x]`` per plotted sample) in continuous image coordinates, where
    pixel ``k`` spans ``[k, k + 1)`` and its centre lies at ``k + 0.5`` (measured on its pages:
    the ink's centre row lies 0.5 px above the point); this project's annotations give pixel
    indices (pixel ``k``'s centre at ``k``), so the points are moved by half a pixel up and
    left.  On its rotated or cropped pages those
    points miss the trace by tens of pixels, so the annotation is used only when the points
    lie on the strokes: the page's darkness averaged over all points, shifted up or down by
    0 to ``max_offset_px``, must be (within 10 %) at its peak with no shift, and the peak must
    stand clearly (a fifth of the strokes' darkness) above its median over the shifts.  Grid
    lines, periodic and everywhere, average out; the trace does not.  The baseline of each lead (used to match
    rows) is the median row of its points.

    Examples
    --------
    >>> img = np.full((60, 80, 3), 255, np.uint8); img[30, 5:75] = 0
    >>> meta = {"leads": [{"lead_name": "II", "start_sample": 0, "end_sample": 70,
    ...                    "plotted_pixels": [[30.5, 5.5 + k] for k in range(70)]}]}
    >>> ann = foreign_annotation(meta, img)
    >>> ann["leads"][0]["name"], len(ann["leads"][0]["x_px"]), ann["leads"][0]["y_px"][0]
    ('II', 70, 30.0)
    >>> meta["leads"][0]["plotted_pixels"] = [[45.5, 5.5 + k] for k in range(70)]
    >>> foreign_annotation(meta, img) is None
    True
    """
    import cv2

    leads_in = meta.get("leads")
    if not isinstance(leads_in, list) or not leads_in:
        return None
    arr = np.asarray(image, np.float32)
    dark = 255.0 - (arr.min(axis=2) if arr.ndim == 3 else arr)
    peak = cv2.dilate(dark, np.ones((3, 3), np.uint8))   # the darkest pixel within 1 px
    h, w = peak.shape
    leads, ys, xs = [], [], []
    for lead in leads_in:
        try:
            pts = np.asarray(lead["plotted_pixels"], float).reshape(-1, 2) - 0.5
            name = canonical_lead_name(str(lead["lead_name"]))
            a, z = int(lead["start_sample"]), int(lead["end_sample"])
        except (KeyError, TypeError, ValueError):
            return None
        if pts.shape[0] != z - a or pts.shape[0] < 2:
            return None
        ys.append(np.round(pts[:, 0]).astype(int))
        xs.append(np.clip(np.round(pts[:, 1]).astype(int), 0, w - 1))
        y_med = float(np.median(pts[:, 0]))
        leads.append({"name": name, "start_sample": a, "end_sample": z,
                      "x_px": pts[:, 1].tolist(), "y_px": pts[:, 0].tolist(),
                      "baseline_px": [[float(pts[0, 1]), y_med], [float(pts[-1, 1]), y_med]]})
    yi, xi = np.concatenate(ys), np.concatenate(xs)
    shifts = np.arange(-max_offset_px, max_offset_px + 1)
    prof = np.array([float(np.mean(peak[np.clip(yi + k, 0, h - 1), xi])) for k in shifts])
    level = float(np.percentile(dark, 99.5))
    at0, med = float(prof[max_offset_px]), float(np.median(prof))
    if at0 - med < 0.9 * (prof.max() - med) or prof.max() - med < 0.2 * level:
        return None
    return {"generator": "ECG-Image-Kit", "leads": leads}


def _annotated_pages(records: list[str], max_pages: int, with_reference: bool = False):
    """Yield (image, annotation, header[, masked reference]) for the training records' own
    annotated images.

    An image of a record (``# Image:`` line of its header) counts when a JSON file of the
    same name lies beside it, written by this project's ``ecg_image_kit`` (per-sample pixel
    positions of every lead) or by the official generator (ECG-Image-Kit, whose points are
    checked against the ink: :func:`foreign_annotation`).  With ``with_reference`` the masked
    reference (the record's signal, NaN outside the printed samples) comes too, for
    validation.  Unreadable headers, signals, images or annotations are logged and skipped.
    """
    from ecg_image_kit.render import masked_signal

    from ecgcore.wfdbio import HeaderError, read_header, read_signal

    made = 0
    for rec in records:
        if made >= max_pages:
            return
        try:
            hdr = read_header(rec)
        except HeaderError as exc:
            log.warning("digitizer training: %s", exc)
            continue
        for name in hdr.image_files:
            try:
                path = confined_path(Path(rec).parent, name)
            except ValueError as exc:
                log.warning("digitizer training: record %s: %s", rec, exc)
                continue
            ann_path = path.with_suffix(".json")
            if made >= max_pages or not (path.is_file() and ann_path.is_file()):
                continue
            try:
                ann = json.loads(ann_path.read_text(encoding="utf-8"))
                if not isinstance(ann, dict):
                    continue
                image = read_image(path)
                if ann.get("generator") != "ecg_image_kit":
                    ann = foreign_annotation(ann, image)
                if ann is None or "leads" not in ann:
                    continue
                ref = None
                if with_reference:
                    sig, hdr = read_signal(rec)
                    ref = masked_signal(sig, ann, hdr.lead_names)
            except (OSError, ValueError, KeyError, TypeError) as exc:
                log.warning("digitizer training: skipping image %s: %s", path, exc)
                continue
            made += 1
            yield (image, ann, hdr, ref) if with_reference else (image, ann, hdr)


def _readout_snr(leads: dict[str, np.ndarray], ref: np.ndarray, hdr) -> list[float]:
    """Challenge SNR of every lead of one page's read-out against its masked reference."""
    est = np.stack([leads.get(canonical_lead_name(n), np.full(hdr.num_samples, np.nan))
                    for n in hdr.lead_names], axis=1)
    return snr_per_lead(ref, est, hdr.fs_hz).tolist()


def _page_snr(image, ref, hdr, params: dict, centreline=None) -> list[float]:
    """Digitize one page and score its leads (:func:`_readout_snr`)."""
    ro = digitize_image(image, hdr.fs_hz, hdr.num_samples, params, centreline=centreline)
    return _readout_snr(ro.leads, ref, hdr)


#: Optimiser steps of the centre-line network's fit (the fit is defined by steps, not time).
CNN_STEPS = 14000
#: Wall-clock cap of the fit in seconds (a safety stop for very slow machines only).
CNN_CAP_S = 3600.0


def train_threads() -> int:
    """Torch threads for training: the CPUs this process may use (at most 8), whatever the
    load, so that a busy machine runs the same computation more slowly."""
    import os

    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        n = os.cpu_count() or 1
    return max(1, min(8, n))


def train_digitizer(records: list[str], model_dir: str | Path, verbose: bool = False,
                    seed: int = 0, time_budget_s: float | None = None,
                    n_images: int = 24, candidates: dict | None = None,
                    cnn_budget_s: float | None = None, cnn_pages: int = 90,
                    cnn_steps: int | None = None) -> None:
    """Fit the digitizer on rendered training records and write its folder.

    1. **Classical parameters.**  The aspect of the brush model of the ``"morph"`` read-out
       on crisp strokes (``morph_h_ratio``) and on blurred ones (``morph_h_ratio_blurred``;
       blur widens the measured stroke) depends on the plotting style.  Training renders
       ``n_images`` pages of training records with ``ecg_image_kit`` (clean, styles, moderate,
       heavy, moderate-styles and heavy-styles presets in turn, random seeds; the training
       folder's own annotated images first, up to half of them), digitizes them with each
       candidate value and
       keeps the one with the best mean Challenge SNR against the masked reference, on the
       pages where that parameter applies (crisp or blurred, as the pipeline decides).
       Likewise the time origin of pulses whose fall runs into the signal
       (``fall_lag_samples``: where the first sample lies within the fall is the printer's
       convention, which the page alone cannot tell).
    2. **Centre-line network** (:mod:`ecgpaper.digitize.cnn`).  ``cnn_pages`` further pages
       give tiles with exact targets from their annotations: up to half of them are the
       training records' own images when they come with an annotation (``<image>.json``
       beside the image, from ``ecg_image_kit`` or from the official generator where its
       points lie on ink: :func:`foreign_annotation`), the rest are rendered (other seeds);
       the network is fitted for ``cnn_steps`` optimiser steps (the learning-rate schedule
       follows the steps,
       so the same data and seed give the same network on a quiet or a busy machine; the
       wall-clock cap only stops a fit that a slow machine would never finish, with a
       warning), then the pages of step 1 are digitized with and without it, and it is kept
       only when it raises their mean SNR (both figures go into ``config.json``).

    Parameters
    ----------
    records : list of str
        WFDB record paths without extension.
    model_dir : str or Path
        Output folder; the digitizer writes ``model_dir/digitizer/``.
    verbose : bool
        Log progress at INFO level.
    seed : int
        Seed of record order, render seeds and network initialisation.
    time_budget_s : float or None
        Wall-clock cap: 30 % for step 1 (at least one image is used when any record is
        given), the rest for step 2.  It is checked page by page (and step by step in the
        network fit), so a run overshoots it by about one page's processing; a parameter whose
        values the search had no time to score all keeps its default (as do the parameters
        after it), and the network is skipped when too little time is left for it (``meta``
        says what was cut).  None = no cap (the result then depends on the data and
        the seed only); an ample cap that is never reached gives the same result as None.
    n_images : int
        Images rendered for the parameter search (and the network's validation).
    candidates : dict or None
        Parameter name -> list of values searched one at a time; default
        :data:`DEFAULT_CANDIDATES`.
    cnn_budget_s : float or None
        Wall-clock cap of the network fit; None = :data:`CNN_CAP_S`, or what ``time_budget_s``
        leaves after preparing the tiles.  0 = no network.
    cnn_pages : int
        Pages rendered for the network's training tiles.
    cnn_steps : int or None
        Optimiser steps of the network fit; None = :data:`CNN_STEPS`.
    """
    t_start = time.perf_counter()
    rng = np.random.default_rng(seed)
    records = sorted(str(r) for r in records)
    cands = candidates or DEFAULT_CANDIDATES
    for name in cands:
        if name not in DEFAULT_PARAMS:
            raise ValueError(f"unknown parameter {name!r}; valid: {sorted(DEFAULT_PARAMS)}")
    search_budget = None if time_budget_s is None else 0.3 * time_budget_s
    params: dict = {}
    scores: dict = {}
    data = []
    levels = ("clean", "styles", "moderate", "heavy", "moderate-styles", "heavy-styles")
    # the budget is a cap checked page by page: a run overshoots it by one page at most
    search_end = None if search_budget is None else t_start + search_budget

    def collect_over() -> bool:
        return search_budget is not None and time.perf_counter() - t_start > 0.25 * search_budget

    if records:
        # the training folder's own annotated images (as a Challenge folder brings them) are
        # validation pages first, then rendered pages fill up
        for image, _, hdr, ref in _annotated_pages(records, n_images // 2, with_reference=True):
            data.append((image, ref, hdr))
            if collect_over():
                break
        if not (data and collect_over()):
            for image, ref, hdr, _ in _render_pairs(records, rng, n_images - len(data), levels):
                data.append((image, ref, hdr))
                if collect_over():
                    break
    used: dict[int, str] = {}  # page -> the brush parameter the pipeline used on it
    page_times: list[float] = []  # seconds per page digitization, to size the validation
    stopped = None  # "name=value" whose evaluation the budget cut short
    for name, values in cands.items():
        per_value = {}
        for v in values:
            trial = dict(params)
            trial[name] = v
            vals = []
            for k, (image, ref, hdr) in enumerate(data):
                if name in _BRUSH_PARAMS and used.get(k, name) != name:
                    continue  # the other brush parameter applies to this page
                if search_end is not None and time.perf_counter() > search_end:
                    stopped = f"{name}={v}"
                    break
                t_page = time.perf_counter()
                try:
                    ro = digitize_image(image, hdr.fs_hz, hdr.num_samples, trial)
                except Exception as exc:  # noqa: BLE001 -- one page: log, score nothing, go on
                    log.warning("digitizer training: page %d failed with %s=%s: %r", k, name, v, exc)
                    continue
                page_times.append(time.perf_counter() - t_page)
                used[k] = ro.info.get("h_ratio_param", name)
                if name in _BRUSH_PARAMS and used[k] != name:
                    continue
                vals.extend(_readout_snr(ro.leads, ref, hdr))
            if stopped:
                break  # a value scored on part of the pages is not compared with the others
            per_value[str(v)] = float(np.nanmean(vals)) if vals else float("nan")
            if verbose:
                log.info("digitizer training: %s=%s -> %.2f dB", name, v, per_value[str(v)])
        finite = {k: s for k, s in per_value.items() if np.isfinite(s)}
        if finite and not stopped:  # a search cut short keeps the default
            best = max(finite, key=finite.get)
            params[name] = type(values[0])(float(best)) if not isinstance(values[0], str) else best
        if per_value:
            scores[name] = per_value
        if stopped:
            log.warning("digitizer training: the parameter search stopped at its time budget "
                        "(%.1f s) while scoring %s; this parameter and those not searched keep "
                        "their defaults", search_budget, stopped)
            break
    out = Path(model_dir) / SUBDIR
    out.mkdir(parents=True, exist_ok=True)
    meta = {"n_records": len(records), "n_images": len(data), "seed": seed, "scores_db": scores}
    if stopped:
        meta["search_stopped_at"] = stopped
    kept = False
    if records and data and (cnn_budget_s is None or cnn_budget_s > 0):
        page_s = float(np.mean(page_times)) if page_times else 1.0
        meta["centreline"], model = _train_centreline_step(
            records, rng, params, data, t_start, time_budget_s, cnn_budget_s, cnn_pages,
            levels, seed, verbose, CNN_STEPS if cnn_steps is None else int(cnn_steps), page_s)
        kept = model is not None
        if kept:
            save_centreline(model, out)
    if not kept:
        for name in ("centreline.npz", "centreline.json"):
            (out / name).unlink(missing_ok=True)
    meta["train_s"] = round(time.perf_counter() - t_start, 2)
    cfg = {"format_version": _FORMAT_VERSION,
           "kind": "classical+centreline" if kept else "classical",
           "params": params, "centreline": kept, "meta": meta}
    atomic_write_bytes(out / _CONFIG, json.dumps(cfg, indent=2, sort_keys=True).encode("utf-8"))
    if verbose:
        log.info("digitizer config written to %s: %s (centre-line network %s)", out / _CONFIG,
                 params, "kept" if kept else "not kept")


def _train_centreline_step(records: list[str], rng: np.random.Generator, params: dict,
                           data: list, t_start: float, time_budget_s: float | None,
                           cnn_budget_s: float | None, cnn_pages: int, levels: tuple[str, ...],
                           seed: int, verbose: bool, steps: int, page_s: float = 1.0
                           ) -> tuple[dict, object | None]:
    """Step 2 of :func:`train_digitizer`: fit, validate, and return (meta, model or None).

    With ``time_budget_s``, the validation's time is set aside before the fit: per page of
    step 1, three times ``page_s`` (the mean seconds of one classical digitization in step
    1; the network adds about half a classical digitization, per the per-stage table of
    ``docs/benchmarks.md``, so a validation page costs about 2.5 of them), at least 1 s.
    The budget is checked page by page in the tile preparation and the validation (whose
    verdict then rests on the pages it read), and step by step in the fit, which stops with
    a warning.
    """

    def remaining() -> float:
        return np.inf if time_budget_s is None else time_budget_s - (time.perf_counter() - t_start)

    # keep time for the validation: two digitizations (one with the network) per page of step 1
    reserve_s = max(1.0, 3.0 * page_s) * len(data)
    if remaining() - reserve_s <= 1.0:  # too little for the fit (checked again after the tiles)
        return {"skipped": "no time left", "pages": 0}, None

    import torch

    from .cnn import CentreLineModel, collect_tiles, fit_tiles

    t_prep = time.perf_counter()
    n_own = 0

    def pages():  # streamed: one page image in memory at a time
        nonlocal n_own
        for page in _annotated_pages(records, cnn_pages // 2):
            n_own += 1
            yield page
        for image, _, hdr, ann in _render_pairs(records, rng, cnn_pages - n_own, levels):
            yield image, ann, hdr

    # with a budget, tile preparation takes at most a fifth of what is left
    tiles, targets, n_pages = collect_tiles(
        pages(), params, None if time_budget_s is None else 0.2 * remaining())
    prep_s = time.perf_counter() - t_prep
    fit_s = CNN_CAP_S if cnn_budget_s is None else float(cnn_budget_s)
    if time_budget_s is not None:
        fit_s = min(fit_s, remaining() - reserve_s)
    if fit_s <= 1.0 or not tiles:
        return {"skipped": "no time left" if tiles else "no tiles", "pages": n_pages}, None
    threads = train_threads()
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    model = CentreLineModel()
    meta = {"pages": n_pages, "annotated_pages": n_own, "tiles": len(tiles),
            "prep_s": round(prep_s, 1), "torch_threads": threads, "steps_asked": steps}
    meta.update(fit_tiles(model, tiles, targets, rng, fit_s, max_steps=steps))
    meta["steps_per_s"] = round(meta["steps"] / max(meta["seconds"], 1e-9), 2)
    if meta["steps"] == 0:  # the cap ran out before the first step: nothing to validate
        log.warning("digitizer training: no time left for a network step (cap %.1f s)", fit_s)
        return {**meta, "skipped": "no time left"}, None
    if meta["steps"] < steps:
        log.warning("digitizer training: the network fit stopped at its wall-clock cap "
                    "(%.1f s) after %d of %d steps; the model depends on this machine's speed",
                    fit_s, meta["steps"], steps)
    elif verbose:
        log.info("digitizer training: %d network steps in %.0f s (%.1f steps/s, %d threads)",
                 meta["steps"], meta["seconds"], meta["steps_per_s"], threads)
    del tiles, targets
    base, with_cnn = [], []
    for k, (image, ref, hdr) in enumerate(data):
        if remaining() <= 0:
            log.warning("digitizer training: the validation stopped at the time budget after "
                        "%d of %d pages", k, len(data))
            meta["validation_stopped_at_page"] = k
            break
        try:
            a = _page_snr(image, ref, hdr, params)
            b = _page_snr(image, ref, hdr, params, centreline=model)
        except Exception as exc:  # noqa: BLE001 -- one page: log and go on
            log.warning("digitizer training: validation page %d failed: %r", k, exc)
            continue
        base += a
        with_cnn += b
    meta["validation_db"] = {"classical": float(np.nanmean(base)) if base else None,
                             "centreline": float(np.nanmean(with_cnn)) if with_cnn else None}
    keep = bool(base) and np.nanmean(with_cnn) > np.nanmean(base)
    if verbose:
        log.info("digitizer training: centre-line network %s (%s)",
                 "kept" if keep else "not kept", meta)
    return meta, model if keep else None


#: Parameters that may be None (their defaults are None, or None switches the step off).
_NONE_PARAMS = ("ink_threshold", "track_entry_cost", "layout")
#: Parameters that are shares or ink levels, in ``[0, 1]``.
_UNIT_PARAMS = ("blurred_below", "ink_threshold", "ink_threshold_min", "ink_threshold_max",
                "min_coverage", "max_blob_share", "fine_min_crispness")


def check_params(params, source="config.json") -> dict:
    """Validate digitizer parameters (overrides of ``DEFAULT_PARAMS``) as a model loads.

    Each value must have its default's kind: a bool for a bool, one of
    ``READOUT_METHODS`` for ``readout``, a layout name or None for ``layout``, a finite
    number at least 0 otherwise (an integer where the default is one, at most 1 for the
    shares in ``_UNIT_PARAMS``, None where ``_NONE_PARAMS`` allows it).

    Raises
    ------
    ecgpaper.modelfiles.ModelFileError
        Naming ``source`` and the parameter.

    Examples
    --------
    >>> check_params({"min_coverage": 0.5})
    {'min_coverage': 0.5}
    >>> check_params({"min_coverage": "lots"})
    Traceback (most recent call last):
    ...
    ecgpaper.modelfiles.ModelFileError: config.json: field 'params.min_coverage' is 'lots', not a finite number
    """
    if not isinstance(params, dict):
        raise ModelFileError(f"{source}: field 'params' is {type(params).__name__}, "
                             f"not an object")
    unknown = sorted(set(params) - set(DEFAULT_PARAMS))
    if unknown:
        raise ModelFileError(f"{source}: unknown digitizer parameter(s) {unknown} in "
                             f"field 'params'")
    for name, value in params.items():
        default, where = DEFAULT_PARAMS[name], f"params.{name}"
        if value is None and name in _NONE_PARAMS:
            continue
        if name == "readout":
            check_choice(source, where, value, READOUT_METHODS)
        elif name == "layout":
            check_choice(source, where, value, list(LAYOUT_GRIDS))
        elif isinstance(default, bool):
            if not isinstance(value, bool):
                raise ModelFileError(f"{source}: field {where!r} is {value!r}, not true/false")
        else:
            check_number(source, where, value, 0.0, 1.0 if name in _UNIT_PARAMS else None,
                         integer=isinstance(default, int))
    return dict(params)


def load_digitizer(model_dir: str | Path) -> Digitizer | None:
    """Load the digitizer of ``model_dir``; None when it has none.

    Every file is validated here, once, and not on every record: the parameters by
    :func:`check_params`, the centre-line network by
    :func:`ecgpaper.digitize.cnn.load_centreline`.

    Raises
    ------
    ecgpaper.modelfiles.ModelFileError
        When a file is corrupt or holds an invalid value (the message names the file and
        the field).

    Examples
    --------
    >>> load_digitizer("/nonexistent-folder") is None
    True
    """
    path = Path(model_dir) / SUBDIR / _CONFIG
    if not path.is_file():
        return None
    cfg = read_json(path)
    if "format_version" in cfg:
        check_number(path, "format_version", cfg["format_version"], _FORMAT_VERSION,
                     _FORMAT_VERSION, integer=True)
    params = check_params(cfg.get("params", {}), path)
    if not isinstance(cfg.get("meta", {}), dict):
        raise ModelFileError(f"{path}: field 'meta' is not an object")
    centreline = None
    if cfg.get("centreline"):
        centreline = load_centreline(path.parent)
        if centreline is None:
            raise FileNotFoundError(f"{path} names a centre-line network, but "
                                    f"{path.parent / 'centreline.npz'} or its .json is missing")
    return Digitizer(params=params, meta=dict(cfg.get("meta", {})), centreline=centreline)


def digitize_images(images: list[np.ndarray], header, digitizer: Digitizer | None = None,
                    fill: str = "nan", verbose: bool = False,
                    names: list[str] | None = None, pages: list | None = None) -> np.ndarray:
    """Digitize the images of one record into the header's signal.

    Parameters
    ----------
    images : list of numpy.ndarray
        ``(H, W, 3)`` uint8 RGB pages of the record (grey/RGBA accepted).
    header : ecgcore.wfdbio.Header
        Target: ``fs_hz``, ``num_samples``, ``num_signals``, ``lead_names`` (any case).
    digitizer : Digitizer or None
        Trained parameters; None = the classical defaults.
    fill : {"nan", "template"}
        Unprinted samples: NaN, or estimated from the beat timing of the longest read-out
        (the rhythm strip) and each lead's own median beat.
    verbose : bool
        Log per-image diagnostics.
    names : list of str, optional
        The images' file names, for the log (an image that fails is named and skipped).
    pages : list, optional
        When given, ``(name, image, ImageReadout)`` is appended for every image, read with
        ``keep_maps`` (a failed image gets a readout without leads whose ``info["error"]``
        says why): what :mod:`ecgpaper.report` draws.

    Returns
    -------
    numpy.ndarray
        ``(header.num_samples, header.num_signals)`` float64 mV, NaN where not digitized,
        never inf.  A lead that was not found or failed on every image is all NaN (warning).
    """
    if fill not in FILL_METHODS:
        raise ValueError(f"unknown fill {fill!r}; valid: {list(FILL_METHODS)}")
    fs = float(header.fs_hz)
    if header.num_samples is None:
        log.warning("record %s: header has no sample count; assuming 10 s",
                    getattr(header, "record_name", "?"))
    n = int(header.num_samples) if header.num_samples is not None else int(round(10.0 * fs))
    params = dict(digitizer.params) if digitizer is not None else {}
    centreline = digitizer.centreline if digitizer is not None else None
    import cv2

    found: dict[str, list[np.ndarray]] = {}
    for k, image in enumerate(images):
        page = names[k] if names is not None and k < len(names) else f"image {k}"
        try:
            ro = digitize_image(image, fs, n, params, centreline=centreline,
                                keep_maps=pages is not None)
        except (ValueError, IndexError, ArithmeticError, np.linalg.LinAlgError, cv2.error,
                MemoryError) as exc:
            # each page is its own boundary: the other pages of the record still count
            log.warning("record %s, %s: digitization failed: %r",
                        getattr(header, "record_name", "?"), page, exc)
            if pages is not None:
                pages.append((page, image, ImageReadout({}, {"error": repr(exc)})))
            continue
        if pages is not None:
            pages.append((page, image, ro))
        if verbose:
            info = ro.info
            log.info("record %s, %s: layout %s, %d leads read, failed %s, rotation %.2f deg, "
                     "%.2f s", getattr(header, "record_name", "?"), page, info.get("layout"),
                     len(ro.leads), ",".join(info.get("failed_leads", [])) or "none",
                     info.get("rotation_deg", 0.0), info.get("total_s", 0.0))
            log.debug("record %s, %s: %s", getattr(header, "record_name", "?"), page,
                      {a: b for a, b in info.items() if a != "rows_px"})
        for lead, sig in ro.leads.items():
            found.setdefault(lead, []).append(sig)
    return assemble_leads(found, header, fill, n)


def assemble_leads(found: dict[str, list[np.ndarray]], header, fill: str = "nan",
                   num_samples: int | None = None) -> np.ndarray:
    """Arrange per-lead read-outs in the header's order and apply the fill option.

    Parameters
    ----------
    found : dict
        Canonical lead name -> list of ``(n,)`` read-outs (several images or panels).
    header : ecgcore.wfdbio.Header
    fill : {"nan", "template"}
    num_samples : int or None
        Output length; the header's when None.

    Returns
    -------
    numpy.ndarray
        ``(n, header.num_signals)`` float64 mV, NaN where unknown, clipped to the format-16
        range.
    """
    if fill not in FILL_METHODS:
        raise ValueError(f"unknown fill {fill!r}; valid: {list(FILL_METHODS)}")
    fs = float(header.fs_hz)
    n = int(num_samples if num_samples is not None else header.num_samples)
    m = int(header.num_signals)
    out = np.full((n, m), np.nan)
    for j, name in enumerate(header.lead_names[:m]):
        segs = found.get(canonical_lead_name(name))
        if not segs:
            log.warning("record %s: lead %s not digitized; left NaN",
                        getattr(header, "record_name", "?"), name)
            continue
        out[:, j] = combine_readouts(segs)
    if fill == "template" and np.isfinite(out).any():
        cover = np.isfinite(out).sum(axis=0)
        j_best = int(np.argmax(cover))
        if cover[j_best] >= 0.9 * n:
            beats = detect_beats(out[:, j_best], fs)
            out = fill_template(out, fs, beats)
    lim = DIGITAL_MAX / DEFAULT_ADC_GAIN
    out[~np.isfinite(out)] = np.nan
    return np.clip(out, -lim, lim)
