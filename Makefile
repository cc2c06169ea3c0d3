# Thin wrapper: `make run` and `make test` do all the set-up on a fresh
# Debian 12 machine (as root): missing packages, configure, build, run.
BUILD_DIR ?= build
BUILD_TYPE ?= Release
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
RUN_ARGS ?= run

DEBIAN_PACKAGES := g++ cmake make ccache libboost-graph-dev libboost-dev libeigen3-dev \
  libcli11-dev libyaml-cpp-dev nlohmann-json3-dev libfmt-dev doctest-dev libbenchmark-dev

.PHONY: all deps configure build run test bench clean

all: build

# Installs only what is missing; skips apt entirely when everything is there.
deps:
	@missing=""; \
	for p in $(DEBIAN_PACKAGES); do \
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

test: build
	@cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS)

bench: build
	@$(BUILD_DIR)/bench/engine_bench

clean:
	rm -rf $(BUILD_DIR)
