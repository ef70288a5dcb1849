# hinomi - build, run, test, bench.
#
#   make run     install what is missing, build, run the agent on this host
#   make check   install what is missing, build, run every test (then again
#                under AddressSanitizer + UndefinedBehaviorSanitizer)
#   make bench   the workloads with and without the agent, side by side
#
# Sources are found by folder: every src/**/*.c is part of the binary,
# src/main.c holds main(); every tests/unit/test_*.c and
# tests/integration/test_*.c is one cmocka test program.  Adding a file needs
# no change here.

BUILD     ?= build
SAN       ?= 0
CC        ?= gcc
CLANG     ?= clang
BPFTOOL   ?= bpftool
ARCH      := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
STATE_DIR ?= /var/lib/hinomi

CFLAGS_BASE := -std=c17 -D_GNU_SOURCE -Wall -Wextra -Werror -g -O2 \
	-Isrc -I$(BUILD) -fno-strict-aliasing -pthread
ifeq ($(SAN),1)
CFLAGS_BASE += -O1 -fno-omit-frame-pointer -fsanitize=address,undefined \
	-fno-sanitize-recover=undefined
LDFLAGS_SAN := -fsanitize=address,undefined
endif
CFLAGS  ?=
CFLAGS  += $(CFLAGS_BASE)
LDLIBS  := $(LDFLAGS_SAN) -lbpf -lelf -lz -lsqlite3 -lcrypto -lyaml -lpcre2-8 -ljansson -pthread
# Graphviz lays out investigation graphs (src/investigate/render.c)
CFLAGS_BASE += $(shell pkg-config --cflags libgvc 2>/dev/null)
LDLIBS  += $(shell pkg-config --libs libgvc 2>/dev/null || echo -lgvc -lcgraph -lcdt)
# nftables puts network isolation in place (src/respond/isolate.c)
CFLAGS_BASE += $(shell pkg-config --cflags libnftables 2>/dev/null)
LDLIBS  += $(shell pkg-config --libs libnftables 2>/dev/null || echo -lnftables)
# libyara: `hinomi scan` matches YARA rules over files and process memory
# (src/scan/)
CFLAGS_BASE += $(shell pkg-config --cflags yara 2>/dev/null)
LDLIBS  += $(shell pkg-config --libs yara 2>/dev/null || echo -lyara)

# Hyperscan (amd64 only in Debian) speeds up the rule engine's literal
# prefilter (src/detect/literal.c); without it the engine is slower, not
# different.  HYPERSCAN=0 builds without it.
HYPERSCAN ?= $(shell pkg-config --exists libhs 2>/dev/null && echo 1 || echo 0)
ifeq ($(HYPERSCAN),1)
CFLAGS_BASE += -DHAVE_HYPERSCAN $(shell pkg-config --cflags libhs)
LDLIBS  += $(shell pkg-config --libs libhs)
endif

SRC      := $(shell find src -name '*.c' -not -name '*.bpf.c' | sort)
OBJ      := $(patsubst src/%.c,$(BUILD)/obj/%.o,$(SRC))
LIBOBJ   := $(filter-out $(BUILD)/obj/main.o,$(OBJ))
BPF_SRC  := src/sensor/bpf/sensor.bpf.c
BPF_HDRS := $(wildcard src/sensor/bpf/*.h) src/sensor/wire.h
UNIT     := $(patsubst tests/%.c,$(BUILD)/tests/%,$(wildcard tests/unit/test_*.c))
INTEG    := $(patsubst tests/%.c,$(BUILD)/tests/%,$(wildcard tests/integration/test_*.c))
TESTLIB  := $(patsubst tests/%.c,$(BUILD)/tests/obj/%.o,$(wildcard tests/lib/*.c))

.PHONY: all deps build run check test unit integration san bench clean

all: build

deps:
	@sh scripts/install-deps.sh

build: $(BUILD)/hinomi

$(BUILD)/vmlinux.h:
	@mkdir -p $(dir $@)
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@.tmp && mv $@.tmp $@

$(BUILD)/sensor.bpf.o: $(BPF_SRC) $(BPF_HDRS) $(BUILD)/vmlinux.h
	$(CLANG) -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Werror \
		-Isrc -I$(BUILD) -c $(BPF_SRC) -o $@
	llvm-strip -g $@ 2>/dev/null || true

$(BUILD)/sensor.skel.h: $(BUILD)/sensor.bpf.o
	$(BPFTOOL) gen skeleton $< name hn_sensor_bpf > $@.tmp && mv $@.tmp $@

# an object built with another HYPERSCAN setting is built again
$(BUILD)/hyperscan.$(HYPERSCAN):
	@mkdir -p $(dir $@)
	@rm -f $(BUILD)/hyperscan.*
	@touch $@
$(BUILD)/obj/detect/literal.o: $(BUILD)/hyperscan.$(HYPERSCAN)

$(BUILD)/obj/%.o: src/%.c $(BUILD)/sensor.skel.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/hinomi: $(OBJ)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/obj/%.o: tests/%.c $(BUILD)/sensor.skel.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests -MMD -MP -c $< -o $@

$(BUILD)/tests/unit/%: $(BUILD)/tests/obj/unit/%.o $(LIBOBJ) $(TESTLIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS) -lcmocka

$(BUILD)/tests/integration/%: $(BUILD)/tests/obj/integration/%.o $(LIBOBJ) $(TESTLIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS) -lcmocka

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# build in a second make: what deps installed is seen (HYPERSCAN)
run: deps
	$(MAKE) build
	@mkdir -p $(STATE_DIR)
	$(BUILD)/hinomi agent --db $(STATE_DIR)/hinomi.db

# One suite: unit tests, then the integration tests that load the real
# sensor (root).  HINOMI_BIN lets integration tests run the binary.
test: build $(UNIT) $(INTEG)
	@sh tests/run.sh $(BUILD) $(UNIT) $(INTEG)

check: deps
	$(MAKE) test
	$(MAKE) test BUILD=build-san SAN=1

bench: deps
	$(MAKE) build
	@sh bench/run.sh $(BUILD)

clean:
	rm -rf build build-san
