"""CLI of ecg_image_kit: Challenge-style output folder, resumability, shards, determinism."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ecg_image_kit import render_record
from ecg_image_kit.cli import find_records, image_seed, main, yolo_lines
from ecgcore.constants import LEADS_12
from ecgcore.wfdbio import read_header, read_signal, write_record


def _records(root: Path) -> None:
    rng = np.random.default_rng(0)
    for rel, fs in (("a/r1", 500), ("a/r2", 500), ("r3", 250)):
        n = int(10 * fs)
        tt = np.arange(n) / fs
        beat = np.exp(-(((tt % 0.9) - 0.3) / 0.015) ** 2)
        sig = np.stack([beat * (0.5 + 0.1 * k) + 0.02 * rng.standard_normal(n) for k in range(12)], 1)
        names = [x.upper() for x in LEADS_12]  # PTB-XL spelling: AVR, AVL, AVF
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        write_record(root / rel, sig, fs, names, ["Age: 50", "Sex: Male", "Labels: NORM"])


@pytest.fixture()
def tree(tmp_path, monkeypatch):
    src = tmp_path / "in"
    _records(src)
    work = tmp_path / "elsewhere"
    work.mkdir()
    monkeypatch.chdir(work)  # the CLI must not depend on the working directory
    return src, tmp_path


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_cli_challenge_folder_and_resume(tree, capsys):
    src, tmp = tree
    out = tmp / "out"
    args = ["-i", str(src), "-o", str(out), "-n", "2", "--seed", "3", "--masks", "--yolo",
            "--masked-reference", "--quiet", "dpi=100", "layout=3x4+1"]
    assert main(args) == 0
    assert find_records(out) == ["a/r1", "a/r2", "r3"]
    for rel in ("a/r1", "a/r2", "r3"):
        base = rel.split("/")[-1]
        head = read_header(out / rel)
        assert head.image_files == [f"{base}-0.png", f"{base}-1.png"]
        assert head.labels == ["NORM"]
        sig_in, _ = read_signal(src / rel)
        sig_out, _ = read_signal(out / rel)
        assert np.array_equal(sig_in, sig_out)
        for k in (0, 1):
            stem = out / Path(rel).parent / f"{base}-{k}"
            ann = json.loads(Path(f"{stem}.json").read_text())
            assert ann["record"] == rel and ann["seed"] == image_seed(3, rel, k)
            for suffix in (".png", "_mask.png", "_centerline.png", ".txt"):
                assert Path(f"{stem}{suffix}").exists()
            lines = Path(f"{stem}.txt").read_text().split("\n")
            assert len([x for x in lines if x]) == 26  # 13 lead boxes + 13 label boxes
            ref_rec = tmp / "out_masked_reference" / Path(rel).parent / f"{base}-{k}"
            ref, _ = read_signal(ref_rec)
            assert np.isnan(ref).any() and np.isfinite(ref[:, 1]).all()  # lead II: rhythm strip
    before = _files(out)
    capsys.readouterr()
    assert main(args) == 0  # resumable: nothing is redone
    assert "images rendered: 0" in capsys.readouterr().err
    (out / "a" / "r2-1.png").unlink()
    assert main(args) == 0
    assert _files(out) == before  # the missing file is re-made with the same bytes


def test_cli_shards_and_jobs_give_same_bytes(tree):
    src, tmp = tree
    common = ["-i", str(src), "--seed", "7", "--quiet", "--config", "moderate", "dpi=100"]
    assert main(common + ["-o", str(tmp / "full")]) == 0
    for i in range(2):
        assert main(common + ["-o", str(tmp / "sharded"), "--shard", f"{i}/2"]) == 0
    full, sharded = _files(tmp / "full"), _files(tmp / "sharded")
    assert full == sharded
    assert main(common + ["-o", str(tmp / "jobs"), "--jobs", "2"]) == 0
    assert _files(tmp / "jobs") == full


def test_python_m_forked_workers_give_same_bytes(tree):
    """The command users run: ``python -m ecg_image_kit --jobs 2`` forks its workers on Linux."""
    src, tmp = tree
    common = ["-i", str(src), "--seed", "5", "--quiet", "--config", "moderate", "dpi=60"]
    assert main(common + ["-o", str(tmp / "one")]) == 0
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(root)}
    for extra in (["--jobs", "2"], ["--jobs", "2", "--format", "jpg", "--quality", "80"]):
        out = tmp / extra[-1]
        run = subprocess.run([sys.executable, "-m", "ecg_image_kit", *common, "-o", str(out), *extra],
                             cwd=tmp, env=env, capture_output=True, text=True, timeout=120)
        assert run.returncode == 0, run.stderr
    assert _files(tmp / "2") == _files(tmp / "one")
    jpg = _files(tmp / "80")
    assert sorted(jpg) == sorted(k.replace(".png", ".jpg") for k in _files(tmp / "one"))
    assert jpg["a/r1-0.json"] == _files(tmp / "one")["a/r1-0.json"]
    assert read_header(tmp / "80" / "a" / "r1").image_files == ["r1-0.jpg"]


def test_cli_config_file_and_errors(tree, capsys):
    src, tmp = tree
    cfg = tmp / "cfg.json"
    cfg.write_text(json.dumps({"preset": "clean", "layout": "6x2", "dpi": 100}))
    assert main(["-i", str(src), "-o", str(tmp / "o"), "--config", str(cfg), "--quiet"]) == 0
    ann = json.loads((tmp / "o" / "r3-0.json").read_text())
    assert ann["layout"] == "6x2" and ann["fs_hz"] == 250
    assert main(["-i", str(src), "-o", str(tmp / "o2"), "--shard", "2/2", "--quiet"]) == 2
    capsys.readouterr()
    assert main(["-i", str(src), "-o", str(tmp / "o3"), "nonsense=1", "--quiet"]) == 2
    assert "valid keys" in capsys.readouterr().err
    # a broken record fails loudly but does not stop the others
    (src / "r3.dat").unlink()
    capsys.readouterr()
    assert main(["-i", str(src), "-o", str(tmp / "o4"), "--quiet", "dpi=100"]) == 1
    err = capsys.readouterr().err
    assert "FAILED r3" in err and "failed records: 1" in err
    assert (tmp / "o4" / "a" / "r1-0.png").exists()


def test_render_record_and_yolo(tree):
    src, _ = tree
    res = render_record(src / "a" / "r1", config={"dpi": 100}, seed=1)
    assert res.annotation["record"] == "r1"
    assert [x["name"] for x in res.annotation["leads"][:4]] == ["I", "aVR", "V1", "V4"]
    rows = yolo_lines(res.annotation)
    vals = np.array([[float(v) for v in r.split()] for r in rows])
    assert vals.shape == (26, 5) and (vals[:, 1:] >= 0).all() and (vals[:, 1:] <= 1).all()


def test_generator_and_prepare_images_write_the_same_header(tmp_path):
    """One ``# Image:`` rewriter (``ecgcore.wfdbio.with_image_line``): a header with a stale
    lower-case image line and blank lines comes out of the generator byte-identical to what
    ``python -m ecgpaper.prepare images`` makes of the generator's folder."""
    from ecgpaper.prepare.images import add_image_lines

    src = tmp_path / "in"
    _records(src)
    hea = src / "r3.hea"
    lines = hea.read_text().splitlines()
    hea.write_text("\n".join(lines[:2] + ["", "#image: stale.png"] + lines[2:] + ["", ""]))
    out = tmp_path / "out"
    assert main(["-i", str(src), "-o", str(out), "-n", "2", "--seed", "1", "--quiet", "dpi=60"]) == 0
    generated = (out / "r3.hea").read_text()
    assert generated.endswith("\n# Image: r3-0.png, r3-1.png\n")
    assert "stale" not in generated and "\n\n" not in generated
    assert generated.count("Image") == 1 and generated.splitlines()[:2] == lines[:2]
    assert add_image_lines(out, quiet=True) == 3
    assert (out / "r3.hea").read_text() == generated
