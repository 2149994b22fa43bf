# SPDX-License-Identifier: Apache-2.0
# Thin wrapper over CMake presets. `make run` and `make test` are the README's two commands.
PRESET ?= release
BUILD_DIR := build/$(PRESET)
APICAL := $(BUILD_DIR)/apical

.PHONY: deps configure build build-cli run test test-fast bench format clean

deps:
	@bash scripts/install-deps.sh

configure: deps
	@cmake --preset $(PRESET) >/dev/null

build: configure
	@cmake --build --preset $(PRESET) -j 2

build-cli: configure
	@cmake --build --preset $(PRESET) -j 2 --target apical_cli

# The main job: a short, useful spiking training run of 784-500-10.
run: build-cli
	$(APICAL) data check
	$(APICAL) train configs/quickstart.yaml

test: build
	ctest --preset $(PRESET)

test-fast: build
	ctest --preset fast

bench: build
	$(APICAL) bench

format:
	clang-format -i $$(git ls-files '*.hpp' '*.cpp')

clean:
	rm -rf build
