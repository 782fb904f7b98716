"""Bad input to ecg_image_kit (issue 17, part C): one-line errors, exit status 2, nothing lost.

Every case is made on the fly in ``tmp_path`` from tiny synthetic records.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ecg_image_kit import RenderConfig, render
from ecg_image_kit.cli import find_records, lead_warnings, main
from ecg_image_kit.render import own_rows
from ecgcore.constants import LEADS_12
from ecgcore.wfdbio import write_record

FS = 100
GOOD = ["--quiet", "dpi=60"]


def _record(path: Path, names, fs: int = FS, seconds: float = 10.0) -> None:
    n = int(seconds * fs)
    t = np.arange(n) / fs
    beat = np.exp(-(((t % 0.8) - 0.3) / 0.02) ** 2)
    sig = np.stack([beat * (0.5 + 0.1 * k) for k in range(len(names))], axis=1)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_record(path, sig, fs, list(names), ["Age: 60", "Labels: NORM"])


@pytest.fixture()
def src(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "in"
    _record(folder / "r1", LEADS_12)
    _record(folder / "sub" / "r2", LEADS_12)
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    return folder


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _one_error(capsys, *words: str) -> str:
    err = capsys.readouterr().err
    lines = [x for x in err.splitlines() if x.strip()]
    assert len(lines) == 1, err  # one line, no traceback, not once per record
    assert lines[0].startswith("error: ") and "Traceback" not in err
    for w in words:
        assert w in lines[0], (w, lines[0])
    return lines[0]


# ---------------------------------------------------------------- 1. input folder

def test_missing_empty_or_hidden_only_input_is_refused(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["-i", str(tmp_path / "nope"), "-o", str(out), *GOOD]) == 2
    _one_error(capsys, "does not exist", "nope")
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["-i", str(empty), "-o", str(out), *GOOD]) == 2
    _one_error(capsys, "no WFDB records", "empty")
    # records only in hidden places count as none
    _record(empty / ".cache" / "r1", LEADS_12)
    (empty / ".r2.hea").write_text("r2 1 100 10\n")
    assert find_records(empty) == []
    assert main(["-i", str(empty), "-o", str(out), *GOOD]) == 2
    _one_error(capsys, "no WFDB records")
    assert not out.exists()  # nothing written


def test_find_records_skips_dotfiles_and_hidden_folders(tmp_path):
    root = tmp_path / ".hidden_root"  # the root itself may be hidden
    _record(root / "a" / "r1", ["II"])
    _record(root / "a" / ".snap" / "r1", ["II"])
    (root / "a" / ".r1.hea.tmp").write_text("x")
    (root / "a" / ".r3.hea").write_text("x")
    assert find_records(root) == ["a/r1"]


# ---------------------------------------------------------------- 2. config

@pytest.mark.parametrize("override, words", [
    ("nonsense=1", ["nonsense", "valid keys"]),
    ("dpi=abc", ["'dpi'", "abc"]),
    ("dpi=-100", ["'dpi'", "-100"]),
    ("line_width_pt=-1", ["'line_width_pt'"]),
    ("duration_s=0", ["'duration_s'"]),
    ("creases=2.5", ["'creases'", "integer"]),
    ("creases=[3, 1]", ["'creases'", "lo > hi"]),
    ("layout=5x5", ["'layout'", "valid layouts"]),
    ("grid_color=blue", ["'grid_color'", "blue"]),
    ("paper_color=[1, 2]", ["'paper_color'", "RGB"]),
    ("calibration_pulse=yes", ["'calibration_pulse'"]),
    ("rhythm_leads=[\"II\", \"V1\"]", ["'rhythm_leads'", "rhythm"]),
    ("noise_std=[]", ["'noise_std'", "empty"]),
    ("dpi", ["key=value"]),
])
def test_bad_config_values_fail_once_before_rendering(src, tmp_path, capsys, override, words):
    out = tmp_path / "out"
    assert main(["-i", str(src), "-o", str(out), "--quiet", override]) == 2
    _one_error(capsys, *words)
    assert not out.exists()


def test_bad_config_files(src, tmp_path, capsys):
    out = tmp_path / "out"
    missing = tmp_path / "missing.json"
    assert main(["-i", str(src), "-o", str(out), "--config", str(missing), "--quiet"]) == 2
    _one_error(capsys, str(missing), "not found")
    broken = tmp_path / "broken.json"
    broken.write_text("{dpi: 100")
    assert main(["-i", str(src), "-o", str(out), "--config", str(broken), "--quiet"]) == 2
    _one_error(capsys, str(broken), "JSON")
    listed = tmp_path / "list.json"
    listed.write_text("[1, 2]")
    assert main(["-i", str(src), "-o", str(out), "--config", str(listed), "--quiet"]) == 2
    _one_error(capsys, str(listed), "JSON object")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"preset": "clean", "dpi": "abc"}))
    assert main(["-i", str(src), "-o", str(out), "--config", str(bad), "--quiet"]) == 2
    _one_error(capsys, str(bad), "'dpi'")
    for preset_value in ("extreme", 3):
        bad.write_text(json.dumps({"preset": preset_value}))
        assert main(["-i", str(src), "-o", str(out), "--config", str(bad), "--quiet"]) == 2
        _one_error(capsys, "preset", "valid presets")
    assert not out.exists()


def test_render_config_is_typed_and_checked_in_one_place():
    from ecg_image_kit.config import PRESETS, preset

    for name in PRESETS:  # every preset passes its own checks
        preset(name)
    with pytest.raises(ValueError, match="config key 'dpi'"):
        RenderConfig(dpi="abc")
    with pytest.raises(ValueError, match="config key 'jpeg_quality'"):
        RenderConfig(jpeg_quality=101)
    with pytest.raises(ValueError, match="config key 'stamps'"):
        preset("clean").replace(stamps=-1)
    with pytest.raises(ValueError, match="config key 'rotation_deg'"):
        RenderConfig.from_dict({"rotation_deg": "steep"})
    ok = RenderConfig(dpi=(100, 150), layout=["6x2", "12x1"], grid_color=["red", (10, 20, 30)],
                      color_temperature_k=None, jpeg_quality=0, label_below=0.5)
    assert ok.dpi == (100, 150)
    assert RenderConfig.__dataclass_fields__["dpi"].type != "Any"


# ---------------------------------------------------------------- 3. resume

def test_resume_with_other_seed_or_config_is_refused(src, tmp_path, capsys):
    out = tmp_path / "out"
    base = ["-i", str(src), "-o", str(out), "--quiet"]
    assert main(base + ["--seed", "1", "dpi=60"]) == 0
    meta = (out / "ecg_image_kit_config.json").read_bytes()
    before = _files(out)
    capsys.readouterr()
    assert main(base + ["--seed", "2", "dpi=60"]) == 2
    _one_error(capsys, "--seed 1", "ecg_image_kit_config.json")
    assert main(base + ["--seed", "1", "dpi=70"]) == 2
    _one_error(capsys, "another config", "dpi")
    assert main(base + ["--seed", "1", "--config", "moderate", "dpi=60"]) == 2
    _one_error(capsys, "another config", "rotation_deg")
    assert (out / "ecg_image_kit_config.json").read_bytes() == meta
    assert _files(out) == before
    # the same effective config, written another way: resumes as before
    cfg = tmp_path / "same.json"
    cfg.write_text(json.dumps({"preset": "clean", "dpi": 60}))
    assert main(base + ["--seed", "1", "--config", str(cfg)]) == 0
    assert "images rendered: 0" in capsys.readouterr().err
    (out / "r1-0.png").unlink()
    assert main(base + ["--seed", "1", "dpi=60"]) == 0
    assert "images rendered: 1" in capsys.readouterr().err
    assert _files(out) == before
    # an unreadable record of the run is refused too, and left alone
    (out / "ecg_image_kit_config.json").write_text("{")
    assert main(base + ["--seed", "1", "dpi=60"]) == 2
    _one_error(capsys, "cannot read")
    assert (out / "ecg_image_kit_config.json").read_text() == "{"


# ---------------------------------------------------------------- 4. lead sets

@pytest.mark.parametrize("names", [["ECG1", "ECG2"], ["MLII", "V1"], ["vx", "vy", "vz"],
                                   [*LEADS_12, "vx", "vy", "vz"]])
def test_non_standard_lead_sets_are_drawn_and_named(tmp_path, capsys, names):
    src = tmp_path / "in"
    _record(src / "rec", names, seconds=5.0)
    out = tmp_path / "out"
    assert main(["-i", str(src), "-o", str(out), "--masked-reference", *GOOD]) == 0
    ann = json.loads((out / "rec-0.json").read_text())
    drawn = [x["name"] for x in ann["leads"]]
    assert drawn == [*names] and ann["layout"] == f"{len(names)}x1"
    assert all(x["end_sample"] == 5 * FS and x["x_px"] for x in ann["leads"])
    err = capsys.readouterr().err
    warn = [x for x in err.splitlines() if x.startswith("warning: record rec:")]
    assert len(warn) == 1 and all(n in warn[0] for n in names if n not in LEADS_12)


def test_standard_lead_subsets_keep_their_layout_and_repeats_are_named():
    sig = np.zeros((500, 2))
    assert own_rows(["ii", "AVR"]) is None and own_rows(LEADS_12) is None
    res = render(sig, FS, ["II", "aVR"], {"dpi": 60})
    assert res.annotation["layout"] == "3x4+1"
    assert lead_warnings(LEADS_12) == []
    assert "['II']" in lead_warnings(["II", "ii"])[0]
    assert "ECG1" in lead_warnings(["ECG1"])[0]


# ---------------------------------------------------------------- 5. output in input

def test_output_equal_to_or_inside_input_is_refused(src, tmp_path, capsys):
    before = _files(src)
    for out in (src, src / "images", src / "sub" / "deeper" / "out", Path(str(src) + "/./sub/..")):
        assert main(["-i", str(src), "-o", str(out), *GOOD]) == 2
        _one_error(capsys, "inside it", str(out))
    assert main(["-i", str(src), "-o", str(tmp_path / "out"), "--masked-reference", str(src / "ref"),
                 *GOOD]) == 2
    _one_error(capsys, "masked-reference")
    assert _files(src) == before  # input files never change
    assert not (src / "images").exists() and not (tmp_path / "out").exists()
    # a sibling whose name only starts like the input is fine
    assert main(["-i", str(src), "-o", str(tmp_path / "in_images"), *GOOD]) == 0
    assert _files(src) == before
