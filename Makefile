# The course's commands. Each sets up what it needs: a virtual environment in .venv with
# the pinned requirements and the course installed (`pip install -e .`).
#
#   make course   build every release into assignments/ and self-grade it with nbgrader
#   make test     run the test suite (what CI runs)
#   make lab      start JupyterLab on the course, nbgrader extensions included

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: course test lab benchmarks clean

$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

course: $(STAMP)
	$(BIN)/python -m autograder.build

test: $(STAMP)
	$(BIN)/python -m pytest

lab: $(STAMP)
	$(BIN)/jupyter lab

clean:
	rm -rf $(VENV) .pytest_cache
