# VirtuOS-NG top-level build.
#
#   make            install missing Debian packages, build everything into build/ (build/bin, build/lib, build/tests)
#   make test       install missing Debian packages, build, run every test
#   make bench      run the micro-benchmarks (CSV + Markdown table in build/bench/)
#   make bench-xen  the same over the Xen transport in the guest set
#   make bench-macro  sysbench fileio and the fault-recovery experiment, native vs ours (build/bench/macro/)
#   make run        boot the Xen guest set, run the default scenario in dom0, shut down
#   make run-local  a short local-mode demonstration (no QEMU)
#   make shell      boot the Xen guest set and give a dom0 shell
#   make clean
#
# SAN=asan or SAN=tsan builds a sanitizer variant into build/asan or build/tsan.

CC      ?= gcc
SAN     ?=
ifeq ($(SAN),asan)
  BUILD    ?= build/asan
  SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
else ifeq ($(SAN),tsan)
  BUILD    ?= build/tsan
  SANFLAGS := -fsanitize=thread -fno-omit-frame-pointer
else
  BUILD    ?= build
  SANFLAGS :=
endif

CFLAGS  := -std=gnu11 -O2 -g -Wall -Wextra -Werror -D_GNU_SOURCE -fPIC -pthread \
           -Ilibvirtuos $(SANFLAGS) $(EXTRA_CFLAGS)
LDFLAGS := -pthread $(SANFLAGS)

# libvirtuos/common: code every part links (config parser, op table, helpers).
COMMON_SRC    := $(sort $(wildcard libvirtuos/common/*.c))
# libvirtuos/channel and its transports' subdirectories: linked into everything.
# CHANNEL_SERVICE_SRC: the service halves of the transports and what only the
# dom0 tools use; linked into vos-serviced, vos-reap, vos-xsbroker and the
# tests, never into libvirtuos.so (tests/unit/check-symbols.sh checks it).
CHANNEL_SERVICE_SRC := libvirtuos/channel/local/back.c libvirtuos/channel/xen/back.c \
                       libvirtuos/channel/xen/reap.c libvirtuos/channel/xen/broker_check.c
CHANNEL_SRC   := $(filter-out $(CHANNEL_SERVICE_SRC),$(sort $(wildcard libvirtuos/channel/*.c \
                 libvirtuos/channel/*/*.c))) $(COMMON_SRC)
CLIENT_SRC    := $(sort $(wildcard libvirtuos/client/*.c))
INTERPOSE_SRC := $(sort $(wildcard libvirtuos/interpose/*.c))
SERVICED_SRC  := $(sort $(wildcard service-domains/vos-serviced/*.c))
VOSCTL_SRC    := $(sort $(wildcard tools/vosctl/*.c))
REAP_SRC      := tools/vos-reap/vos-reap.c
XSBROKER_SRC  := $(sort $(wildcard primary-domain/vos-xsbroker/*.c))
UNIT_SRC      := $(sort $(wildcard tests/unit/test_*.c))
TESTPROG_SRC  := $(sort $(wildcard tests/programs/*.c))
BENCH_SRC     := $(sort $(wildcard benchmarks/micro/*.c))

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

CHANNEL_OBJ   := $(call obj,$(CHANNEL_SRC))
CHANNEL_SERVICE_OBJ := $(call obj,$(wildcard $(CHANNEL_SERVICE_SRC)))
CLIENT_OBJ    := $(call obj,$(CLIENT_SRC))
INTERPOSE_OBJ := $(call obj,$(INTERPOSE_SRC))
SERVICED_OBJ  := $(call obj,$(SERVICED_SRC))
VOSCTL_OBJ    := $(call obj,$(VOSCTL_SRC))
REAP_OBJ      := $(call obj,$(REAP_SRC))
XSBROKER_OBJ  := $(call obj,$(XSBROKER_SRC))

# The Xen transport talks to gntalloc/gntdev/evtchn with ioctls; only xenstore needs a library.
# The transport reaches it through dlopen (xen/xs.h), so nothing refers to it by name: the
# service, the tools and the tests keep it NEEDED anyway (--no-as-needed), so that the guest
# images, which copy each binary's ldd closure, carry it.  libvirtuos.so does not link it.
XEN_LIBS := -Wl,--no-as-needed -lxenstore -Wl,--as-needed

LIBVIRTUOS := $(BUILD)/lib/libvirtuos.so
SERVICED   := $(BUILD)/bin/vos-serviced
VOSCTL     := $(BUILD)/bin/vosctl
VOS_REAP   := $(BUILD)/bin/vos-reap
XSBROKER   := $(BUILD)/bin/vos-xsbroker
UNIT_BIN   := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
TESTPROGS  := $(patsubst tests/programs/%.c,$(BUILD)/tests/programs/%,$(TESTPROG_SRC))
BENCH_BIN  := $(patsubst benchmarks/micro/%.c,$(BUILD)/bench/%,$(BENCH_SRC))

# The default goal: on a fresh machine install the Debian packages first (as
# root; tools/install-deps.sh does nothing when they are there), then build.
.PHONY: default all test test-unit test-integration test-system bench bench-xen run run-local shell clean deps
default: deps
	@$(MAKE) --no-print-directory all

all: $(LIBVIRTUOS) $(SERVICED) $(VOSCTL) $(VOS_REAP) $(XSBROKER) $(UNIT_BIN) $(TESTPROGS) $(BENCH_BIN)

# Objects depend on the Makefile too: a changed flag (e.g. -fvisibility) rebuilds them.
$(BUILD)/obj/%.o: %.c Makefile
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

# libvirtuos.so exports only the names it interposes (libvirtuos.map; the
# wrappers are marked VOS_EXPORT), and links no service-side code and no
# libxenstore (the Xen client loads it with dlopen): tests/unit/check-symbols.sh.
LIBVIRTUOS_MAP := libvirtuos/interpose/libvirtuos.map
$(CHANNEL_OBJ) $(CLIENT_OBJ) $(INTERPOSE_OBJ): CFLAGS += -fvisibility=hidden

$(LIBVIRTUOS): $(CHANNEL_OBJ) $(CLIENT_OBJ) $(INTERPOSE_OBJ) $(LIBVIRTUOS_MAP)
	@mkdir -p $(dir $@)
	$(CC) -shared $(LDFLAGS) -Wl,--version-script=$(LIBVIRTUOS_MAP) -o $@ $(filter %.o,$^) -ldl \
		$(DISPATCH_LIBS)

# For tests/unit/check-symbols.sh: the objects in libvirtuos.so (by part) and
# the service-side ones that must stay out of it.
.PHONY: print-link-sets
print-link-sets:
	@echo "channel: $(CHANNEL_OBJ)"
	@echo "client: $(CLIENT_OBJ)"
	@echo "interpose: $(INTERPOSE_OBJ)"
	@echo "service: $(CHANNEL_SERVICE_OBJ)"

$(SERVICED): $(SERVICED_OBJ) $(CHANNEL_OBJ) $(CHANNEL_SERVICE_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(XEN_LIBS)

# dom0's xenstore broker runs the transport's own xenstore jobs (xen_jobs.h).
$(XSBROKER): $(XSBROKER_OBJ) $(CHANNEL_OBJ) $(CHANNEL_SERVICE_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(XEN_LIBS)

$(VOSCTL): $(VOSCTL_OBJ) $(call obj,$(COMMON_SRC))
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^

# dom0's reaper of dead clients' xenstore nodes (the transport does the work).
$(VOS_REAP): $(REAP_OBJ) $(CHANNEL_OBJ) $(CHANNEL_SERVICE_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(XEN_LIBS)

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(CHANNEL_OBJ) $(CHANNEL_SERVICE_OBJ) $(CLIENT_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ -lcmocka $(XEN_LIBS) $(EXTRA_LIBS)

# libvirtuos/dispatch: the system-call catcher (issue 8), tested alone and
# linked into libvirtuos.so.  It runs in SIGSYS context and under the sanitizers' own
# system calls, so it is not instrumented itself (the tests are).
DISPATCH_OBJ := $(call obj,$(sort $(wildcard libvirtuos/dispatch/*.c))) \
                $(patsubst %.S,$(BUILD)/obj/%.o,$(sort $(wildcard libvirtuos/dispatch/*.S)))
$(DISPATCH_OBJ): CFLAGS += -fno-sanitize=all
$(BUILD)/obj/%.o: %.S Makefile
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@
# Eager mode (dispatch/eager.c) decodes instructions with Zydis (libzydis-dev).
DISPATCH_LIBS := -lZydis
$(BUILD)/tests/test_dispatch $(BUILD)/bench/bench_dispatch: $(DISPATCH_OBJ)
$(BUILD)/tests/test_dispatch $(BUILD)/bench/bench_dispatch: EXTRA_LIBS += $(DISPATCH_LIBS) -ldl
# test_dispatch loads it with dlopen (eager mode scans new mappings).
$(BUILD)/tests/test_dispatch: | $(BUILD)/tests/libdispatch_dl.so
$(BUILD)/tests/libdispatch_dl.so: tests/unit/dispatch_dl_lib.c Makefile
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -fno-sanitize=all -shared -o $@ $<
# The dispatcher alone as a preloadable library, for benchmarks/run.sh.
$(BUILD)/bench/dispatch_shim.so: $(BUILD)/obj/benchmarks/preload/dispatch_shim.o $(DISPATCH_OBJ)
	@mkdir -p $(dir $@)
	$(CC) -shared $(LDFLAGS) -o $@ $^ $(DISPATCH_LIBS)
$(BUILD)/obj/benchmarks/preload/dispatch_shim.o: CFLAGS += -fno-sanitize=all
# vosctl refuses static binaries (vos_elf_is_static).
$(VOSCTL): $(call obj,libvirtuos/dispatch/elf_static.c)
# libvirtuos.so catches every system call with it (interpose/syscall_table.c).
# The table's precheck runs before the trampoline saves the vector state.
$(LIBVIRTUOS): $(DISPATCH_OBJ)
$(call obj,libvirtuos/interpose/syscall_precheck.c): CFLAGS += -mgeneral-regs-only -fno-sanitize=all

# The interposer's fd table, tested alone (it depends on libc only).
$(BUILD)/tests/test_fdtable: $(call obj,libvirtuos/interpose/fdtable.c)

# The tests that drive the real daemon share a harness.
$(filter $(BUILD)/tests/test_serviced% %/test_optable %/test_roles %/test_long_calls,$(UNIT_BIN)): \
	$(call obj,tests/unit/serviced_harness.c)

# test_optable checks the daemon's op table as well: it links the daemon's objects but main.
$(BUILD)/tests/test_optable: $(filter-out %/vos-serviced/main.o,$(SERVICED_OBJ))

$(BUILD)/tests/programs/%: $(BUILD)/obj/tests/programs/%.o
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^

# The system test's helper for dom0 (tests/system/netfile.c: one file over
# HTTP with blocking socket calls); the Xen images carry it, make run uses it.
all: $(BUILD)/tests/system/netfile
$(BUILD)/tests/system/%: $(BUILD)/obj/tests/system/%.o
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^

$(BUILD)/bench/%: $(BUILD)/obj/benchmarks/micro/%.o $(CHANNEL_OBJ) $(CHANNEL_SERVICE_OBJ) $(CLIENT_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ -lurcu-common -lurcu $(XEN_LIBS) $(EXTRA_LIBS)

deps:
	@tools/install-deps.sh

test: deps
	@tests/run-all.sh

test-unit: deps
	@tests/run-unit.sh

test-integration: deps
	@tests/integration/run.sh

bench: deps
	@benchmarks/run.sh

# The same micro-benchmarks over the Xen transport, in the guest set (boots it).
bench-xen: deps
	@benchmarks/xen.sh

# Macro-benchmarks and the fault-recovery experiment, local mode
# (benchmarks/macro/run.sh; BENCH_MACRO_ARGS=--quick for the short profile).
MACRO_BIN := $(BUILD)/bench/macro/loadgen
all: $(MACRO_BIN)
$(MACRO_BIN): $(BUILD)/obj/benchmarks/macro/loadgen.o
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^
.PHONY: bench-macro bench-macro-xen
bench-macro: deps
	@benchmarks/macro/run.sh $(BENCH_MACRO_ARGS)
bench-macro-xen:
	@benchmarks/macro/run.sh --xen

# Boots the Xen guest set (QEMU), runs the default scenario in dom0 under
# libvirtuos, shuts down.  VOS_PORT picks the host port of the network domain.
run: deps all
	@tools/demo-xen.sh

run-local: deps all
	@tools/demo.sh

# An interactive dom0 shell in the Xen guest set (boots it; `vos-run CMD` forwards).
shell: deps all
	@$(VOSCTL) up --shell

clean:
	rm -rf build

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
