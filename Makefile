# Two commands matter (see README):  `make book`  and  `make test`.
# Everything else here is a helper they call, or a convenience for learners.

PYTHON      ?= python3.11
VENV        ?= .venv
PY          := $(VENV)/bin/python
PIP         := $(VENV)/bin/pip
# Learners on a laptop with internet can get the small CPU-only torch wheel with
#   make book TORCH_INDEX=https://download.pytorch.org/whl/cpu
TORCH_INDEX ?=
PIP_FLAGS   := --no-cache-dir --disable-pip-version-check $(if $(TORCH_INDEX),--extra-index-url $(TORCH_INDEX),)
STAMP       := $(VENV)/.installed
MATHJAX     := book/_static/mathjax/tex-chtml.js
# Same hash seed everywhere so that set iteration order never changes outputs.
export PYTHONHASHSEED := 0

.PHONY: help setup data browser book test lint format unit nbtest portability lab execute site-check clean distclean

help:
	@echo "make book     set up .venv, fetch data, build the site into _build/html"
	@echo "make test     set up .venv, fetch data, lint, unit tests, notebooks (nbval)"
	@echo "make lab      open JupyterLab on the notebooks"
	@echo "make execute  re-run every notebook and store its outputs (NB=notebooks/01_*.ipynb for one)"
	@echo "make data     fetch the data sets the notebooks need (cached under data/)"
	@echo "make browser  install Chromium + ChromeDriver with apt if missing (Chapter 12 browser test)"
	@echo "make lint / format / unit / nbtest   the parts of make test"
	@echo "make portability   make test under other CPU settings, then a report of the checked tolerances"

# ---------------------------------------------------------------- environment
$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install $(PIP_FLAGS) --upgrade "pip>=24"
	$(PIP) install $(PIP_FLAGS) -e ".[dev]"
	$(PY) -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (recsys-book)" >/dev/null
	@touch $(STAMP)

setup: $(STAMP)

# Chapter 12's browser test drives Debian's Chromium and ChromeDriver (no browser
# download at run time). Installed with apt when missing and we are root (CI) or
# have password-less sudo; otherwise the message says what to install.
BROWSER_PKGS := chromium chromium-driver
browser:
	@if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then :; \
	elif ! command -v apt-get >/dev/null 2>&1; then \
	  echo "browser: no apt-get here; install Chromium and ChromeDriver to run Chapter 12's browser test"; \
	elif [ "$$(id -u)" = 0 ]; then \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(BROWSER_PKGS); \
	elif sudo -n true 2>/dev/null; then \
	  sudo apt-get update -q && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(BROWSER_PKGS); \
	else echo "browser: run 'sudo apt-get install $(BROWSER_PKGS)' to run Chapter 12's browser test"; fi

data: $(STAMP)
	$(PY) -m recsys_lib.data fetch

# MathJax is vendored from the npm registry so that formulas render offline.
$(MATHJAX):
	@mkdir -p .cache/npm book/_static/mathjax
	@if command -v npm >/dev/null 2>&1; then \
	  cd .cache/npm && npm pack --silent mathjax@3.2.2 >/dev/null && cd ../.. && \
	  tar -xzf .cache/npm/mathjax-3.2.2.tgz -C book/_static/mathjax --strip-components=2 package/es5 ; \
	else echo "npm not found: formulas will load MathJax from its CDN when the page is viewed"; \
	  printf '%s\n' '/* placeholder: npm was not available at build time */' \
	  'var s=document.createElement("script");s.src="https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-chtml.js";document.head.appendChild(s);' > $(MATHJAX); fi

# ---------------------------------------------------------------- the book
# The site shows the outputs stored in the notebooks (execute_notebooks: "off"
# in _config.yml); `make test` re-executes every notebook with nbval and fails if
# a fresh run disagrees with them, so what the site shows is what was verified.
# The repository and Binder buttons point at this clone's origin, or at REPO_URL.
REPO_URL    ?=
BOOK_CONFIG := .cache/book/_config.yml
book: data $(MATHJAX)
	$(PY) scripts/book_config.py --out $(BOOK_CONFIG) $(if $(REPO_URL),--repo-url $(REPO_URL),)
	$(VENV)/bin/jupyter-book build . --config $(BOOK_CONFIG) --all --warningiserror --nitpick --keep-going
	@echo "Open _build/html/index.html"

# ---------------------------------------------------------------- tests
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

unit: $(STAMP)
	$(PY) -m pytest tests

# Exercise solutions are opt-in for learners (recsys_lib.exercises.solutions_enabled);
# the tests run every solution cell on the chapter's data. Its output is not compared.
nbtest: data
	RECSYS_SOLUTIONS=1 $(PY) -m pytest --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg \
	  -p no:cacheprovider notebooks

test: data browser lint unit nbtest

# Other machines, simulated: `make test` (lint, unit tests, every notebook) once per setting (another
# vector kernel, thread count or BLAS kernel), each check logged, then a report of
# how far each checked number moved and how much room its band leaves. The
# stored outputs stay those of the plain run. See book/contributing.md.
PORTABILITY_SETTINGS ?= plain ATEN_CPU_CAPABILITY=default ATEN_CPU_CAPABILITY=avx2 \
  OMP_NUM_THREADS=1 OMP_NUM_THREADS=2 OPENBLAS_CORETYPE=Haswell
PORTABILITY_DIR := .cache/portability
portability: data
	@mkdir -p $(PORTABILITY_DIR) && rm -f $(PORTABILITY_DIR)/*.jsonl
	@failed=""; for s in $(PORTABILITY_SETTINGS); do \
	  echo "== make test with $$s"; start=$$(date +%s); \
	  log=$(CURDIR)/$(PORTABILITY_DIR)/$$(echo $$s | tr '=' '_').jsonl; \
	  env $$(test $$s = plain || echo $$s) RECSYS_CHECK_LOG=$$log $(MAKE) --no-print-directory test \
	    || failed="$$failed $$s"; echo "== $$s: $$(( $$(date +%s) - start )) s"; done; \
	$(PY) tests/tolerance_report.py $(PORTABILITY_DIR)/*.jsonl; \
	if [ -n "$$failed" ]; then echo "FAILED under:$$failed"; exit 1; fi

# ---------------------------------------------------------------- learners
lab: data
	$(VENV)/bin/jupyter lab notebooks

NB ?= notebooks/*.ipynb
execute: data
	@for nb in $(NB); do echo "executing $$nb"; \
	  env -u RECSYS_SOLUTIONS $(VENV)/bin/jupyter nbconvert --to notebook --execute --inplace \
	    --NotebookExporter.preprocessors=nbconvert.preprocessors.CoalesceStreamsPreprocessor \
	    --ExecutePreprocessor.timeout=1800 --ExecutePreprocessor.kernel_name=python3 "$$nb" || exit 1; done

site-check: book
	$(PY) tests/site_check.py _build/html

clean:
	rm -rf _build .pytest_cache

distclean: clean
	rm -rf $(VENV) .cache book/_static/mathjax
