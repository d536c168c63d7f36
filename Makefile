# The two commands: `make demo` and `make test`. Everything else is a helper for them.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PORT   ?= 8000

.PHONY: demo test serve lint format bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --editable '.[dev]' --config-settings editable_mode=compat
	touch $(STAMP)

## make demo: bot + WeCom simulator + demo university on http://127.0.0.1:$(PORT)
## (YEAR=2025-2026: the demo of an ended year, whose assessment can be opened)
demo: $(STAMP)
	$(BIN)/python -m bot.devtools.demo --port $(PORT) $(if $(YEAR),--year $(YEAR))

## make test: ruff, then the whole pytest suite (SQLite + in-process Redis unless
## DATABASE_URL / REDIS_URL point at real services)
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest

## make serve: web (gunicorn), outbox sender, scheduler and media worker from Procfile;
## settings from the environment or .env (PostgreSQL and Redis in production)
serve: $(STAMP)
	$(BIN)/flask --app bot db upgrade
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/honcho start -f Procfile

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(STAMP)
	for script in benchmarks/bench_*.py; do $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) instance .pytest_cache .ruff_cache
