# ntamsa: build, run, test.
#
# Modules are folders; every .c in a module folder (recursively) belongs to
# that module's archive.  Adding a source file needs no Makefile edit.
#   build/rel/   normal build (hardened, -O2)        -> ./ntamsa
#   build/asan/  test build (ASan + UBSan, -O1 -g)   -> build/asan/ntamsa, unit tests
#   build/fuzz/  libFuzzer build (clang)             -> build/fuzz/fuzz_*

CC      ?= cc
CLANG   ?= clang
MODULES := common keys store ntadns outbound msa

WARN    := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wno-unused-parameter
CSTD    := -std=c11 -D_GNU_SOURCE
INC     := -I.
LIBS    := -lssl -lcrypto -lsodium -lsqlite3 -lunbound -letpan -lz -lpthread

HARDEN  := -D_FORTIFY_SOURCE=2 -fstack-protector-strong -fPIE
REL_CFLAGS  := $(CSTD) -O2 $(WARN) $(HARDEN) $(INC) $(CFLAGS)
REL_LDFLAGS := -pie -Wl,-z,relro,-z,now $(LDFLAGS)
SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
ASAN_CFLAGS := $(CSTD) -O1 -g $(WARN) $(SAN) $(INC) -DNTAMSA_TEST_BUILD
ASAN_LDFLAGS := $(SAN) -Wl,-z,relro,-z,now
FUZZ_CFLAGS := $(CSTD) -O1 -g -fsanitize=fuzzer-no-link,address,undefined $(INC) -DNTAMSA_FUZZ
FUZZ_LDFLAGS := -fsanitize=fuzzer,address,undefined

# Sources of a module: all .c under its folder.  msa/main.c is the program's
# entry point and stays out of the archive so tests can link the rest.
srcs = $(filter-out msa/main.c,$(shell find $(1) -name '*.c' 2>/dev/null | sort))
ALL_SRCS := $(foreach m,$(MODULES),$(call srcs,$(m)))

REL_OBJS  := $(ALL_SRCS:%.c=build/rel/%.o)
ASAN_OBJS := $(ALL_SRCS:%.c=build/asan/%.o)
FUZZ_OBJS := $(ALL_SRCS:%.c=build/fuzz/%.o)

# Archives in link order (a module only uses those after it).
LINK_ORDER := msa outbound ntadns store keys common
rel_libs  = $(foreach m,$(LINK_ORDER),build/rel/lib$(m).a)
asan_libs = $(foreach m,$(LINK_ORDER),build/asan/lib$(m).a)
fuzz_libs = $(foreach m,$(LINK_ORDER),build/fuzz/lib$(m).a)

# Unit tests: tests/unit/test_<module>[_<what>].c, linked with the archives
# of <module> and everything below it.
DEPS_common   := common
DEPS_keys     := keys common
DEPS_store    := store keys common
DEPS_ntadns   := ntadns common
DEPS_outbound := outbound ntadns store keys common
DEPS_msa      := msa outbound ntadns store keys common
DEPS_cls      := msa outbound ntadns store keys common
UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=build/asan/tests/%)
test_mod   = $(word 2,$(subst _, ,$(basename $(notdir $(1)))))

FUZZ_SRCS := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS := $(FUZZ_SRCS:tests/fuzz/%.c=build/fuzz/%)

# Test helper programs (writers, load generators) built with sanitizers.
TOOL_SRCS := $(sort $(wildcard tests/tools/*.c))
TOOL_BINS := $(TOOL_SRCS:tests/tools/%.c=build/asan/tools/%)

BENCH_SRCS := $(sort $(wildcard tests/bench/bench_*.c))
BENCH_BINS := $(BENCH_SRCS:tests/bench/%.c=build/rel/bench/%)

.PHONY: all deps deps-test run test unit fuzz fuzz-long bench eval clean asan
.DEFAULT_GOAL := all

all: ntamsa

deps:
	@sh tools/deps.sh

deps-test:
	@sh tools/deps.sh test

ntamsa: build/rel/msa/main.o $(call rel_libs)
	$(CC) -o $@ $< -Wl,--start-group $(call rel_libs) -Wl,--end-group $(REL_LDFLAGS) $(LIBS)

asan: build/asan/ntamsa

build/asan/ntamsa: build/asan/msa/main.o $(call asan_libs)
	$(CC) -o $@ $< -Wl,--start-group $(call asan_libs) -Wl,--end-group $(ASAN_LDFLAGS) $(LIBS)

define module_rules
build/rel/lib$(1).a: $$(patsubst %.c,build/rel/%.o,$$(call srcs,$(1)))
	@rm -f $$@; ar rcs $$@ $$^
build/asan/lib$(1).a: $$(patsubst %.c,build/asan/%.o,$$(call srcs,$(1)))
	@rm -f $$@; ar rcs $$@ $$^
build/fuzz/lib$(1).a: $$(patsubst %.c,build/fuzz/%.o,$$(call srcs,$(1)))
	@rm -f $$@; ar rcs $$@ $$^
endef
$(foreach m,$(MODULES),$(eval $(call module_rules,$(m))))

build/rel/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(REL_CFLAGS) -MMD -MP -c -o $@ $<

build/asan/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ASAN_CFLAGS) -MMD -MP -c -o $@ $<

build/fuzz/%.o: %.c
	@mkdir -p $(dir $@)
	$(CLANG) $(FUZZ_CFLAGS) -MMD -MP -c -o $@ $<

.SECONDEXPANSION:
build/asan/tests/%: tests/unit/%.c $$(foreach m,$$(DEPS_$$(call test_mod,$$*)),build/asan/lib$$(m).a)
	@mkdir -p $(dir $@)
	$(CC) $(ASAN_CFLAGS) -o $@ $< -Wl,--start-group $(foreach m,$(DEPS_$(call test_mod,$*)),build/asan/lib$(m).a) -Wl,--end-group $(ASAN_LDFLAGS) $(LIBS) -lcmocka

build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(call fuzz_libs)
	@mkdir -p $(dir $@)
	$(CLANG) $(FUZZ_CFLAGS) -o $@ $< -Wl,--start-group $(call fuzz_libs) -Wl,--end-group $(FUZZ_LDFLAGS) $(LIBS)

build/asan/tools/%: tests/tools/%.c $(call asan_libs)
	@mkdir -p $(dir $@)
	$(CC) $(ASAN_CFLAGS) -o $@ $< -Wl,--start-group $(call asan_libs) -Wl,--end-group $(ASAN_LDFLAGS) $(LIBS)

build/rel/bench/%: tests/bench/%.c $(call rel_libs)
	@mkdir -p $(dir $@)
	$(CC) $(REL_CFLAGS) -o $@ $< -Wl,--start-group $(call rel_libs) -Wl,--end-group $(REL_LDFLAGS) $(LIBS)

unit: $(UNIT_BINS) $(TOOL_BINS)

fuzz: $(FUZZ_BINS)

NPROC := $(shell nproc 2>/dev/null || echo 2)

# make run: set-up, build, and serve with the development default in ./var.
# The packages come first: the build needs their headers.
run: deps
	@$(MAKE) --no-print-directory -j$(NPROC) all
	./ntamsa serve

# make test: everything, with sanitizers.  tests/run-all.sh ends with
# "N passed, N failed" and exits non-zero on any failure.
test: deps-test
	@$(MAKE) --no-print-directory -j$(NPROC) all asan unit fuzz
	@sh tests/run-all.sh

fuzz-long: fuzz
	@FUZZ_SECONDS=$${FUZZ_SECONDS:-600} sh tests/fuzz/run.sh

bench: deps-test
	@$(MAKE) --no-print-directory -j$(NPROC) all $(BENCH_BINS)
	@sh tests/bench/run.sh

eval: deps
	@$(MAKE) --no-print-directory -j$(NPROC) all
	@python3 tests/corpus/eval.py ./ntamsa tests/corpus

clean:
	rm -rf build ntamsa

-include $(shell find build -name '*.d' 2>/dev/null)
