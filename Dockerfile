FROM python:3.11-slim

## The three lines below are required by the Challenge; do not change them.
RUN mkdir /challenge
COPY ./ /challenge
WORKDIR /challenge

## Which build requirements.txt's torch==2.13.0 resolves to (see docs/docker.md):
## - default: the CPU build (2.13.0+cpu, a 192 MB wheel) from PyTorch's CPU index, added with
##   --extra-index-url (pip prefers 2.13.0+cpu to the plain index's 2.13.0; every other
##   package comes from the plain index);
## - docker build --build-arg TORCH_INDEX= . : the plain index alone, where torch 2.13.0 on
##   linux x86_64 is the CUDA 13 build (2.7 GB of wheels with its nvidia-* and triton wheels),
##   for the Challenge's optional GPU.
ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu

## Install the pinned requirements (network is available at build time only).
RUN pip install --no-cache-dir ${TORCH_INDEX:+--extra-index-url "$TORCH_INDEX"} -r requirements.txt
