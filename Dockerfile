FROM python:3.11-slim

## The three lines below are required by the Challenge; do not change them.
RUN mkdir /challenge
COPY ./ /challenge
WORKDIR /challenge

## Install the pinned requirements (network is available at build time only).
RUN pip install --no-cache-dir -r requirements.txt
