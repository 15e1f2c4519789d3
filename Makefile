# Two commands set up everything on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Where a machine keeps prebuilt wheels (e.g. the CPU torch), pip looks there first.
FIND_LINKS := $(if $(wildcard /opt/wheels),--find-links /opt/wheels,)

.PHONY: install demo bench evaluate results test test-slow test-kafka lint typecheck pytest format clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet $(FIND_LINKS) -e '.[train,dev,confluent]'
	touch $(STAMP)

demo: install
	$(BIN)/edgewatch demo

# On Apache Kafka (../shared/kafka, started and stopped here) where it can run, with the embedded
# broker's run beside it for reference (BENCHMARKS-embedded.md); else on the embedded broker.
# `make bench BOOTSTRAP=HOST:PORT` measures on a broker of yours instead.
# On a full Kafka, the Quix Streams peer runs beside the member: Quix Streams lives in its own
# virtualenv (.venv-peers), as it pins a confluent-kafka of its own.
KAFKA_DIR ?= ../shared/kafka
PEERS := .venv-peers
QUIX := --quix $(PEERS)/bin/python
$(PEERS)/.installed:
	python3 -m venv $(PEERS)
	$(PEERS)/bin/pip install --quiet 'quixstreams==3.28.1'
	touch $@
bench: install $(PEERS)/.installed
ifdef BOOTSTRAP
	$(BIN)/edgewatch bench -b $(BOOTSTRAP) $(QUIX) --out BENCHMARKS.md
else
	@if [ -x $(KAFKA_DIR)/broker.sh ] && command -v java >/dev/null; then \
	  dir=$$(mktemp -d) && addr=$$($(KAFKA_DIR)/broker.sh start $$dir | tail -n 1) && \
	  $(BIN)/edgewatch bench -b $$addr $(QUIX) \
	    --broker-name 'Apache Kafka 3.6 (../shared/kafka)' --out BENCHMARKS.md; rc=$$?; \
	  $(KAFKA_DIR)/broker.sh stop $$dir; rm -rf $$dir; \
	  [ $$rc -eq 0 ] && $(BIN)/edgewatch bench --out BENCHMARKS-embedded.md; \
	else $(BIN)/edgewatch bench --out BENCHMARKS.md; fi
endif

# The online detector's tables under docs/results (the README quotes them): labelled synthetic
# streams no model has seen, and the shipped data sets' test splits without their models.
DATA ?= ../shared/data
evaluate: install
	$(BIN)/edgewatch datasets synth --out build/synthetic --files 40 --seed 7
	$(BIN)/edgewatch evaluate --dataset csv --path build/synthetic --label-column label \
		--out docs/results
	$(BIN)/edgewatch evaluate --dataset simulated --model online --out docs/results
	$(BIN)/edgewatch evaluate --dataset fd001 --model online --path $(DATA)/cmapss \
		--out docs/results

# The models' tables under docs/results (the README quotes them): every comparison variant and
# baseline, the gate sweeps and the shipped artifacts through the streaming cascade. About an
# hour on two cores (the simulated comparison is most of it).
results: install
	$(BIN)/edgewatch models compare --dataset fd001 --path $(DATA)/cmapss --out docs/results
	$(BIN)/edgewatch models compare --dataset fd001 --recipe paper --path $(DATA)/cmapss \
		--out docs/results
	$(BIN)/edgewatch models compare --dataset simulated --out docs/results
	$(BIN)/edgewatch models cascade --dataset fd001 --path $(DATA)/cmapss --out docs/results
	$(BIN)/edgewatch models cascade --dataset simulated --out docs/results
	$(BIN)/edgewatch evaluate --dataset fd001 --path $(DATA)/cmapss --out docs/results
	$(BIN)/edgewatch evaluate --dataset simulated --out docs/results

test: install lint typecheck pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

pytest: install
	$(BIN)/pytest

test-slow: install
	$(BIN)/pytest -m slow

# The core Kafka behaviour on a real Apache Kafka 3.6 (../shared/kafka; skipped where absent).
KAFKA_CORE := tests/pipeline/test_checkpoint_kafka.py tests/pipeline/test_state_kafka.py \
	tests/pipeline/test_hostile_kafka.py tests/pipeline/test_scale_out.py \
	tests/pipeline/cli/test_processes.py tests/pipeline/kafka/test_kafka_python.py \
	tests/faults/test_faults.py tests/pipeline/kafka/test_confluent.py \
	tests/pipeline/test_supervisor.py
test-kafka: install
	EDGEWATCH_TEST_BROKERS=apache $(BIN)/pytest -m integration $(KAFKA_CORE)

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) $(PEERS) .mypy_cache .pytest_cache .ruff_cache .hypothesis
