# Two commands do all the set-up: `make synth` and `make test`. Installs re-run only when their pins change.
SHELL := /bin/bash
.DEFAULT_GOAL := synth

PYTHON ?= python3
PYTEST_ARGS ?=
# Test processes: two for two cores; each starts its own Spark session and CDK runtime.
TEST_WORKERS ?= 2
VENV := .venv
VENV_PYTHON := $(VENV)/bin/python
RUNTIME_STAMP := $(VENV)/.runtime-installed
DEV_STAMP := $(VENV)/.dev-installed
NODE_STAMP := node_modules/.installed
CHECKOV_VENV := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed
# The JVM artefacts local Spark needs beyond PySpark, from Maven Central, each checked against its
# pinned SHA-256 in jars.sha256. Iceberg: the version Glue 5.0 bundles (AWS Glue Developer Guide,
# "Using the Iceberg framework in AWS Glue"). AWS's DQDL engine (deequ's com.amazon.deequ.dqdl) and
# its parser (software.amazon.glue:dqdl): the local data quality evaluator; the tests also check our
# parser against AWS's. deequ 2.1.0 declares dqdl 1.0.7, which Maven Central does not serve; 1.0.0
# is the newest it serves, and the rule tests run every rule type through the pair.
JARS_DIR := .jars
JARS_STAMP := $(JARS_DIR)/.fetched
JAR_ARTIFACTS := org.apache.iceberg:iceberg-spark-runtime-3.5_2.12:1.7.1:jar software.amazon.glue:dqdl:1.0.0:jar com.amazon.deequ:deequ:2.1.0-spark-3.5:jar

export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: synth test run-local bench bench-synth mutation mutation-changed diagram check-python check-node check-java check-maven jars clean

check-python:
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found; install Python 3.11 or newer" >&2; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "error: Python 3.11 or newer is required, found $$($(PYTHON) --version 2>&1); set PYTHON=/path/to/python3.11" >&2; exit 1; }

check-node:
	@command -v node >/dev/null || { echo "error: node not found; install Node.js 20 or newer" >&2; exit 1; }
	@node -e 'process.exit(parseInt(process.versions.node) < 20 ? 1 : 0)' || { echo "error: Node.js 20 or newer is required, found $$(node --version)" >&2; exit 1; }

check-java:
	@command -v java >/dev/null || { echo "error: java not found; install Java 17 (local Spark needs it)" >&2; exit 1; }
	@java -version 2>&1 | grep -qE 'version "(17|21)' || { echo "error: Java 17 is required for local Spark, found: $$(java -version 2>&1 | head -n 1)" >&2; exit 1; }

check-maven:
	@command -v mvn >/dev/null || { echo "error: mvn not found; install Apache Maven 3.8 or newer (it fetches the pinned jars local Spark needs from Maven Central)" >&2; exit 1; }

$(JARS_STAMP): jars.sha256 | check-maven check-java
	@mkdir -p $(JARS_DIR)
	@for artifact in $(JAR_ARTIFACTS); do \
		mvn --batch-mode --quiet dependency:copy -Dartifact=$$artifact -Dtransitive=false -DoutputDirectory=$(JARS_DIR) || exit 1; \
	done
	@sha256sum --check --strict --quiet jars.sha256 || { rm -f $(JARS_DIR)/*.jar; echo "error: a jar in $(JARS_DIR) does not match its pinned SHA-256 in jars.sha256; removed them" >&2; exit 1; }
	@touch $@

jars: $(JARS_STAMP)

$(RUNTIME_STAMP): requirements.txt | check-python
	@test -x $(VENV_PYTHON) || $(PYTHON) -m venv $(VENV)
	$(VENV_PYTHON) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	@touch $@

$(DEV_STAMP): requirements-dev.txt $(RUNTIME_STAMP)
	@$(VENV_PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' || { echo "error: the tests run the job on Glue 5.0's Python, 3.11 (awsgluedataplanepython requires it), found $$($(VENV_PYTHON) --version 2>&1); rm -rf $(VENV) and set PYTHON=/path/to/python3.11" >&2; exit 1; }
	$(VENV_PYTHON) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@

$(CHECKOV_STAMP): requirements-checkov.txt | check-python
	@test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-checkov.txt
	@touch $@

$(NODE_STAMP): package.json package-lock.json | check-node
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

synth: $(RUNTIME_STAMP) $(NODE_STAMP)
	@rm -rf cdk.out
	@npx cdk synth --quiet
	@$(VENV_PYTHON) -m glue_etl_pipeline.synth_summary cdk.out

test: $(DEV_STAMP) $(NODE_STAMP) $(CHECKOV_STAMP) $(JARS_STAMP) | check-java
	$(VENV_PYTHON) -m pytest --numprocesses $(TEST_WORKERS) $(PYTEST_ARGS)

run-local: $(DEV_STAMP) $(JARS_STAMP) | check-java
	$(VENV_PYTHON) -m gluescripts.run_local --input samples --output out/run-local

bench: $(DEV_STAMP) $(JARS_STAMP) | check-java
	$(VENV_PYTHON) -m tools.bench

bench-synth: $(RUNTIME_STAMP) $(NODE_STAMP)
	$(VENV_PYTHON) -m tools.bench_synth

# Mutation testing (not part of `make test`): mutmut plants small bugs in the modules of pyproject's
# [tool.mutation], tools/mutation.py runs the assertion tests that reach each one (snapshots
# excluded), and the report holds the per-module scores against tools/mutation_equivalents.toml.
# `make mutation` is a full run; started again over the same tree after an interruption, it judges
# only the mutants still without a verdict. `make mutation-changed` mutates only the modules that
# differ from MUTATION_BASE (committed or not).
MUTATION_BASE ?= main
mutation: $(DEV_STAMP) $(NODE_STAMP) $(JARS_STAMP) | check-java
	$(VENV_PYTHON) -m tools.mutation >> mutants.log 2>&1 || { tail -n 30 mutants.log >&2; exit 1; }
	$(VENV_PYTHON) -m tools.mutation_report

mutation-changed: $(DEV_STAMP) $(NODE_STAMP) $(JARS_STAMP) | check-java
	@rm -rf mutants
	$(VENV_PYTHON) -m tools.mutation --changed-since $(MUTATION_BASE) > mutants.log 2>&1 || { tail -n 30 mutants.log >&2; exit 1; }
	@if [ -d mutants ]; then $(VENV_PYTHON) -m tools.mutation_report; else tail -n 1 mutants.log; fi

# docs/infra.svg is drawn from DEV's template (both triggers, so every kind of resource appears).
diagram: synth
	@command -v dot >/dev/null || { echo "error: Graphviz 'dot' not found; install it (apt-get install graphviz)" >&2; exit 1; }
	$(VENV_PYTHON) -m tools.diagram cdk.out/GlueEtlPipeline-DEV.template.json > docs/infra.dot
	dot -Tsvg docs/infra.dot -o docs/infra.svg

clean:
	rm -rf cdk.out .pytest_cache spark-warehouse out bench-data mutants mutants.log $(JARS_DIR)
