# chatd: the front door.
#   make          build Release into build/ (build/chatd, build/chat, build/chat-load)
#   make run      start a private MariaDB and chatd on port 5000 against it
#   make cluster  N=3 nodes on ports 5000, 5010, ... sharing the private MariaDB and Redis
#   make test     unit + integration tests, Release and ASan/UBSan builds
#   make bench    benchmarks against ngircd and InspIRCd (docs/benchmarks.md)
#   make fuzz     run each libFuzzer target for FUZZ_SECONDS
#   make fmt      clang-format the sources
#   make install  install under PREFIX (/usr/local), DESTDIR for a staging root; make uninstall
#   make deb      build chatd_<version>_<arch>.deb in build-deb/ (scripts/build-deb.sh)
#   make clean

BUILD      ?= build
ASAN_BUILD ?= build-asan
JOBS       ?= $(shell nproc)
CMAKE_GEN  := $(shell command -v ninja >/dev/null 2>&1 && echo -G Ninja)
PORT       ?= 5000
ARGS       ?=
PREFIX     ?= /usr/local
DESTDIR    ?=

.PHONY: all deps build build-asan run cluster test test-release test-asan bench fuzz fmt clean install uninstall deb

all: build

deps:
	@scripts/install-deps.sh

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=Release

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

$(ASAN_BUILD)/CMakeCache.txt:
	cmake -S . -B $(ASAN_BUILD) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=Debug -DCHATD_SANITIZE=ON

build-asan: deps $(ASAN_BUILD)/CMakeCache.txt
	cmake --build $(ASAN_BUILD) -j $(JOBS)

run: build
	@scripts/run.sh --port $(PORT) $(ARGS)

N          ?= 3
cluster: build
	@PORT=$(PORT) scripts/cluster.sh $(N) $(ARGS)

test: build build-asan
	@scripts/test.sh $(BUILD) $(ASAN_BUILD)

install: build
	DESTDIR=$(DESTDIR) cmake --install $(BUILD) --prefix $(PREFIX)

uninstall:
	@DESTDIR=$(DESTDIR) scripts/uninstall.sh $(BUILD)/install_manifest.txt

deb:
	@scripts/install-deps.sh --package
	@scripts/build-deb.sh

bench:
	@scripts/bench.sh

fuzz:
	@scripts/fuzz.sh

fmt:
	find src tests -name '*.cpp' -o -name '*.hpp' | xargs clang-format -i

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) build-tsan build-fuzz build-deb
