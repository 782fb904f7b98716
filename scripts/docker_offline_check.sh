#!/usr/bin/env bash
# Build and run the repository's unchanged Dockerfile on a machine whose Docker daemon cannot
# reach any image registry (no Docker Hub), and check the entry end to end inside the image
# with --network none. See docs/docker.md.
#
# What it does (all scaffolding lives under $WORK, nothing is written into the repository):
#   1. pip-downloads the wheels of requirements.txt for CPython 3.11 / manylinux x86_64, torch
#      from the Dockerfile's TORCH_INDEX (the CPU build unless TORCH_INDEX says otherwise);
#   2. builds a stand-in base image tagged python:3.11-slim with debootstrap (Debian bookworm,
#      whose python3 is 3.11), with `python`/`pip` on PATH, the wheels at /wheels and an
#      /etc/pip.conf (no-index, find-links=/wheels, break-system-packages) so that the
#      Dockerfile's `pip install` works offline (no-index makes pip ignore the
#      --extra-index-url that the Dockerfile adds for TORCH_INDEX);
#   3. copies the repository (tracked + untracked non-ignored files) to a build context,
#      runs `docker build` with the unchanged Dockerfile and times it;
#   4. inside the image with --network none: simulates a tiny data set, renders test images,
#      makes a hidden copy, runs train_model.py, run_model.py -f and evaluate_model.py;
#   5. repeats train/run/evaluate with the Challenge's mounts /challenge/training_data,
#      /challenge/test_data, /challenge/model and /challenge/test_outputs (data under $WORK/example).
# When it ends (success or failure, trap on EXIT), the stand-in is untagged from
# python:3.11-slim and kept as $STANDIN_TAG only, so that a later `docker build` elsewhere on
# this host never takes the stand-in for the official image; the next run of this script
# retags it. An official python:3.11-slim found there is used as is (FORCE_BASE=1 shadows it
# with a fresh stand-in for the run and gives its tag back at the end).
#
# Requirements on the host: root (debootstrap, chroot), docker (client + daemon; the script
# starts `dockerd` itself if none answers, and stops it at the end), debootstrap, and a
# python3.11 with pip that can reach a package index (or WHEELS=dir with the wheels already).
# On Debian/Ubuntu: apt-get install docker.io debootstrap.
#
# Environment knobs:
#   WORK=/tmp/docker-offline-check  scratch folder (rootfs, wheels, context, logs)
#   IMAGE=ecgpaper-offline          tag of the built entry image
#   BASE_TAG=python:3.11-slim       tag the stand-in base image carries during the run
#   STANDIN_TAG=ecgpaper-offline-base  tag that keeps the stand-in between runs
#   WHEELS=dir                      use these wheels instead of running pip download
#   PIP_DOWNLOAD_ARGS="..."         extra pip download arguments, e.g.
#                                   "--index-url URL" for a local package mirror
#   TORCH_INDEX=URL                 index for torch (default: the Dockerfile's ARG TORCH_INDEX,
#                                   the CPU wheels); passed to pip download as
#                                   --extra-index-url and to docker build as --build-arg;
#                                   TORCH_INDEX= (empty) takes torch from the plain index
#   MIRROR=http://deb.debian.org/debian   Debian mirror for debootstrap
#   FORCE_BASE=1                    rebuild the stand-in even if one exists (needed after
#                                   requirements.txt or TORCH_INDEX changes: the wheels live
#                                   in the base image); an official BASE_TAG found there is
#                                   shadowed during the run and gets its tag back at the end
#   N_TRAIN=12 N_TEST=3             size of the simulated data set
#   SKIP_RUN=1                      stop after the build
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="${WORK:-/tmp/docker-offline-check}"
IMAGE="${IMAGE:-ecgpaper-offline}"
BASE_TAG="${BASE_TAG:-python:3.11-slim}"
STANDIN_TAG="${STANDIN_TAG:-ecgpaper-offline-base}"
# The Dockerfile's default unless TORCH_INDEX is set (set and empty: the plain index only).
TORCH_INDEX="${TORCH_INDEX-$(sed -n 's/^ARG TORCH_INDEX=//p' "$REPO/Dockerfile")}"
MIRROR="${MIRROR:-http://deb.debian.org/debian}"
N_TRAIN="${N_TRAIN:-12}"
N_TEST="${N_TEST:-3}"
MARKER="ECGPAPER_OFFLINE_BASE=1"

log() { printf '\n=== [%s] %s\n' "$(date -u +%H:%M:%S)" "$*"; }
die() { echo "error: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (debootstrap and chroot need it)"
for tool in docker debootstrap chroot tar; do
    command -v "$tool" >/dev/null || die "$tool not found (apt-get install docker.io debootstrap)"
done
mkdir -p "$WORK"

# --- docker daemon --------------------------------------------------------------------------
STARTED_DOCKERD=""
if ! docker info >/dev/null 2>&1; then
    command -v dockerd >/dev/null || die "no docker daemon answers and dockerd is not installed"
    log "starting dockerd (log: $WORK/dockerd.log)"
    dockerd >"$WORK/dockerd.log" 2>&1 &
    STARTED_DOCKERD=$!
    for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
    docker info >/dev/null 2>&1 || die "dockerd did not start, see $WORK/dockerd.log"
fi
BASE_TAGGED=""  # set once this run has put BASE_TAG on a stand-in
ORIG_BASE_ID=""  # id of a non-stand-in BASE_TAG that FORCE_BASE=1 took the tag from
is_standin() {  # is_standin TAG: the image carries this script's marker
    docker image inspect -f '{{range .Config.Env}}{{println .}}{{end}}' "$1" 2>/dev/null \
        | grep -qx "$MARKER"
}
cleanup() {
    # Untag the stand-in so that python:3.11-slim never stays pointed at it; the image itself
    # stays as $STANDIN_TAG for the next run. Only a tag this run set and that carries the
    # marker is removed.
    if [ -n "$BASE_TAGGED" ] && is_standin "$BASE_TAG"; then
        log "untagging the stand-in $BASE_TAG (kept as $STANDIN_TAG)"
        docker tag "$BASE_TAG" "$STANDIN_TAG" || true
        docker rmi "$BASE_TAG" >/dev/null || true
    fi
    if [ -n "$ORIG_BASE_ID" ]; then
        log "giving $BASE_TAG back to image $ORIG_BASE_ID"
        docker tag "$ORIG_BASE_ID" "$BASE_TAG" || true
    fi
    if [ -n "$STARTED_DOCKERD" ]; then
        log "stopping dockerd (pid $STARTED_DOCKERD)"
        kill "$STARTED_DOCKERD" 2>/dev/null || true
        wait "$STARTED_DOCKERD" 2>/dev/null || true
    fi
}
trap cleanup EXIT

# --- 1. wheels ------------------------------------------------------------------------------
if [ -n "${WHEELS:-}" ]; then
    WHEEL_DIR="$(cd "$WHEELS" && pwd)"
    log "using wheels from $WHEEL_DIR"
else
    WHEEL_DIR="$WORK/wheels"
    mkdir -p "$WHEEL_DIR"
    log "pip download -r requirements.txt (cp311, manylinux x86_64) -> $WHEEL_DIR"
    # pip does not widen --platform to older manylinux tags, so list them all (glibc <= 2.28;
    # bookworm has 2.36, the official python:3.11-slim is bookworm-based too).
    PLATFORMS=""
    for tag in manylinux_2_28 manylinux_2_27 manylinux_2_24 manylinux_2_17 manylinux2014 \
               manylinux_2_12 manylinux2010 manylinux_2_5 manylinux1; do
        PLATFORMS="$PLATFORMS --platform ${tag}_x86_64"
    done
    echo "torch index: ${TORCH_INDEX:-(none: the plain index)}"
    # shellcheck disable=SC2086
    python3 -m pip download --only-binary=:all: --python-version 3.11 --implementation cp \
        --abi cp311 $PLATFORMS -d "$WHEEL_DIR" ${TORCH_INDEX:+--extra-index-url "$TORCH_INDEX"} \
        ${PIP_DOWNLOAD_ARGS:-} -r "$REPO/requirements.txt"
fi
echo "wheels: $(ls "$WHEEL_DIR"/*.whl | wc -l) files, $(du -sh "$WHEEL_DIR" | cut -f1)"

# --- 2. stand-in base image -----------------------------------------------------------------
if [ -z "${FORCE_BASE:-}" ] && ! docker image inspect "$BASE_TAG" >/dev/null 2>&1 \
        && is_standin "$STANDIN_TAG"; then
    log "reusing the stand-in $STANDIN_TAG as $BASE_TAG (FORCE_BASE=1 rebuilds it)"
    BASE_TAGGED=1
    docker tag "$STANDIN_TAG" "$BASE_TAG"
fi
if docker image inspect "$BASE_TAG" >/dev/null 2>&1 && [ -z "${FORCE_BASE:-}" ]; then
    if is_standin "$BASE_TAG"; then
        # a stand-in left tagged by an older version of this script, or reused above
        BASE_TAGGED=1
        log "using stand-in base image $BASE_TAG (FORCE_BASE=1 rebuilds it)"
    else
        log "$BASE_TAG exists and is not a stand-in built by this script: using it as is"
    fi
else
    ROOTFS="$WORK/rootfs"
    if [ ! -x "$ROOTFS/usr/bin/python3" ]; then
        log "debootstrap bookworm -> $ROOTFS"
        rm -rf "$ROOTFS"
        debootstrap --variant=minbase \
            --include=python3,python3-pip,python3-venv,ca-certificates \
            bookworm "$ROOTFS" "$MIRROR"
    fi
    log "configuring the base rootfs"
    ln -sf /usr/bin/python3 "$ROOTFS/usr/local/bin/python"
    ln -sf /usr/bin/pip3 "$ROOTFS/usr/local/bin/pip"
    cat >"$ROOTFS/etc/pip.conf" <<'EOF'
# Stand-in for the official python:3.11-slim image, built by scripts/docker_offline_check.sh:
# pip installs offline from the wheels in /wheels, system-wide (as root in the official image).
[global]
no-index = true
find-links = /wheels
break-system-packages = true
disable-pip-version-check = true
root-user-action = ignore
EOF
    rm -rf "$ROOTFS/wheels"
    mkdir -p "$ROOTFS/wheels"
    cp "$WHEEL_DIR"/*.whl "$ROOTFS/wheels/"
    chroot "$ROOTFS" apt-get clean
    rm -rf "$ROOTFS"/var/lib/apt/lists/* "$ROOTFS"/var/cache/apt/*.bin
    if docker image inspect "$BASE_TAG" >/dev/null 2>&1 && ! is_standin "$BASE_TAG"; then
        ORIG_BASE_ID="$(docker image inspect -f '{{.Id}}' "$BASE_TAG")"
    fi
    log "docker import -> $BASE_TAG"
    BASE_TAGGED=1
    tar -C "$ROOTFS" --numeric-owner -c . | docker import \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'ENV LANG=C.UTF-8' \
        --change "ENV $MARKER" \
        --change 'CMD ["python3"]' \
        - "$BASE_TAG"
fi
docker image ls "$BASE_TAG"

# --- 3. build context and docker build ------------------------------------------------------
CTX="$WORK/ctx"
log "copying the repository to the build context $CTX"
rm -rf "$CTX"
mkdir -p "$CTX"
(cd "$REPO" && git ls-files -z --cached --others --exclude-standard \
    | while IFS= read -r -d '' f; do if [ -f "$f" ]; then printf '%s\0' "$f"; fi; done \
    | tar --null -T - -cf -) | tar -C "$CTX" -xf -
echo "context: $(find "$CTX" -type f | wc -l) files, $(du -sh "$CTX" | cut -f1)"

log "docker build -t $IMAGE (unchanged Dockerfile, legacy builder, TORCH_INDEX=$TORCH_INDEX)"
T0=$(date +%s)
DOCKER_BUILDKIT=0 docker build --build-arg "TORCH_INDEX=$TORCH_INDEX" -t "$IMAGE" "$CTX" 2>&1 \
    | tee "$WORK/build.log"
[ "${PIPESTATUS[0]}" = 0 ] || die "docker build failed, see $WORK/build.log"
T1=$(date +%s)
BUILD_S=$((T1 - T0))
echo "build time: ${BUILD_S} s"
docker image ls "$IMAGE"
echo "image size: $(docker image inspect -f '{{.Size}}' "$IMAGE" | awk '{printf "%.0f MB", $1/1e6}')"
echo "base size:  $(docker image inspect -f '{{.Size}}' "$BASE_TAG" | awk '{printf "%.0f MB", $1/1e6}')"
echo "wheels in the base (not in an image built FROM the official python:3.11-slim): $(du -sh "$WHEEL_DIR" | cut -f1)"
docker history --format '{{.Size}}\t{{.CreatedBy}}' "$IMAGE" | cut -c1-120

[ -n "${SKIP_RUN:-}" ] && exit 0

# --- 4. end to end inside the image, no network ---------------------------------------------
log "docker run --network none: simulate, render, hide, train, run, evaluate"
docker run --rm --network none "$IMAGE" bash -c '
set -eu
step() { printf "\n--- %s: %s\n" "$1" "$2"; S0=$(date +%s); }
took() { echo "--- took $(( $(date +%s) - S0 )) s"; }
python -c "import sys, numpy, scipy, cv2, torch, wfdb, PIL; print(sys.version.split()[0], \"numpy\", numpy.__version__, \"scipy\", scipy.__version__, \"cv2\", cv2.__version__, \"torch\", torch.__version__, \"wfdb\", wfdb.__version__, \"PIL\", PIL.__version__)"
step a "simulate + render + hidden copy"
python -m ecgpaper.simulate -o /tmp/train -n '"$N_TRAIN"' --seed 1
python -m ecgpaper.simulate -o /tmp/test_signals -n '"$N_TEST"' --seed 2
python -m ecg_image_kit -i /tmp/test_signals -o /tmp/test --config clean --quiet
python -m ecgpaper.prepare -q hidden -i /tmp/test -o /tmp/hidden
echo "train: $(ls /tmp/train | wc -l) files; test: $(ls /tmp/test | wc -l) files; hidden: $(ls /tmp/hidden | wc -l) files"
took
step b "python train_model.py -d /tmp/train -m model -v"
python train_model.py -d /tmp/train -m model -v
du -sh model; find model -type f | sort
took
step c "python run_model.py -d /tmp/hidden -m model -o /tmp/out -f -v"
python run_model.py -d /tmp/hidden -m model -o /tmp/out -f -v
ls /tmp/out
took
step d "python evaluate_model.py -d /tmp/test -o /tmp/out"
if [ -f evaluate_model.py ]; then python evaluate_model.py -d /tmp/test -o /tmp/out; else echo "evaluate_model.py missing: skipped"; fi
took
' 2>&1 | tee "$WORK/run.log"
[ "${PIPESTATUS[0]}" = 0 ] || die "the run inside the image failed, see $WORK/run.log"

# --- 5. the same with the Challenge's four mounts (as in the Challenge README) --------------
EX="$WORK/example"
log "Challenge layout: docker run with /challenge/{training_data,test_data,model,test_outputs} mounted ($EX)"
rm -rf "$EX"
mkdir -p "$EX/training_data" "$EX/test_data" "$EX/test_data_labels" "$EX/model" "$EX/test_outputs"
docker run --rm --network none -v "$EX":/ex "$IMAGE" bash -c '
set -eu
python -m ecgpaper.simulate -o /ex/training_data -n '"$N_TRAIN"' --seed 1 >/dev/null
python -m ecgpaper.simulate -o /tmp/test_signals -n '"$N_TEST"' --seed 2 >/dev/null
python -m ecg_image_kit -i /tmp/test_signals -o /ex/test_data_labels --config clean --quiet >/dev/null
python -m ecgpaper.prepare -q hidden -i /ex/test_data_labels -o /ex/test_data'
docker run --rm --network none \
    -v "$EX/model":/challenge/model -v "$EX/test_data":/challenge/test_data \
    -v "$EX/test_outputs":/challenge/test_outputs -v "$EX/training_data":/challenge/training_data \
    "$IMAGE" bash -c 'set -eu
python train_model.py -d training_data -m model -v
python run_model.py -d test_data -m model -o test_outputs -v' 2>&1 | tee "$WORK/run_challenge.log"
[ "${PIPESTATUS[0]}" = 0 ] || die "the Challenge-layout run failed, see $WORK/run_challenge.log"
echo "model on the host: $(find "$EX/model" -type f | wc -l) files; outputs: $(ls "$EX/test_outputs" | wc -l) files"
docker run --rm --network none -v "$EX/test_data_labels":/challenge/test_data_labels \
    -v "$EX/test_outputs":/challenge/test_outputs "$IMAGE" \
    python evaluate_model.py -d test_data_labels -o test_outputs 2>&1 | tee -a "$WORK/run_challenge.log"
[ "${PIPESTATUS[0]}" = 0 ] || die "evaluate_model.py failed, see $WORK/run_challenge.log"

log "done: build ${BUILD_S} s; logs in $WORK (build.log, run.log, run_challenge.log)"
