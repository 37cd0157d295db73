# The README's two commands are `make demo` and `make test`; CI runs `make test` too.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PROJECT ?= curate demo: seeds
DEMO := data/demo
GOLD ?= my-gold

.PHONY: demo test install system-deps lint stop

demo: install
	$(BIN)/curate studio up
	$(BIN)/curate ingest seeds -o $(DEMO)/articles.jsonl
	$(BIN)/curate preannotate $(DEMO)/articles.jsonl -o $(DEMO)/preannotated.jsonl
	$(BIN)/curate push $(DEMO)/preannotated.jsonl --project "$(PROJECT)"
	$(BIN)/curate studio status --show-login
	@echo ""
	@echo "Next steps (copy and paste):"
	@echo "  1. Open the URL above, log in, open the project '$(PROJECT)', correct the tasks and submit them."
	@echo "  2. $(BIN)/curate pull --project '$(PROJECT)' --release $(GOLD)   # your corrections become gold $(GOLD)"
	@echo "  3. $(BIN)/curate evaluate --gold $(GOLD)                        # score curate's suggestions on that gold"
	@echo "  4. ls data/gold/$(GOLD)/*/exports                                # its spaCy, CoNLL and JSONL exports"
	@echo "  5. $(BIN)/curate studio down                                     # stop Label Studio"

test: install system-deps
	HF_HUB_OFFLINE=1 CURATE_REQUIRE_BROWSER=1 CURATE_REQUIRE_POSTGRES=1 $(BIN)/pytest

install: $(BIN)/.curate-installed

$(BIN)/.curate-installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[studio,dev,dask,agreement,serve]"
	touch $@

# Debian packages the integration tests drive for real: chromium (browser test) and
# postgresql (Label Studio on PostgreSQL). Installed only when missing.
system-deps:
	bash scripts/system-deps.sh

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

stop:
	$(BIN)/curate studio down
