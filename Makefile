# Switchyard build. `make` builds build/switchyard; see README for the rest.
#
# Variables: CC, O (optimisation, default -O2), WERROR=1 (CI sets it via CI=true),
# FUZZ_SECONDS (per fuzz target in `make fuzz`, default 10).

.DEFAULT_GOAL := all
CC      ?= cc
PKGS    := openssl yaml-0.1 libcares libpcre2-8 sqlite3 libpq hiredis
O       ?= -O2
WARN    := -Wall -Wextra -Wshadow -Wconversion -Wstrict-prototypes -Wmissing-prototypes
ifneq ($(filter true 1,$(CI) $(WERROR)),)
WARN    += -Werror
endif
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CFLAGS_BASE := -std=c11 -D_GNU_SOURCE -g $(WARN) -Isrc $(PKG_CFLAGS) -MMD -MP
LDLIBS  := $(PKG_LIBS) -lpthread -lm
VERSION := $(shell git describe --always --dirty 2>/dev/null || echo unknown)

LIB_SRC := $(sort $(shell find src -name '*.c' ! -path 'src/cli/main.c'))
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
FUZZ_SRC := $(sort $(wildcard fuzz/fuzz_*.c))

# Data compiled into the binary: data/catalog.yaml becomes a C string.
build/gen/catalog_data.c: data/catalog.yaml
	@mkdir -p $(@D)
	@{ echo '/* generated from data/catalog.yaml: do not edit */'; \
	   echo '#include <stddef.h>'; \
	   echo 'extern const char sy_catalog_yaml[]; extern const size_t sy_catalog_yaml_len;'; \
	   echo 'const char sy_catalog_yaml[] ='; \
	   sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/"/' -e 's/$$/\\n"/' $<; \
	   echo ';'; echo 'const size_t sy_catalog_yaml_len = sizeof(sy_catalog_yaml) - 1;'; } > $@

# Three build flavours share the source list: normal, asan (ASan+UBSan), fuzz.
define flavour
$(1)_OBJ := $$(patsubst src/%.c,build/$(1)/obj/%.o,$$(LIB_SRC)) build/$(1)/obj/gen/catalog_data.o
build/$(1)/obj/%.o: src/%.c
	@mkdir -p $$(@D)
	$$(CC) $$(CFLAGS_BASE) $(2) -c $$< -o $$@
build/$(1)/obj/gen/%.o: build/gen/%.c
	@mkdir -p $$(@D)
	$$(CC) $$(CFLAGS_BASE) $(2) -c $$< -o $$@
build/$(1)/libswitchyard.a: $$($(1)_OBJ)
	@rm -f $$@
	ar rcs $$@ $$^
-include $$($(1)_OBJ:.o=.d)
endef

# (Flags with commas go through variables: $(call) splits its arguments at commas.)
ASAN_FLAGS := -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_FLAGS := -O1 -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -DSY_FUZZING
$(eval $(call flavour,normal,$$(O)))
$(eval $(call flavour,asan,$$(ASAN_FLAGS)))
$(eval $(call flavour,fuzz,$$(FUZZ_FLAGS)))

.PHONY: all deps test unit asan fuzz fuzz-build bench bench-build bench-smoke format run clean

all: build/switchyard

build/switchyard: src/cli/main.c build/normal/libswitchyard.a
	$(CC) $(CFLAGS_BASE) $(O) -DSY_VERSION='"$(VERSION)"' $< build/normal/libswitchyard.a $(LDLIBS) -o $@

build/switchyard-asan: src/cli/main.c build/asan/libswitchyard.a
	$(CC) $(CFLAGS_BASE) $(ASAN_FLAGS) -DSY_VERSION='"$(VERSION)"' $< build/asan/libswitchyard.a $(LDLIBS) -o $@

# Unit tests: one binary per tests/unit/test_*.c, linked against the library.
UNIT_BIN := $(patsubst tests/unit/%.c,build/normal/tests/%,$(UNIT_SRC))
UNIT_BIN_ASAN := $(patsubst tests/unit/%.c,build/asan/tests/%,$(UNIT_SRC))
build/normal/tests/%: tests/unit/%.c tests/unit/unit.h build/normal/libswitchyard.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_BASE) $(O) -Itests/unit $< build/normal/libswitchyard.a $(LDLIBS) -o $@
build/asan/tests/%: tests/unit/%.c tests/unit/unit.h build/asan/libswitchyard.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_BASE) $(ASAN_FLAGS) -Itests/unit $< build/asan/libswitchyard.a $(LDLIBS) -o $@

unit: $(UNIT_BIN) build/switchyard
asan: $(UNIT_BIN_ASAN) build/switchyard-asan

FUZZ_BIN := $(patsubst fuzz/%.c,build/fuzz/bin/%,$(FUZZ_SRC))
build/fuzz/bin/%: fuzz/%.c build/fuzz/libswitchyard.a
	@mkdir -p $(@D)
	clang $(CFLAGS_BASE) -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined $< build/fuzz/libswitchyard.a $(LDLIBS) -o $@
fuzz-build: CC := clang
fuzz-build: $(FUZZ_BIN)
fuzz: fuzz-build
	@FUZZ_SECONDS=$${FUZZ_SECONDS:-10} tests/fuzz.sh $(FUZZ_BIN)

# Micro-benchmarks: one binary per bench/*.c, linked with the library and
# the packaged alternatives they compare against (jansson).
BENCH_SRC := $(sort $(wildcard bench/*.c))
BENCH_BIN := $(patsubst bench/%.c,build/bench/%,$(BENCH_SRC))
build/bench/%: bench/%.c build/normal/libswitchyard.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_BASE) $(O) -DNDEBUG $(shell pkg-config --cflags jansson 2>/dev/null) $< build/normal/libswitchyard.a $(LDLIBS) $(shell pkg-config --libs jansson 2>/dev/null) -o $@
# The load generators (bench/openloop.c, bench/streams.c) are plain C with no
# Switchyard code in them: they measure the binary and must not share its bugs.
BENCH_TOOLS := build/bench/openloop build/bench/streams
$(BENCH_TOOLS): build/bench/%: bench/%.c
	@mkdir -p $(@D)
	$(CC) -std=c11 -D_GNU_SOURCE -g $(WARN) -MMD -MP $(O) $< -lm -o $@
bench-build: $(BENCH_BIN)

deps:
	@sh scripts/deps.sh

test: deps
	@tests/run.sh

bench: deps all
	@bench/run.sh

# A few seconds of every benchmark script (CI: checks they work, not the figures).
bench-smoke: all
	@BENCH_SMOKE=1 bench/run.sh

run: deps all
	@scripts/quickstart.sh

format:
	clang-format -i $$(find src tests/unit fuzz bench -name '*.[ch]')

clean:
	rm -rf build
