"""Command line: render every WFDB record under a folder into a Challenge-style folder.

``python -m ecg_image_kit -i IN -o OUT [--config FILE.json|PRESET] [key=value ...]
[-n N] [--seed S] [--jobs J] [--shard i/n] [--masks] [--yolo] [--masked-reference [DIR]]
[--png-compression L] [--format png|jpg|webp] [--quality Q]``

OUT mirrors IN's sub-folders. Per record and image ``k``: ``<rec>-<k>.png`` (or ``.jpg``,
``.webp``) and
``<rec>-<k>.json``; optionally ``<rec>-<k>_mask.png`` (per-lead trace labels),
``<rec>-<k>_centerline.png`` and ``<rec>-<k>.txt`` (YOLO boxes). The record's
signal files are copied and its header is written with a ``# Image:`` line,
so OUT is a Challenge training folder. The masked references (NaN where a
sample is not drawn) go to a separate tree, ``DIR`` (default ``OUT`` +
``_masked_reference`` beside OUT), as records ``<rec>-<k>``, so they never
appear as extra records inside OUT.

Seeds: image ``k`` of record ``rel`` (its path relative to IN) gets
``SeedSequence([seed, rel, k])``, so outputs do not depend on ``--jobs`` or
``--shard``. Finished outputs are skipped (resumable); files are written
atomically; the header is written last.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
import traceback
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ecgcore.constants import LEADS_12

#: YOLO class ids: 0-11 lead traces (LEADS_12 order), 12-23 lead-name labels.
YOLO_CLASSES: tuple[str, ...] = tuple(LEADS_12) + tuple(f"label_{x}" for x in LEADS_12)
#: zlib level of page PNGs: the fastest on real clean pages (levels 2-3 are 3-7 % smaller, 0-10 % slower;
#: ``benchmarks/bench_image_kit.py --png-levels``), and the bytes of earlier releases.
DEFAULT_PNG_COMPRESSION = 1


def image_seed(seed: int, record: str, k: int) -> int:
    """63-bit seed of image ``k`` of ``record`` (relative path, posix), from a SeedSequence.

    Examples
    --------
    >>> image_seed(0, "a/r1", 0) == image_seed(0, "a/r1", 0) != image_seed(0, "a/r1", 1)
    True
    """
    name = int.from_bytes(record.encode("utf-8"), "little")
    ss = np.random.SeedSequence([int(seed), name, int(k)])
    return int(ss.generate_state(1, np.uint64)[0] >> np.uint64(1))


def find_records(folder: str | os.PathLike) -> list[str]:
    """Sorted record paths (relative, posix, no extension) of every ``.hea`` under ``folder``.

    Hidden files and folders (names starting with ``.``) below ``folder`` are skipped.
    """
    root = Path(folder)
    out = []
    for dirpath, dirnames, files in os.walk(root):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for f in files:
            if f.endswith(".hea") and not f.startswith("."):
                out.append((Path(dirpath) / f[:-4]).relative_to(root).as_posix())
    return sorted(out)


def yolo_lines(annotation: dict[str, Any]) -> list[str]:
    """YOLO rows ``class cx cy w h`` (normalised, clipped) for lead boxes and label boxes."""
    w, h = float(annotation["width_px"]), float(annotation["height_px"])
    rows = []
    for kind, offset in (("bbox", 0), ("label_bbox", 12)):
        for lead in annotation["leads"]:
            box = lead.get(kind)
            if box is None or lead["name"] not in LEADS_12:
                continue
            x0, y0 = max(0.0, box[0]), max(0.0, box[1])
            x1, y1 = min(w, box[2]), min(h, box[3])
            if x1 <= x0 or y1 <= y0:
                continue
            cls = offset + LEADS_12.index(lead["name"])
            rows.append(f"{cls} {(x0 + x1) / 2 / w:.6f} {(y0 + y1) / 2 / h:.6f} "
                        f"{(x1 - x0) / w:.6f} {(y1 - y0) / h:.6f}")
    return rows


def lead_warnings(lead_names: Sequence[str]) -> list[str]:
    """Notes on a record's lead set: leads not drawn, or drawn on a one-row-per-lead page.

    Examples
    --------
    >>> lead_warnings(["I", "II"]), lead_warnings(["II", "ii"])
    ([], ["repeated lead names ['II']: only the first column of each is drawn"])
    """
    from ecg_image_kit.render import own_rows
    from ecgcore.constants import canonical_lead_name

    names = [canonical_lead_name(str(x)) for x in lead_names]
    out = []
    rows = own_rows(names)
    if rows is not None:
        other = [x for x in rows if x not in LEADS_12]
        out.append(f"non-standard leads {other}: every lead drawn as one full-length row "
                   f"(layout {len(rows)}x1) instead of the configured layout")
    repeated = sorted({x for x in names if names.count(x) > 1})
    if repeated:
        out.append(f"repeated lead names {repeated}: only the first column of each is drawn")
    return out


def _lap(cpu_s: dict[str, float], step: str, since: float) -> float:
    """Add the CPU time since ``since`` to ``cpu_s[step]``; return the time now."""
    now = time.process_time()
    cpu_s[step] += now - since
    return now


def process_record(task: dict[str, Any]) -> dict[str, Any]:
    """Render the images of one record and write its outputs (worker function).

    The returned status holds ``cpu_s``: this process's CPU time (s) per step, ``read``
    (record), ``render``, ``encode`` (image, masks, JSON) and ``write`` (files, masked
    reference, record copy), for ``benchmarks/bench_image_kit.py``.
    """
    from ecg_image_kit import encode_png, is_noisy
    from ecg_image_kit.io import dumps_annotation, encode_image
    from ecg_image_kit.render import masked_signal, render
    from ecgcore.wfdbio import atomic_write_bytes, read_signal, with_image_line, write_record

    rel = task["record"]
    src = Path(task["input"]) / rel
    out_rec = Path(task["output"]) / rel
    base = out_rec.name
    out_dir = out_rec.parent
    n = task["n"]
    names = [f"{base}-{k}" for k in range(n)]
    fmt = task["image_format"]
    cpu_s = dict.fromkeys(("read", "render", "encode", "write"), 0.0)
    status = {"record": rel, "rendered": 0, "skipped": 0, "error": None, "warnings": [], "cpu_s": cpu_s}
    try:
        def done(k: int) -> bool:
            need = [out_dir / f"{names[k]}.{fmt}", out_dir / f"{names[k]}.json"]
            if task["masks"]:
                need += [out_dir / f"{names[k]}_mask.png", out_dir / f"{names[k]}_centerline.png"]
            if task["yolo"]:
                need.append(out_dir / f"{names[k]}.txt")
            if task["ref"]:
                need.append(Path(task["ref"]) / Path(rel).parent / f"{names[k]}.hea")
            return all(p.exists() for p in need)

        header_out = out_dir / f"{base}.hea"
        todo = [k for k in range(n) if not done(k)]
        if not todo and header_out.exists():
            status["skipped"] = n
            return status
        t = time.process_time()
        signal, header = read_signal(src)
        t = _lap(cpu_s, "read", t)
        status["warnings"] = lead_warnings(header.lead_names)
        for k in range(n):
            if k not in todo:
                status["skipped"] += 1
                continue
            seed_k = image_seed(task["seed"], rel, k)
            res = render(signal, header.fs_hz, header.lead_names, config=task["config"], seed=seed_k,
                         with_masks=task["masks"], channel_order="BGR")
            res.annotation["record"] = rel
            res.annotation["image_index"] = k
            t = _lap(cpu_s, "render", t)
            files = {f"{names[k]}.{fmt}": encode_image(res.image, fmt, task["png_compression"],
                                                       is_noisy(res.annotation), task["quality"]).data}
            if task["masks"]:
                files[f"{names[k]}_mask.png"] = encode_png(res.trace_mask, 1)
                files[f"{names[k]}_centerline.png"] = encode_png(res.centerline_mask, 1)
            if task["yolo"]:
                text = "\n".join(yolo_lines(res.annotation))
                files[f"{names[k]}.txt"] = (text + "\n" if text else "").encode()
            annotation = dumps_annotation(res.annotation)
            t = _lap(cpu_s, "encode", t)
            for fname, data in files.items():
                atomic_write_bytes(out_dir / fname, data)
            if task["ref"]:
                ref = Path(task["ref"]) / Path(rel).parent / names[k]
                comments = [c for c in header.comments if not c.startswith("Image:")]
                write_record(ref, masked_signal(signal, res.annotation, header.lead_names), header.fs_hz,
                             header.lead_names, comments)
            atomic_write_bytes(out_dir / f"{names[k]}.json", annotation)  # last: the image is complete
            t = _lap(cpu_s, "write", t)
            status["rendered"] += 1
        # the record itself: signal files, then the header with the Image line
        if src.resolve() != out_rec.resolve():
            for fname in dict.fromkeys(header.file_names):
                s, d = src.parent / fname, out_dir / fname
                if s.exists() and not d.exists():
                    out_dir.mkdir(parents=True, exist_ok=True)
                    tmp = d.with_name(f".{d.name}.tmp")
                    shutil.copyfile(s, tmp)
                    os.replace(tmp, d)
        text = Path(str(src) + ".hea").read_text(encoding="utf-8", errors="replace")
        header_text = with_image_line(text, [f"{x}.{fmt}" for x in names])
        atomic_write_bytes(header_out, header_text.encode("utf-8"))
        _lap(cpu_s, "write", t)
    except (OSError, ValueError, RuntimeError, IndexError, KeyError, TypeError):
        status["error"] = traceback.format_exc()
    return status


def worker_start_method() -> str:
    """How ``python -m ecg_image_kit --jobs J`` starts its workers: ``fork`` on Linux, else ``spawn``.

    A forked worker inherits the imported numpy, OpenCV and renderer; a spawned one
    spends about 0.3 s of CPU importing them before its first page (0.4 s of wall
    time in a 2-page run on 2 cores, a tenth of a 66-page run). Forking is safe only
    from a process that has run no OpenCV code (a forked child waits forever on the
    parent's OpenCV thread pool): the command-line process, whose :func:`main`
    starts the pool before any rendering and before the progress bar's thread.
    Library callers of :func:`main` (tests, notebooks) keep ``spawn``.
    """
    return "fork" if sys.platform.startswith("linux") else "spawn"


def _init_worker() -> None:
    """Start a worker: one OpenCV thread, and the rendering modules imported before the first task."""
    import cv2

    import ecg_image_kit.io  # noqa: F401  (imports the renderer too)

    cv2.setNumThreads(1)


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m ecg_image_kit",
                                 description="Render WFDB records as ECG paper images with ground truth.")
    ap.add_argument("-i", "--input", required=True, help="folder of WFDB records (searched recursively)")
    ap.add_argument("-o", "--output", required=True, help="output folder (mirrors the input's sub-folders)")
    ap.add_argument("--config", help="JSON config file or preset name (clean, moderate, heavy)")
    ap.add_argument("overrides", nargs="*", help="config overrides key=value (value parsed as JSON)")
    ap.add_argument("-n", "--num-images", type=int, default=1, help="images per record")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--jobs", type=int, default=1, help="worker processes")
    ap.add_argument("--shard", default="0/1", help="i/n: render only records i, i+n, ... (0-based)")
    ap.add_argument("--masks", action="store_true", help="write trace and centre-line label masks")
    ap.add_argument("--yolo", action="store_true", help="write YOLO boxes of leads and lead names")
    ap.add_argument("--masked-reference", nargs="?", const="", default=None, metavar="DIR",
                    help="write NaN-masked reference records to DIR (default: OUT_masked_reference)")
    ap.add_argument("--png-compression", type=int, default=DEFAULT_PNG_COMPRESSION,
                    help=f"PNG zlib level 0-9 (default {DEFAULT_PNG_COMPRESSION}, the fastest; "
                         "see docs/benchmarks/image_kit.md)")
    ap.add_argument("--format", dest="image_format", choices=("png", "jpg", "webp"), default="png",
                    help="page image format: png (lossless, default), jpg or webp (lossy, --quality); "
                         "masks are always PNG")
    ap.add_argument("--quality", type=int, default=90,
                    help="JPEG/WebP quality 1-100 (WebP above 100: lossless); default 90")
    ap.add_argument("--quiet", action="store_true", help="no progress bar")
    return ap


class InputError(ValueError):
    """A bad command line, config, input or output folder: reported in one line, exit status 2."""


def resolve_config(config_arg: str | None, overrides: Sequence[str]) -> dict[str, Any]:
    """Merge a config file (or preset name) and ``key=value`` overrides into one dict.

    Raises
    ------
    InputError
        Missing or unreadable config file, or an unknown key or invalid value
        (one line naming the file or key).
    """
    from ecg_image_kit.config import PRESETS, RenderConfig, parse_overrides

    data: dict[str, Any] = {}
    where = ""
    if config_arg:
        if config_arg in PRESETS and not Path(config_arg).exists():
            data = {"preset": config_arg}
        else:
            path = Path(config_arg)
            where = f"config file {config_arg}: "
            if not path.is_file():
                raise InputError(f"config file {config_arg} not found (nor a preset name: "
                                 f"{', '.join(sorted(PRESETS))})")
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise InputError(f"{where}cannot read it as JSON ({exc})") from None
            if not isinstance(data, dict):
                raise InputError(f"{where}must hold a JSON object")
    try:
        data.update(parse_overrides(list(overrides)))
        RenderConfig.from_dict(data)  # checks every key and value, once, before any record
    except (ValueError, TypeError) as exc:
        raise InputError(f"{where}{exc}") from None
    return data


def _inside(path: Path, folder: Path) -> bool:
    path, folder = path.resolve(), folder.resolve()
    return path == folder or folder in path.parents


def check_folders(input_dir: str, out: Path, ref: str | None) -> list[str]:
    """All records under ``input_dir``, after checking the input and output folders.

    Raises
    ------
    InputError
        Missing input folder, no records in it, or an output folder (or the
        masked-reference folder) equal to or inside the input folder.
    """
    src = Path(input_dir)
    if not src.exists():
        raise InputError(f"input folder {input_dir} does not exist")
    if not src.is_dir():
        raise InputError(f"input {input_dir} is not a folder")
    for what, folder in (("output folder", out), ("masked-reference folder", ref)):
        if folder is not None and _inside(Path(folder), src):
            raise InputError(f"{what} {folder} is the input folder {input_dir} or inside it "
                             "(its files would be read as input); choose a folder outside the input")
    if out.exists() and not out.is_dir():
        raise InputError(f"output {out} exists and is not a folder")
    records = find_records(src)
    if not records:
        raise InputError(f"no WFDB records (.hea files) under input folder {input_dir}")
    return records


def check_resume(meta_path: Path, meta: dict[str, Any]) -> None:
    """Refuse to resume into a folder made with another config or seed.

    Raises
    ------
    InputError
        ``meta_path`` is unreadable or records another seed or another effective config.
    """
    from ecg_image_kit.config import RenderConfig

    if not meta_path.exists():
        return
    hint = "use a new output folder, or the same --config, overrides and --seed"
    try:
        old = json.loads(meta_path.read_text(encoding="utf-8"))
        old_seed, old_config = old["seed"], RenderConfig.from_dict(old["config"]).to_dict()
    except (OSError, UnicodeDecodeError, ValueError, TypeError, KeyError) as exc:
        raise InputError(f"cannot read {meta_path} ({exc}); {hint}") from None
    if old_seed != meta["seed"]:
        raise InputError(f"{meta_path.parent} was made with --seed {old_seed}, not "
                         f"{meta['seed']} (see {meta_path}); {hint}")
    new_config = RenderConfig.from_dict(meta["config"]).to_dict()
    changed = sorted(k for k in new_config if new_config[k] != old_config[k])
    if changed:
        raise InputError(f"{meta_path.parent} was made with another config (keys {changed} differ; "
                         f"see {meta_path}); {hint}")


def main(argv: Sequence[str] | None = None, start_method: str = "spawn") -> int:
    """Entry point; returns the exit status (1 if any record failed, 2 for bad input).

    Bad command lines, configs and folders are refused with a one-line error
    before anything is written. ``start_method``: how ``--jobs`` starts its workers;
    ``python -m ecg_image_kit`` passes :func:`worker_start_method`, a caller that may
    have run OpenCV code keeps ``spawn``.
    """
    args = build_parser().parse_args(argv)
    try:
        shard_i, shard_n = (int(x) for x in args.shard.split("/"))
        if not 0 <= shard_i < shard_n:
            raise ValueError
    except ValueError:
        print(f"--shard must be i/n with 0 <= i < n, got {args.shard!r}", file=sys.stderr)
        return 2
    out = Path(args.output)
    ref = None
    if args.masked_reference is not None:
        ref = args.masked_reference or str(out.parent / (out.name + "_masked_reference"))
    meta_path = out / "ecg_image_kit_config.json"
    try:
        if args.num_images < 1:
            raise InputError(f"-n/--num-images must be at least 1, got {args.num_images}")
        if not 0 <= args.png_compression <= 9:
            raise InputError(f"--png-compression must be 0-9, got {args.png_compression}")
        if not 1 <= args.quality <= 101:
            raise InputError(f"--quality must be 1-100 (101: lossless WebP), got {args.quality}")
        config = resolve_config(args.config, args.overrides)
        records = check_folders(args.input, out, ref)[shard_i::shard_n]
        meta = {"config": config, "seed": args.seed, "num_images": args.num_images}
        check_resume(meta_path, meta)
    except InputError as exc:
        print("error: " + " ".join(str(exc).split("\n")), file=sys.stderr)
        return 2
    out.mkdir(parents=True, exist_ok=True)
    if not meta_path.exists():
        meta_path.write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
    if args.yolo:
        (out / "yolo_classes.txt").write_text("\n".join(YOLO_CLASSES) + "\n", encoding="utf-8")
    tasks = [dict(record=r, input=args.input, output=str(out), n=args.num_images, seed=args.seed,
                  config=config, masks=args.masks, yolo=args.yolo, ref=ref,
                  png_compression=args.png_compression, image_format=args.image_format,
                  quality=args.quality) for r in records]
    from tqdm import tqdm

    results = []
    if args.jobs <= 1:
        bar = tqdm(total=len(tasks), unit="rec", disable=args.quiet, file=sys.stderr)
        for t in tasks:
            results.append(process_record(t))
            bar.update(1)
    else:
        with ProcessPoolExecutor(max_workers=args.jobs, mp_context=get_context(start_method),
                                 initializer=_init_worker) as ex:
            futures = [ex.submit(process_record, t) for t in tasks]  # starts the workers
            bar = tqdm(total=len(tasks), unit="rec", disable=args.quiet, file=sys.stderr)
            for f in as_completed(futures):
                results.append(f.result())
                bar.update(1)
    bar.close()
    for r in sorted(results, key=lambda r: r["record"]):
        for w in r["warnings"]:
            print(f"warning: record {r['record']}: {w}", file=sys.stderr)
    failed = [r for r in results if r["error"]]
    for r in failed:
        print(f"FAILED {r['record']}:\n{r['error']}", file=sys.stderr)
    print(f"records: {len(results)}, images rendered: {sum(r['rendered'] for r in results)}, "
          f"skipped: {sum(r['skipped'] for r in results)}, failed records: {len(failed)}", file=sys.stderr)
    return 1 if failed else 0
