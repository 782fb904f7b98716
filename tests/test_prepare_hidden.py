"""``# Image:`` lines and hidden test folders (spec §2.1, §2.2)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import wfdb

from ecgcore.constants import LEADS_12
from ecgcore.wfdbio import read_header, write_record
from ecgpaper.prepare import add_image_lines, hidden_header_text, make_hidden
from ecgpaper.prepare.images import find_image_files, sort_image_files

REPO = Path(__file__).resolve().parents[1]


def _training_folder(root: Path) -> Path:
    """Two records (one in a sub-folder) with Challenge training headers and images."""
    x = np.zeros((1000, 12))
    comments = ["Age: 56", "Sex: Female", "Height: Unknown", "Weight: 63", "Labels: NORM, PVC"]
    write_record(root / "r1", x, 100, LEADS_12, comments)
    write_record(root / "sub" / "r2", x, 100, LEADS_12, comments[:2] + ["Labels: "])
    write_record(root / "r3", x, 100, LEADS_12, ["Labels: CD"])
    head = (root / "r1.hea").read_text().splitlines()
    head[0] += " 09:17:34 09/11/1984"
    (root / "r1.hea").write_text("\n".join(head) + "\n#Image: old-0.png\n")
    for name in ("r1-10.png", "r1-2.jpg", "r1-0.png", "sub/r2-0.jpeg", "r1-0.json", "orphan-0.png"):
        (root / name).write_bytes(b"image " + name.encode())
    return root


def test_sort_and_find(tmp_path):
    assert sort_image_files(["a-10.png", "a-9.png", "a-1.5.png"]) == ["a-1.5.png", "a-9.png", "a-10.png"]
    assert sort_image_files(["a-x.png", "a-1.png"]) == ["a-1.png", "a-x.png"]
    root = _training_folder(tmp_path / "d")
    found = find_image_files(root)
    assert found["r1"] == ["r1-0.png", "r1-2.jpg", "r1-10.png"]
    assert found["sub/r2"] == ["r2-0.jpeg"] and "orphan" in found and "r3" not in found


def test_add_image_lines(tmp_path, capsys):
    root = _training_folder(tmp_path / "d")
    assert add_image_lines(root) == 2
    assert "1 image group(s) without a header" in capsys.readouterr().out
    h1 = read_header(root / "r1")
    assert h1.image_files == ["r1-0.png", "r1-2.jpg", "r1-10.png"]
    text = (root / "r1.hea").read_text()
    assert "old-0.png" not in text and text.count("Image:") == 1
    assert text.splitlines()[-1] == "# Image: r1-0.png, r1-2.jpg, r1-10.png"
    assert h1.labels == ["NORM", "PVC"]
    assert read_header(root / "sub" / "r2").image_files == ["r2-0.jpeg"]
    assert (root / "r3.hea").read_text().splitlines()[-1] == "# Image:"
    assert wfdb.rdheader(str(root / "r1")).comments[-1] == "Image: r1-0.png, r1-2.jpg, r1-10.png"
    assert add_image_lines(root, quiet=True) == 2  # idempotent
    assert (root / "r1.hea").read_text() == text
    assert not list(root.rglob("*.tmp"))


def _official_style_fields(text: str) -> dict:
    """Parse a header the way the official helper does: single-space splits, fixed positions."""
    lines = text.split("\n")
    first = lines[0].split(" ")
    n = int(first[1])
    sig = [ln.split(" ") for ln in lines[1:1 + n]]
    images = [v.strip() for ln in lines if ln.startswith("# Image:")
              for v in ln[len("# Image:"):].strip().split(",")]
    return {"fs": float(first[2]), "n": int(first[3]), "names": [s[8] for s in sig],
            "gains": [float(s[2].split("/")[0].split("(")[0]) for s in sig],
            "baselines": [int(s[2].split("(")[1].split(")")[0]) for s in sig],
            "units": [s[2].split("/")[1] for s in sig], "formats": [s[1] for s in sig],
            "images": images}


def test_make_hidden(tmp_path, capsys):
    root = _training_folder(tmp_path / "d")
    add_image_lines(root, quiet=True)
    (root / "broken.hea").write_text("broken 12 500 5000\n")  # declares 12 signals, has none
    out = tmp_path / "hidden"
    assert make_hidden(root, out) == 3
    printed = capsys.readouterr().out
    assert "1 failed" in printed and "FAILED broken" in printed
    text = (out / "r1.hea").read_text()
    lines = text.splitlines()
    assert lines[0] == "r1 12 100 1000"
    assert lines[1] == "r1.dat 16 1000.0(0)/mV 16 0    I"
    assert lines[-1] == "# Image: r1-0.png, r1-2.jpg, r1-10.png" and len(lines) == 14
    for word in ("Age", "Sex", "Labels", "Height", "1984"):
        assert word not in text
    fields = _official_style_fields(text)
    assert fields["names"] == list(LEADS_12) and fields["gains"] == [1000.0] * 12
    assert fields["baselines"] == [0] * 12 and fields["units"] == ["mV"] * 12
    assert fields["fs"] == 100.0 and fields["n"] == 1000 and fields["images"][0] == "r1-0.png"
    h = read_header(out / "r1")
    assert h.lead_names == list(LEADS_12) and h.labels is None and h.num_samples == 1000
    head = wfdb.rdheader(str(out / "r1"))
    assert head.sig_name == list(LEADS_12) and head.sig_len == 1000
    assert sorted(p.name for p in out.rglob("*") if p.is_file()) == sorted(
        ["r1.hea", "r1-0.png", "r1-2.jpg", "r1-10.png", "r2.hea", "r2-0.jpeg", "r3.hea"])
    assert (out / "r1-2.jpg").read_bytes() == b"image r1-2.jpg"
    assert read_header(out / "sub" / "r2").image_files == ["r2-0.jpeg"]


def test_hidden_tolerates_short_and_odd_lines():
    text = ("x.mat 2 250\n"              # Georgia-style name, no sample count
            "x.dat 16\n"                 # only file and format
            "x.dat 16 200/uV 12 0 5 7 0 V1\n"
            "#Image: x-0.png\n")
    lines = hidden_header_text(text, "x").splitlines()
    assert lines[0] == "x 2 250"
    assert lines[1] == "x.dat 16 200.0(0)/mV 16 0    ch1"
    assert lines[2] == "x.dat 16 200/uV 12 0    V1"
    assert lines[3] == "# Image: x-0.png"


def test_cli_images_and_hidden(tmp_path):
    _training_folder(tmp_path / "d")
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    for args in (["images", "-d", "d"], ["hidden", "-i", "d", "-o", "h"]):
        result = subprocess.run([sys.executable, "-m", "ecgpaper.prepare", *args], cwd=tmp_path,
                                env=env, capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
    assert read_header(tmp_path / "h" / "r1").image_files == ["r1-0.png", "r1-2.jpg", "r1-10.png"]
