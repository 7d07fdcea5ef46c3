# The course's commands. Each sets up what it needs: a virtual environment in .venv with
# the pinned requirements and the course installed (`pip install -e .`).
#
#   make course   build every release into assignments/ and self-grade it with nbgrader
#   make test     run the test suite (what CI runs)
#   make test-fast  every test but those that grade notebooks through nbgrader (minutes)
#   make lab      start JupyterLab on the course, nbgrader extensions included

# The interpreter that makes .venv: the first of PYTHON_NAMES on PATH whose version is one
# TensorFlow 2.21 has wheels for. `make PYTHON=/path/to/python3.12 ...` overrides it.
PYTHON_VERSIONS := 3.11 3.12 3.13
PYTHON_NAMES := python3.11 python3.12 python3.13 python3
python_version = $(shell $(1) -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)
supported_python = $(if $(1),$(filter $(PYTHON_VERSIONS),$(call python_version,$(1))))
PYTHON ?= $(firstword $(foreach name,$(PYTHON_NAMES),$(if $(call supported_python,$(name)),$(name))))
GET_PYTHON := the course needs Python 3.11, 3.12 or 3.13. Install one (python.org; \
	brew install python@3.12; apt install python3.12 python3.12-venv; or pyenv) or name it: \
	make PYTHON=/path/to/python3.12
# Stops make, saying what to do, unless $(PYTHON) runs and is a supported version.
check_python = $(if $(call supported_python,$(PYTHON)),,$(error $(if $(PYTHON),PYTHON=$(PYTHON) \
	is not a supported Python,none of $(PYTHON_NAMES) on PATH is a supported Python): $(GET_PYTHON)))
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: course test test-fast lab benchmarks clean print-python

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	$(check_python)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt -r requirements-dev.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

course: $(STAMP)
	$(BIN)/python -m autograder.build

test: $(STAMP)
	$(BIN)/python -m pytest

test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not slow"

# nbgrader runs `alembic` from PATH when the Formgrader first makes gradebook.db; a gradebook
# an older `make lab` left without its schema version is rebuilt first (autograder/gradebook.py).
# LAB_ARGS passes options to JupyterLab, e.g. make lab LAB_ARGS="--port=8889 --no-browser".
# The course hands out work through GitHub, never nbgrader's exchange: an empty exchange folder
# of its own (.exchange, git-ignored) keeps the Formgrader from warning that the exchange is missing.
lab: $(STAMP)
	$(BIN)/python -m autograder.gradebook
	mkdir -p .exchange
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/jupyter lab --Exchange.root="$(CURDIR)/.exchange" $(LAB_ARGS)

# The student repository (README.md, "Students on GitHub"): make export DEST=../rnn-course-student;
# EXPORT_ARGS passes options, e.g. EXPORT_ARGS="--assignment 00_setup --force".
export: $(STAMP)
	$(if $(DEST),,$(error give the student repository's folder: make export DEST=../rnn-course-student))
	$(BIN)/python -m autograder.export $(DEST) $(EXPORT_ARGS)

print-python:   # the interpreter a new .venv gets (tests/test_platforms.py checks the choice)
	$(check_python)
	@echo "$(PYTHON)"

clean:
	rm -rf $(VENV) .pytest_cache
