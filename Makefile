# Minqing: `make run` sets everything up and serves the app; `make test` sets up and runs the tests.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cksum < requirements.txt | cut -d' ' -f1)
PORT   ?= 8000
export DJANGO_SETTINGS_MODULE := config.settings

.PHONY: setup db run test test-fast check lint messages bench contract clean browser-deps

$(STAMP): requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.txt
	rm -f $(VENV)/.installed-* && touch $(STAMP)

# Browser libraries come from npm (package-lock.json pins them) and are served from static/vendor/,
# never from a CDN: the dashboard's Apache ECharts.
ECHARTS := static/vendor/echarts.min.js

$(ECHARTS): package.json package-lock.json
	@command -v npm >/dev/null 2>&1 || { echo "make setup needs npm (Node.js) to install Apache ECharts for the dashboard: install nodejs and npm (e.g. apt-get install npm) and run make setup again"; exit 2; }
	npm ci --no-audit --no-fund --loglevel=error || { echo "npm ci failed: the dashboard's charts (echarts, package-lock.json) could not be installed from the npm registry"; exit 2; }
	mkdir -p static/vendor
	cp node_modules/echarts/dist/echarts.min.js $(ECHARTS)
	cp node_modules/echarts/LICENSE static/vendor/echarts.LICENSE.txt

setup: $(STAMP) $(ECHARTS)

db: setup
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py createcachetable

run: db
	$(BIN)/python manage.py seed_demo --once
	$(BIN)/python manage.py collectstatic --noinput -v0
	@echo "Minqing 民情: http://127.0.0.1:$(PORT)/  (API docs: http://127.0.0.1:$(PORT)/api/docs/)"
	PORT=$(PORT) $(BIN)/honcho start -f Procfile

test: setup browser-deps
	$(BIN)/python -m pytest

# The browser tests drive Debian's chromium (never a downloaded browser) with a CJK font. They are
# installed once per machine where that is possible (root and apt-get); elsewhere the browser tests
# skip and say why (under MINQING_REQUIRE_SERVICES=1, CI, they fail instead).
browser-deps:
	@if command -v chromium >/dev/null 2>&1 && fc-list :lang=zh 2>/dev/null | grep -q .; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "Installing Debian's chromium and fonts-noto-cjk for the browser tests (once per machine)"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get -q -o DPkg::Lock::Timeout=600 install -y --no-install-recommends chromium fonts-noto-cjk >/dev/null \
	  || { apt-get -q -o DPkg::Lock::Timeout=600 update >/dev/null \
	       && apt-get -q -o DPkg::Lock::Timeout=600 install -y --no-install-recommends chromium fonts-noto-cjk >/dev/null; } \
	  || echo "Could not install chromium and fonts-noto-cjk: the browser tests will skip (or fail under CI)"; \
	else \
	  echo "chromium or a CJK font is missing and cannot be installed here (needs root and apt-get): the browser tests will skip"; \
	fi

check: setup browser-deps lint
	$(BIN)/mypy casework workflows api web config
	$(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/lint-imports
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

messages: setup
	$(BIN)/python manage.py makemessages -l zh_Hans -l en --ignore '.venv/*' --ignore 'var/*' --ignore 'bench/*'
	$(BIN)/python manage.py compilemessages --ignore '.venv/*'

# Benchmarks need a PostgreSQL database of their own, loaded once by bench/generate.py (bench/README.md).
# Every run is appended to bench/results/history.jsonl; BENCH_ARGS passes options (e.g. --quick, --note).
bench: setup
	@case "$$DATABASE_URL" in postgres*bench*) ;; *) echo "make bench needs DATABASE_URL=postgres://…/minqing_bench, loaded by bench/generate.py (see bench/README.md)"; exit 2;; esac
	$(BIN)/python bench/run.py $(BENCH_ARGS)

# The API contract: schemathesis against a live server, as a member and as staff (README, API).
contract: setup
	.ci/contract

clean:
	rm -rf $(VENV) var
