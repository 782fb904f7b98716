# Convenience targets; the README gives the same commands without make.
PYTHON ?= python3
DATA ?=
WORK ?= demo_work

.PHONY: demo test install install-dev bench

install:
	$(PYTHON) -m pip install -e . -c constraints.txt

install-dev:
	$(PYTHON) -m pip install -r requirements-dev.txt -c constraints.txt -e .

# The main job end to end (simulated data by default; DATA=folder for real records).
demo: install
	$(PYTHON) -m ecgpaper.demo --work $(WORK) $(if $(DATA),--data $(DATA))

test: install-dev
	$(PYTHON) -m ruff check .
	$(PYTHON) -m pytest
