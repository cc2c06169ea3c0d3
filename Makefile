# Thin wrapper: `make run` and `make test` do all the set-up on a fresh
# Debian 12 machine (as root): missing packages, configure, build, run.
BUILD_DIR ?= build
BUILD_TYPE ?= Release
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
RUN_ARGS ?= run

DEBIAN_PACKAGES := g++ cmake make ccache libboost-graph-dev libboost-dev libeigen3-dev \
  libcli11-dev libyaml-cpp-dev nlohmann-json3-dev libfmt-dev doctest-dev libbenchmark-dev libjs-dygraphs
# libjs-dygraphs: the charting library report.html inlines at build time.
# Only `make test` needs these: the sweep shards run by GNU parallel and by a
# real single-node Slurm cluster (tests/distributed/); a real Prometheus that
# calibrate reads a workqueue-depth range query from (tests/prometheus/);
# headless Chromium driven by Selenium that opens report.html (tests/browser/).
TEST_PACKAGES := parallel slurm-wlm munge prometheus curl chromium chromium-driver python3-selenium
# Only `make fuzz` needs these (libFuzzer ships in libclang-rt-14-dev).
FUZZ_PACKAGES := clang libclang-rt-14-dev

# `make test-asan`: the whole suite with AddressSanitizer + UBSan, assertions and
# the models' invariant checks (sim/invariant.h) on.
ASAN_BUILD_DIR ?= build-asan
SANITIZER_ENV := ASAN_OPTIONS=detect_leaks=1:strict_string_checks=1:check_initialization_order=1 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# `make fuzz`: the libFuzzer targets of fuzz/ for FUZZ_SECONDS, seeded from scenarios/.
FUZZ_BUILD_DIR ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_ARGS ?=

.PHONY: all deps deps-test deps-fuzz configure build run test test-asan fuzz mutants bench clean

all: build

# Installs only what is missing; skips apt entirely when everything is there.
deps: PACKAGES = $(DEBIAN_PACKAGES)
deps-test: PACKAGES = $(DEBIAN_PACKAGES) $(TEST_PACKAGES)
deps-fuzz: PACKAGES = $(DEBIAN_PACKAGES) $(FUZZ_PACKAGES)
deps deps-test deps-fuzz:
	@missing=""; \
	for p in $(PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages:$$missing"; \
	  SUDO=""; [ "$$(id -u)" -ne 0 ] && SUDO=sudo; \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi

configure: deps
	@cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) >/dev/null

build: configure
	@cmake --build $(BUILD_DIR) -j $(JOBS)

run: build
	@$(BUILD_DIR)/app/epsim $(RUN_ARGS)

test: deps-test build
	@cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS)

test-asan: deps-test
	@cmake -S . -B $(ASAN_BUILD_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" \
	  -DEPSIM_SANITIZE=ON -DEPSIM_CHECK_INVARIANTS=ON -DEPSIM_BUILD_BENCH=OFF >/dev/null
	@cmake --build $(ASAN_BUILD_DIR) -j $(JOBS)
	@cd $(ASAN_BUILD_DIR) && $(SANITIZER_ENV) ctest --output-on-failure -j $(JOBS)

# Two targets share FUZZ_SECONDS: scenario_fuzz (scenario YAML) and cli_fuzz
# (the flags and --set expressions of `epsim run`), half each. New corpus
# entries go to $(FUZZ_BUILD_DIR)/corpus-TARGET; a finding is written to
# $(FUZZ_BUILD_DIR)/artifacts/ and fails the target.
FUZZ_HALF = $(shell echo $$(( $(FUZZ_SECONDS) / 2 > 0 ? $(FUZZ_SECONDS) / 2 : 1 )))
fuzz: deps-fuzz
	@cmake -S . -B $(FUZZ_BUILD_DIR) -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" -DEPSIM_FUZZ=ON -DEPSIM_BUILD_TESTS=OFF -DEPSIM_BUILD_BENCH=OFF >/dev/null
	@cmake --build $(FUZZ_BUILD_DIR) -j $(JOBS) --target scenario_fuzz cli_fuzz
	@rm -rf $(FUZZ_BUILD_DIR)/seeds && mkdir -p $(FUZZ_BUILD_DIR)/seeds/scenario_fuzz $(FUZZ_BUILD_DIR)/artifacts \
	  $(FUZZ_BUILD_DIR)/corpus-scenario_fuzz $(FUZZ_BUILD_DIR)/corpus-cli_fuzz
	@cp scenarios/*.yaml $(FUZZ_BUILD_DIR)/seeds/scenario_fuzz/ && for f in scenarios/common/*.yaml; do \
	  cp $$f $(FUZZ_BUILD_DIR)/seeds/scenario_fuzz/common-$$(basename $$f); done
	@cp -r fuzz/cli-seeds $(FUZZ_BUILD_DIR)/seeds/cli_fuzz
	@for t in scenario_fuzz cli_fuzz; do \
	  echo "Fuzzing $$t for $(FUZZ_HALF)s (progress in $(FUZZ_BUILD_DIR)/$$t.log)"; \
	  dict=""; [ $$t = scenario_fuzz ] && dict="-dict=fuzz/scenario.dict"; \
	  $(SANITIZER_ENV) $(FUZZ_BUILD_DIR)/fuzz/$$t -max_total_time=$(FUZZ_HALF) -timeout=10 -rss_limit_mb=2048 \
	    -max_len=8192 $$dict -artifact_prefix=$(FUZZ_BUILD_DIR)/artifacts/ -print_final_stats=1 \
	    $(FUZZ_ARGS) $(FUZZ_BUILD_DIR)/corpus-$$t $(FUZZ_BUILD_DIR)/seeds/$$t >$(FUZZ_BUILD_DIR)/$$t.log 2>&1; \
	  rc=$$?; grep -v -e '^#[0-9]' -e '^\"' -e 'NEW_FUNC' $(FUZZ_BUILD_DIR)/$$t.log; [ $$rc -eq 0 ] || exit $$rc; \
	done

# Targeted mutants of the central behaviours, each of which the suite must
# kill (tools/mutants.sh); a survivor is named and fails the target.
mutants: deps-test
	@tools/mutants.sh

bench: build
	@$(BUILD_DIR)/bench/engine_bench

clean:
	rm -rf $(BUILD_DIR)
