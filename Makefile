# weightstream: every user-facing command. On a fresh machine `make demo` and `make test` do all set-up.
BUILD      ?= build
BUILD_ASAN ?= build-asan
BUILD_COV  ?= build-cov
JOBS       ?= $(shell nproc)
CMAKE_ARGS ?=
CTEST      = ctest --output-on-failure -j $(JOBS)

.PHONY: all deps configure build test test-long test-asan demo bench train-lte train-lte-smollm2 train-dijiang sim-lte sim-dijiang fuzz synth lint coverage clean

all: build

deps:
	@bash scripts/deps.sh

$(BUILD)/CMakeCache.txt: | deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release $(CMAKE_ARGS)

configure: $(BUILD)/CMakeCache.txt

build: deps configure
	cmake --build $(BUILD) -j $(JOBS)

# Every test: unit, rtl, sim and e2e labels, at smoke depth.
test: build
	cd $(BUILD) && $(CTEST)

# The deep randomized versions (TB depth and fuzz-style loops scale with WS_DEPTH).
test-long: build
	cd $(BUILD) && WS_DEPTH=long $(CTEST)

# The software tests under AddressSanitizer and UBSan (the RTL benches are left to `make test`).
test-asan: deps
	cmake -S . -B $(BUILD_ASAN) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWS_SANITIZE=ON -DWS_RTL=OFF
	cmake --build $(BUILD_ASAN) -j $(JOBS)
	cd $(BUILD_ASAN) && $(CTEST) -L 'unit|e2e'

# Builds only what the demo runs (the tool and the Verilated pipeline), not every bench.
# MODEL=smollm2: SmolLM2-135M answers a chat prompt through the pipeline, lossless and 2:4 (docs/demo.md;
# about 20 minutes on 2 cores, half of it the E-Sparse calibration); the default is stories260K (a minute).
# LTE=1: LTE's expert skip, only the active experts' FFN chunks streamed (docs/lte.md; under a minute).
MODEL ?= stories260k
demo: deps configure
ifeq ($(MODEL),smollm2)
	cmake --build $(BUILD) -j $(JOBS) --target weightstream ws_demo_llm
	@bash scripts/demo_smollm2.sh $(BUILD)
else ifeq ($(LTE),1)
	cmake --build $(BUILD) -j $(JOBS) --target weightstream ws_demo_lte
	@bash scripts/demo_lte.sh $(BUILD)
else
	cmake --build $(BUILD) -j $(JOBS) --target weightstream ws_demo
	@bash scripts/demo.sh $(BUILD)
endif

# Codec against zstd/xz/bzip2/gzip (build/reports/codec.json); the hardware figures
# (build/reports/bench_hw.{json,md}: per block of the weight path and for the whole pipeline LUT4, FF,
# BRAM, DSP, fmax of seed 1 and best of 3, weights/s, per LUT4 and the DRAM bandwidth it keeps up with,
# against issue 12's targets; MAC arrays sparse vs dense); the bundled model under every number format
# through the real tool; the E-Sparse tables (build/reports/esparse.md: stories260K; esparse_smollm2.md:
# SmolLM2 at 2:4 and 4:8 on real text, about 30-40 min on 2 cores). bench_hw.py builds its own targets
# and synthesizes the sets build/reports lacks (seeds 1-3 for the sets a target names: a few hours on
# 2 cores when none is there); QUICK=1 skips synthesis and MiniLM. `make synth` refreshes all results.
# Last, `make sim-lte` and `make sim-dijiang` (the LTE and the DiJiang token-factory sweeps, minutes each).
bench: deps configure
	cmake --build $(BUILD) -j $(JOBS) --target weightstream
	python3 scripts/bench_codec.py --build $(BUILD) $(if $(QUICK),--quick)
	python3 scripts/bench_hw.py --build $(BUILD) -j $(JOBS) $(if $(QUICK),--quick)
	python3 scripts/bench_formats.py --build $(BUILD)
	python3 scripts/bench_esparse.py --build $(BUILD)
	python3 scripts/bench_esparse.py --build $(BUILD) --model smollm2 -j $(JOBS)
	$(MAKE) sim-lte
	$(MAKE) sim-dijiang

# LTE routers for stories260K at 25/50/75% of experts off and their quality table (docs/lte.md):
# JAX on CPU, installed by train/common/pyenv.py on first use; about a quarter of an hour on 2 cores.
train-lte: deps configure
	cmake --build $(BUILD) -j $(JOBS) --target weightstream
	bash scripts/train_lte.sh $(BUILD)

# LTE routers for SmolLM2-135M (layer-local stage 1, the model frozen) at 25/50/75% of experts off and
# their quality table on the real text's held-out part (docs/lte.md "SmolLM2-135M"); about 40 minutes on 2 loaded
# cores: 11 training, most of the rest the two evals.
train-lte-smollm2: deps configure
	cmake --build $(BUILD) -j $(JOBS) --target weightstream
	bash scripts/train_lte_smollm2.sh $(BUILD)

# DiJiang on stories260K (docs/dijiang.md): distillation with the DCT feature map and with the random-feature
# baseline (JAX on CPU, train/common/pyenv.py installs it), then their quality table.
# MODEL=smollm2: SmolLM2-135M's layer-by-layer distillation on the real text's calibration part and a short
# end-to-end KL phase, then the quality table on its held-out part (about 45 minutes on 2 loaded cores).
train-dijiang: deps configure
	cmake --build $(BUILD) -j $(JOBS) --target weightstream
ifeq ($(MODEL),smollm2)
	bash scripts/train_dijiang_smollm2.sh $(BUILD)
else
	bash scripts/train_dijiang.sh $(BUILD)
endif

fuzz: deps
	@bash scripts/fuzz.sh

# Yosys + nextpnr (iCE40 HX8K and ECP5-85k) for every block x parameter set: utilisation and fmax
# in $(BUILD)/reports/synth.{md,json} (synth/run_synth.py --help; docs/synth.md).
synth: deps
	python3 synth/run_synth.py --family all -j $(JOBS) --out $(BUILD)/reports --work $(BUILD)/synth-work

# The token-factory sweeps (docs/token_factory.md): N = 1..32 processors x raw / compressed / 2:4 on
# the bundled model, through a .wsz made by the tool; $(BUILD)/reports/token_factory.{json,md,png}. Then
# SmolLM2-135M at 2,048 positions of KV cache, one layer simulated on its real chunks and the whole model
# through its roofline (the first run prunes it with E-Sparse, about 7 minutes on 2 loaded cores);
# $(BUILD)/reports/token_factory_smollm2.{json,md,png}.
.PHONY: sim
sim: deps configure
	cmake --build $(BUILD) -j $(JOBS) --target token_factory weightstream
	python3 sim/sweep.py --build $(BUILD) --jobs $(JOBS)

# The token factory with LTE (docs/token_factory.md section 7): dense vs LTE at 25/50/75% of experts off,
# raw, compressed and compressed 2:4 (prune --lte), N = 1..32, the routers of `make train-lte` (else the
# activation-norm oracle), and the expert size; build/reports/token_factory_lte.{json,md,png}. Part of
# `make bench`.
sim-lte: deps configure
	cmake --build $(BUILD) -j $(JOBS) --target token_factory weightstream
	python3 sim/sweep_lte.py --build $(BUILD) --jobs $(JOBS)

# The token factory with DiJiang attention (docs/token_factory.md section 8): context 256..32K x N = 1..32 x
# (KV cache, DiJiang state fp32 / bf16 / on chip), SmolLM2-135M (a layer sample) and stories260K;
# build/reports/token_factory_dijiang.{json,md,png}. Part of `make bench`.
sim-dijiang: deps configure
	cmake --build $(BUILD) -j $(JOBS) --target token_factory weightstream
	python3 sim/sweep_dijiang.py --build $(BUILD) --jobs $(JOBS)

# Line and toggle coverage of rtl/ from the smoke benches (docs/coverage.md): the benches built with
# Verilator coverage in $(BUILD_COV), their tests run (ctest -L rtl without synthesis and lint), the
# counts merged by verilator_coverage into $(BUILD)/reports/coverage.{json,md}. Not part of `make test`.
coverage: deps
	cmake -S . -B $(BUILD_COV) -DCMAKE_BUILD_TYPE=Release -DWS_COVERAGE=ON $(CMAKE_ARGS)
	cmake --build $(BUILD_COV) -j $(JOBS) --target ws_benches
	rm -rf $(BUILD_COV)/coverage
	cd $(BUILD_COV) && $(CTEST) -L rtl -E '^(synth_|rtl_lint$$)'
	python3 scripts/coverage.py --data $(BUILD_COV)/coverage --out $(BUILD)/reports

# verilator --lint-only -Wall of every block with its own file list (rtl/<block>.f); CTest runs it too.
lint: deps
	python3 scripts/lint_rtl.py

clean:
	rm -rf $(BUILD) $(BUILD_ASAN) $(BUILD_COV) build-fuzz
