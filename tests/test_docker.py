"""The Dockerfile's torch choice and the offline check's clean-up (docs/docker.md).

Nothing here needs Docker: the Dockerfile's RUN line is expanded by ``sh`` with ``pip``
replaced by ``echo``, and ``scripts/docker_offline_check.sh`` runs against a stand-in
``docker`` (a shell script that keeps image tags in a folder) to show that the stand-in base
image never stays tagged ``python:3.11-slim``.
"""

import os
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DOCKERFILE = REPO / "Dockerfile"
SCRIPT = REPO / "scripts" / "docker_offline_check.sh"
CPU_INDEX = "https://download.pytorch.org/whl/cpu"


def _instructions():
    """The Dockerfile's instructions, comments and blank lines left out."""
    lines = DOCKERFILE.read_text().splitlines()
    return [ln for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]


def test_dockerfile_keeps_the_challenge_lines_and_defaults_to_cpu_torch():
    ins = _instructions()
    assert ins[0] == "FROM python:3.11-slim"
    assert ins[1:4] == ["RUN mkdir /challenge", "COPY ./ /challenge", "WORKDIR /challenge"]
    assert f"ARG TORCH_INDEX={CPU_INDEX}" in ins
    assert ins[-1].startswith("RUN pip install --no-cache-dir ")
    assert ins[-1].endswith("-r requirements.txt")


@pytest.mark.parametrize("index, expected", [
    (CPU_INDEX, ["--no-cache-dir", "--extra-index-url", CPU_INDEX, "-r", "requirements.txt"]),
    ("", ["--no-cache-dir", "-r", "requirements.txt"]),
])
def test_dockerfile_pip_line_expands_the_build_arg(index, expected):
    run = _instructions()[-1].removeprefix("RUN ")
    # the shell docker runs the line with: ARG values are environment variables there
    out = subprocess.run(["sh", "-c", "pip() { shift; printf '%s\\n' \"$@\"; }; " + run],
                         env={"PATH": os.environ["PATH"], "TORCH_INDEX": index},
                         capture_output=True, text=True, check=True).stdout
    assert out.splitlines() == expected


def test_offline_check_reads_the_dockerfile_default():
    line = next(ln for ln in SCRIPT.read_text().splitlines()
                if ln.startswith('TORCH_INDEX="${TORCH_INDEX-'))
    for env, want in (({}, CPU_INDEX), ({"TORCH_INDEX": ""}, ""), ({"TORCH_INDEX": "u"}, "u")):
        out = subprocess.run(["bash", "-c", f'REPO="{REPO}"; {line}; printf %s "$TORCH_INDEX"'],
                             env={"PATH": os.environ["PATH"], **env}, capture_output=True,
                             text=True, check=True).stdout
        assert out == want


def test_offline_check_script_parses():
    subprocess.run(["bash", "-n", str(SCRIPT)], check=True)


# A stand-in docker: $MOCK/tags/<tag> holds "<id> <env>"; only what the script calls.
FAKE_DOCKER = textwrap.dedent(r"""
    #!/usr/bin/env bash
    S="$MOCK"; mkdir -p "$S/tags"
    key() { printf '%s' "$1" | tr '/:' '__'; }
    get() { if [ -f "$S/tags/$(key "$1")" ]; then cat "$S/tags/$(key "$1")";
            else grep -h "^$1 " "$S/ids" 2>/dev/null | head -1; fi; }
    case "$1" in
      info) exit 0 ;;
      image) [ "$2" = inspect ] || exit 0; shift 2; fmt=""
             if [ "$1" = -f ]; then fmt="$2"; shift 2; fi
             line="$(get "$1")"; [ -n "$line" ] || exit 1
             case "$fmt" in *Env*) echo "${line#* }" ;; *Id*) echo "${line%% *}" ;;
                            *Size*) echo 1 ;; esac ;;
      tag) line="$(get "$2")"; [ -n "$line" ] || exit 1; echo "$line" > "$S/tags/$(key "$3")" ;;
      rmi) rm "$S/tags/$(key "$2")" ;;
      import) env=none; shift
              while [ "$1" = --change ]; do
                  case "$2" in "ENV ECGPAPER"*) env="${2#ENV }" ;; esac; shift 2; done
              cat >/dev/null; line="new$RANDOM $env"; echo "$line" >> "$S/ids"
              echo "$line" > "$S/tags/$(key "$2")" ;;
      build) echo "$*" > "$S/build_args"; [ -z "${FAIL_BUILD:-}" ] || exit 1
             while [ $# -gt 0 ]; do [ "$1" = -t ] && t="$2"; shift; done
             echo "built none" > "$S/tags/$(key "$t")" ;;
    esac
    """).lstrip()
FAKE_DEBOOTSTRAP = textwrap.dedent(r"""
    #!/usr/bin/env bash
    root="${@: -2:1}"; mkdir -p "$root/usr/bin" "$root/usr/local/bin" "$root/etc"
    printf '#!/bin/sh\n' > "$root/usr/bin/python3"; chmod +x "$root/usr/bin/python3"
    """).lstrip()


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("git") is None or not (REPO / ".git").exists(),
                    reason="the script copies the repository with git ls-files")
@pytest.mark.parametrize("case", ["fresh", "reuse", "official", "official_forced", "left_over",
                                  "failed_build"])
def test_offline_check_never_leaves_the_stand_in_tagged_as_python_slim(tmp_path, case):
    bin_dir, state, wheels = tmp_path / "bin", tmp_path / "state", tmp_path / "wheels"
    for d in (bin_dir, state / "tags", wheels):
        d.mkdir(parents=True)
    (wheels / "dummy-1.0-py3-none-any.whl").write_bytes(b"")
    for name, text in (("docker", FAKE_DOCKER), ("debootstrap", FAKE_DEBOOTSTRAP),
                       ("chroot", "#!/bin/sh\n"), ("id", "#!/bin/sh\necho 0\n")):
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    tags = state / "tags"
    if case == "reuse":
        (tags / "ecgpaper-offline-base").write_text("old ECGPAPER_OFFLINE_BASE=1\n")
    if case in ("official", "official_forced"):
        (tags / "python_3.11-slim").write_text("official none\n")
        (state / "ids").write_text("official none\n")
    if case == "left_over":  # left tagged by the script's version before this clean-up
        (tags / "python_3.11-slim").write_text("old ECGPAPER_OFFLINE_BASE=1\n")
    env = {"PATH": f"{bin_dir}:{os.environ['PATH']}", "MOCK": str(state),
           "WORK": str(tmp_path / "work"), "WHEELS": str(wheels), "SKIP_RUN": "1",
           "FORCE_BASE": "1" if case == "official_forced" else "",
           "FAIL_BUILD": "1" if case == "failed_build" else ""}
    proc = subprocess.run(["bash", str(SCRIPT)], env=env, capture_output=True, text=True)
    assert proc.returncode == (1 if case == "failed_build" else 0), proc.stdout + proc.stderr
    left = {p.name: p.read_text().split()[0] for p in tags.iterdir()}
    if case == "official":
        assert left["python_3.11-slim"] == "official"
        assert "ecgpaper-offline-base" not in left
    elif case == "official_forced":
        assert left["python_3.11-slim"] == "official"  # its tag given back
        assert left["ecgpaper-offline-base"].startswith("new")
    else:  # untagged at the end, kept under its own name for the next run
        assert "python_3.11-slim" not in left
        kept = left["ecgpaper-offline-base"]
        assert kept == "old" if case in ("reuse", "left_over") else kept.startswith("new")
    assert f"--build-arg TORCH_INDEX={CPU_INDEX}" in (state / "build_args").read_text()
