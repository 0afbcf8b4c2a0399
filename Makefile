# gridsync: one non-recursive Makefile, out of tree into $(BUILD).
#
#   make            libraries into build/lib, programs into build/bin
#   make deps       install the Debian packages for building and testing (once)
#   make test       build and run every test; ends with "N passed, N failed"
#   make asan       the tests again under AddressSanitizer + UndefinedBehaviorSanitizer
#   make fuzz       build the libFuzzer targets with clang and run each for FUZZ_SECONDS
#   make install    PREFIX=/usr/local DESTDIR=
#   make cross      ARCH=aarch64|armhf: the client for the handhelds (mk/cross.mk)
#   make java       the Java binding: build/java/gridsync.jar + libgridsync_jni.so (mk/java.mk)
#   make SQLCIPHER=1  the device library, CLI and client tests on SQLCipher (an encrypted
#                   database) into build/sqlcipher; `make test-sqlcipher` runs them (mk/sqlcipher.mk)
#   make clean
#
# Modules are found by wildcard: a new .c in common/, proto/, client/ or server/ needs no
# edit here. Variants (asan, release for bench) re-enter make with another BUILD folder.

VERSION    := 0.1.0
# SQLCIPHER=1: the client side on Debian's SQLCipher 3.4.1 (SQLite 3.15 inside) instead of
# SQLite, so the device database is encrypted at rest (docs/CLIENT.md). Only the client is
# built: the server's SQL needs the newer SQLite and never runs on a handheld.
ifeq ($(SQLCIPHER),1)
BUILD      ?= build/sqlcipher
endif
BUILD      ?= build
PREFIX     ?= /usr/local
DESTDIR    ?=
CC         ?= cc
OPT        ?= -O1 -g
SAN        ?=
FUZZ_SECONDS ?= 30

# Debian packages (scripts/install-deps.sh) are checked once, not on every make: the first
# make that needs them runs the script and leaves a stamp (build/.deps-build.mk, or
# build/.deps-all.mk for tests, fuzzing, benchmarks and the demo) that make includes from
# then on. `make deps` installs everything; editing install-deps.sh runs it again.
ifeq ($(filter clean help,$(MAKECMDGOALS)),$(MAKECMDGOALS))
ifneq ($(MAKECMDGOALS),)
SKIP_DEPS := 1
endif
endif
ifndef SKIP_DEPS
DEPS_SET := $(if $(filter-out all lib bin install cross deps-cross,$(MAKECMDGOALS)),all,build)
include build/.deps-$(DEPS_SET).mk
endif
build/.deps-%.mk: scripts/install-deps.sh
	@mkdir -p $(@D)
	@scripts/install-deps.sh $* || { echo "scripts/install-deps.sh $* failed (exit $$?): run it by hand and read its output" >&2; exit 1; }
	@echo "# scripts/install-deps.sh $* succeeded; delete this file to run it again" >$@

PKGS       := $(if $(filter 1,$(SQLCIPHER)),sqlcipher,sqlite3) libcurl msgpack jansson zlib
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
# Debian 12's mbedTLS 2.28 ships no .pc file: the one place its flags are spelled out.
MBEDTLS_LIBS := -lmbedtls -lmbedx509 -lmbedcrypto
# gridsync-admin needs the HTTPS client, JSON, the schema and proto/'s values: not SQLite
# or mbedTLS. (msgpack-c because proto/value.o, which the value's text and JSON forms
# belong to, also encodes and decodes it.)
# libxlsxwriter (`gridsync-admin export`, Debian libxlsxwriter-dev: pkg-config name
# xlsxwriter) is linked into gridsync-admin alone, and so is libqrencode (the enrolment QR
# code of `device add`, Debian libqrencode-dev: pkg-config name libqrencode).
ADMIN_PKGS := libcurl jansson zlib msgpack xlsxwriter libqrencode
ADMIN_CFLAGS := $(shell pkg-config --cflags xlsxwriter libqrencode 2>/dev/null)
ADMIN_LIBS := $(shell pkg-config --libs $(ADMIN_PKGS) 2>/dev/null) -lm
CMOCKA_CFLAGS := $(shell pkg-config --cflags cmocka 2>/dev/null)
CMOCKA_LIBS := $(shell pkg-config --libs cmocka 2>/dev/null)

WARN     := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wvla -Wstrict-prototypes
CFLAGS   := -std=c11 -I. $(WARN) $(OPT) $(SAN) -fPIC -fvisibility=hidden -D_DEFAULT_SOURCE \
            -DGS_VERSION=\"$(VERSION)\" $(PKG_CFLAGS) $(EXTRA_CFLAGS) \
            $(if $(filter 1,$(SQLCIPHER)),-DGS_SQLCIPHER=1 -DSQLITE_HAS_CODEC)
LDFLAGS  := $(SAN) $(EXTRA_LDFLAGS)
LIBS     := $(PKG_LIBS) $(MBEDTLS_LIBS) -lm -lpthread
# Attachments (issue 19, client/media.c): libjpeg-turbo and libpng, linked where the client
# library is, not into gridsyncd.
MEDIA_LIBS := $(shell pkg-config --libs libturbojpeg libpng 2>/dev/null)
CLIENT_LIBS := $(LIBS) $(MEDIA_LIBS)
# PostgreSQL (issue 20, server/engine_pg.c): libpq, for the server alone; libqrencode too,
# for the module matrix of the console's enrolment QR code (server/enroll.c).
PG_CFLAGS  := $(shell pkg-config --cflags libpq libqrencode 2>/dev/null)
SERVER_LIBS := $(LIBS) $(shell pkg-config --libs libpq libqrencode 2>/dev/null)

OBJ := $(BUILD)/obj

# Quiet by default; `make V=1` prints every command.
ifeq ($(V),1)
Q :=
else
Q := @
endif

COMMON_SRC := $(wildcard common/*.c)
PROTO_SRC  := $(wildcard proto/*.c)
CLIENT_SRC := $(wildcard client/*.c)
CLI_SRC    := $(wildcard client/cli/*.c)
SERVER_SRC := $(if $(filter 1,$(SQLCIPHER)),,$(filter-out server/main.c,$(wildcard server/*.c)))
ADMIN_SRC  := $(wildcard admin/*.c)
UNIT_SRC   := $(wildcard tests/unit/test_*.c)
ifeq ($(SQLCIPHER),1)
UNIT_SRC   := $(filter-out tests/unit/test_srv_% tests/unit/test_conf.c tests/unit/test_value_agree.c,\
                  $(UNIT_SRC))
endif
TESTLIB_SRC := $(wildcard tests/lib/*.c)

obj = $(patsubst %.c,$(OBJ)/%.o,$(1))

# The web console's files (server/console/), embedded in gridsyncd as a generated .c by a
# small build-time tool (docs/CONSOLE.md).
CONSOLE_FILES := $(sort $(wildcard $(addprefix server/console/*.,html css js svg png ico)))
CONSOLE_GEN   := $(if $(CONSOLE_FILES),$(BUILD)/gen/console_assets.c)
CONSOLE_OBJ   := $(if $(CONSOLE_FILES),$(OBJ)/gen/console_assets.o)

CORE_OBJ   := $(call obj,$(COMMON_SRC) $(PROTO_SRC))
CLIENT_OBJ := $(call obj,$(CLIENT_SRC))
SERVER_OBJ := $(if $(SERVER_SRC),$(call obj,$(SERVER_SRC)) $(CONSOLE_OBJ))

LIB_CORE_A    := $(BUILD)/lib/libgscore.a
LIB_CLIENT_A  := $(BUILD)/lib/libgridsync.a
LIB_CLIENT_SO := $(BUILD)/lib/libgridsync.so
LIB_SERVER_A  := $(BUILD)/lib/libgsserver.a

BIN_CLIENT := $(if $(CLI_SRC),$(BUILD)/bin/gridsync)
BIN_SERVER := $(if $(SERVER_SRC),$(if $(wildcard server/main.c),$(BUILD)/bin/gridsyncd))
BIN_ADMIN  := $(if $(ADMIN_SRC),$(BUILD)/bin/gridsync-admin)
BINS       := $(BIN_CLIENT) $(BIN_SERVER) $(BIN_ADMIN)
UNIT_BINS  := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
# Shared test fixtures (tests/lib/) as an archive: a test binary takes only the members it
# uses, so a server test links without the client fixtures' calls into libgridsync.
LIB_TEST_A := $(BUILD)/lib/libgstest.a

.PHONY: test-pg FORCE all lib bin deps test check asan fuzz bench bench-run demo check-faults install clean help
.DEFAULT_GOAL := all

all: lib bin
deps: build/.deps-all.mk
lib: $(LIB_CORE_A) $(LIB_CLIENT_A) $(LIB_CLIENT_SO) $(if $(SERVER_OBJ),$(LIB_SERVER_A))
bin: $(BINS)

# Objects depend on the compiler command too: changing a flag (or CC) rebuilds them.
FLAGS_STAMP := $(OBJ)/.cflags
$(FLAGS_STAMP): FORCE
	@mkdir -p $(@D)
	@echo '$(CC) $(CFLAGS)' | cmp -s - $@ || echo '$(CC) $(CFLAGS)' >$@
FORCE:

$(OBJ)/%.o: %.c $(FLAGS_STAMP)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

# The folder is a prerequisite too, so adding or removing a file regenerates; its empty
# rule keeps make from trying to build it from server/console.c.
server/console: ;
$(BUILD)/tools/embed_assets: scripts/embed_assets.c
	@mkdir -p $(@D)
	$(Q)$(CC) -std=c11 -O1 $(WARN) -o $@ $<
$(CONSOLE_GEN): $(BUILD)/tools/embed_assets $(CONSOLE_FILES) server/console
	@mkdir -p $(@D)
	@$(if $(Q),echo "  GEN     $@")
	$(Q)$(BUILD)/tools/embed_assets $@ $(CONSOLE_FILES)
$(CONSOLE_OBJ): $(CONSOLE_GEN)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS) -Iserver -MMD -MP -c $< -o $@

# common/ and proto/ alone, for programs that need neither the device library nor the
# server (gridsync-admin): an archive, so a program gets only the modules it calls.
$(LIB_CORE_A): $(CORE_OBJ)
	@mkdir -p $(@D)
	$(Q)rm -f $@ && ar rcs $@ $^

# The client library carries common/ and proto/ so an app links one archive.
$(LIB_CLIENT_A): $(CORE_OBJ) $(CLIENT_OBJ)
	@mkdir -p $(@D)
	$(Q)rm -f $@ && ar rcs $@ $^

$(LIB_CLIENT_SO): $(CORE_OBJ) $(CLIENT_OBJ)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) -shared -Wl,-soname,libgridsync.so.0 $(LDFLAGS) -o $@ $^ $(CLIENT_LIBS)

# Server internals as an archive, so unit tests link them without gridsyncd's main().
$(LIB_SERVER_A): $(CORE_OBJ) $(SERVER_OBJ)
	@mkdir -p $(@D)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/bin/gridsync: $(call obj,$(CLI_SRC)) $(LIB_CLIENT_A)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(CLIENT_LIBS)

$(call obj,$(SERVER_SRC) server/main.c): CFLAGS += $(PG_CFLAGS)
$(BUILD)/bin/gridsyncd: $(OBJ)/server/main.o $(LIB_SERVER_A)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(SERVER_LIBS)

# The admin CLI is a client of the admin API, not a device: common/ and proto/ only.
$(call obj,$(ADMIN_SRC)): CFLAGS += $(ADMIN_CFLAGS)
$(BUILD)/bin/gridsync-admin: $(call obj,$(ADMIN_SRC)) $(LIB_CORE_A)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(ADMIN_LIBS)

$(LIB_TEST_A): $(call obj,$(TESTLIB_SRC))
	@mkdir -p $(@D)
	$(Q)rm -f $@ && ar rcs $@ $^

# Unit tests: one binary per module. test_srv_* link the server internals, the others only
# the client library, so a half-written server file never breaks a client test build.
$(OBJ)/tests/%.o: CFLAGS += $(CMOCKA_CFLAGS) -Wno-strict-prototypes
$(BUILD)/tests/test_srv_%: $(OBJ)/tests/unit/test_srv_%.o $(LIB_TEST_A) $(LIB_SERVER_A)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(CMOCKA_LIBS) $(SERVER_LIBS)
# test_value_agree drives both sides (client capture and server merge), so it links both;
# the two archives carry the same common/ and proto/ objects and share no other symbol.
$(BUILD)/tests/test_value_agree: $(OBJ)/tests/unit/test_value_agree.o $(LIB_TEST_A) \
                                 $(LIB_SERVER_A) $(LIB_CLIENT_A)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(CMOCKA_LIBS) $(CLIENT_LIBS) $(SERVER_LIBS)
$(BUILD)/tests/%: $(OBJ)/tests/unit/%.o $(LIB_TEST_A) $(LIB_CLIENT_A)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(CMOCKA_LIBS) $(CLIENT_LIBS)

test check: all $(UNIT_BINS)
	@BUILD=$(BUILD) scripts/run-tests.sh

# The integration tests again with the server's store on PostgreSQL 15 (issue 20): each test
# that runs `gridsyncd init` through tests/integration/lib.sh gets a throwaway cluster
# (tests/tools/pgtmp.sh). About two minutes.
test-pg: all $(UNIT_BINS)
	@BUILD=$(BUILD) UNIT=0 GS_TEST_STORE=pg LOG_DIR=$(BUILD)/test-logs-pg scripts/run-tests.sh

# Fault and hostile-input checks (tests/faults/, docs/RELIABILITY.md): crash loops, a bad
# link in network namespaces, hostile requests, TLS scan, authorization. A few minutes.
check-faults: all $(UNIT_BINS)
	@BUILD=$(BUILD) scripts/run-faults.sh

asan:
	$(MAKE) BUILD=build/asan OPT="-O1 -g -fno-omit-frame-pointer" \
	    SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined" test

# libFuzzer targets: each tests/fuzz/fuzz_<name>.c is built with clang together with the
# sources it needs and run from tests/fuzz/corpus/<name>/ for FUZZ_SECONDS.
FUZZ_SRC  := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS := $(patsubst tests/fuzz/%.c,build/fuzz/%,$(FUZZ_SRC))
FUZZ_CFLAGS := -std=c11 -I. -g -O1 -fsanitize=fuzzer,address,undefined -D_DEFAULT_SOURCE \
               -DGS_VERSION=\"$(VERSION)\" $(PKG_CFLAGS)
build/fuzz/%: tests/fuzz/%.c $(COMMON_SRC) $(PROTO_SRC) $(SERVER_SRC) $(CONSOLE_GEN)
	@mkdir -p $(@D)
	clang $(FUZZ_CFLAGS) $(PG_CFLAGS) -Iserver -o $@ $< $(COMMON_SRC) $(PROTO_SRC) \
	    $(SERVER_SRC) $(CONSOLE_GEN) $(SERVER_LIBS)

# The protocol target needs only common/ and proto/, so a half-written server file never
# stops it from building.
build/fuzz/fuzz_proto: tests/fuzz/fuzz_proto.c $(COMMON_SRC) $(PROTO_SRC)
	@mkdir -p $(@D)
	clang $(FUZZ_CFLAGS) -o $@ $< $(COMMON_SRC) $(PROTO_SRC) $(LIBS)

# The enrolment URI parser (issue 17) is proto/ code with no dependency: built alone.
build/fuzz/fuzz_enroll: tests/fuzz/fuzz_enroll.c proto/enroll.c common/rc.c
	@mkdir -p $(@D)
	clang $(FUZZ_CFLAGS) -o $@ $< proto/enroll.c common/rc.c

# The attachment wire's target parser (issue 19) is proto/ code: common/ and proto/ only.
build/fuzz/fuzz_attwire: tests/fuzz/fuzz_attwire.c $(COMMON_SRC) $(PROTO_SRC)
	@mkdir -p $(@D)
	clang $(FUZZ_CFLAGS) -o $@ $< $(COMMON_SRC) $(PROTO_SRC) $(LIBS)

# The EXIF parser (issue 19) is client code with no dependency: built alone.
build/fuzz/fuzz_exif: tests/fuzz/fuzz_exif.c client/exif.c
	@mkdir -p $(@D)
	clang $(FUZZ_CFLAGS) -o $@ $< client/exif.c

fuzz: $(FUZZ_BINS)
	@FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/run-fuzz.sh $(FUZZ_BINS)

# Benchmarks: each tests/bench/bench_*.c is built optimised into build/release/bench and run
# by scripts/run-bench.sh, which prints one JSON line per figure.
BENCH_SRC := $(wildcard tests/bench/bench_*.c)
# bench_client_crypt needs SQLCipher: built into $(BUILD)-sqlcipher (mk/sqlcipher.mk)
ifneq ($(SQLCIPHER),1)
BENCH_SRC := $(filter-out tests/bench/bench_client_crypt.c,$(BENCH_SRC))
endif
BENCH_BINS := $(patsubst tests/bench/%.c,$(BUILD)/bench/%,$(BENCH_SRC))
# Helpers that a bench script runs (not run alone): tests/bench/memsync.c for bench_mem.sh.
BENCH_HELPERS := $(BUILD)/bench/memsync
$(BUILD)/bench/bench_srv_%: $(OBJ)/tests/bench/bench_srv_%.o $(LIB_TEST_A) $(LIB_SERVER_A)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(SERVER_LIBS)
$(BUILD)/bench/%: $(OBJ)/tests/bench/%.o $(LIB_TEST_A) $(LIB_CLIENT_A)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(CLIENT_LIBS)

bench:
	$(MAKE) BUILD=build/release OPT="-O2 -DNDEBUG" bench-run
bench-run: all $(BENCH_BINS) $(BENCH_HELPERS)
	@BUILD=$(BUILD) scripts/run-bench.sh

demo: all
	@BUILD=$(BUILD) scripts/demo.sh

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include
	$(if $(BINS),install -m 755 $(BINS) $(DESTDIR)$(PREFIX)/bin/)
	install -m 644 $(LIB_CLIENT_A) $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(LIB_CLIENT_SO) $(DESTDIR)$(PREFIX)/lib/libgridsync.so.0
	ln -sf libgridsync.so.0 $(DESTDIR)$(PREFIX)/lib/libgridsync.so
	$(if $(wildcard client/gridsync.h),install -m 644 client/gridsync.h client/gridsync_rc.h $(DESTDIR)$(PREFIX)/include/)
	install -d $(DESTDIR)$(PREFIX)/share/doc/gridsync
	install -m 644 README.md proto/PROTOCOL.md $(wildcard docs/*.md) server/gridsyncd.service \
	    $(DESTDIR)$(PREFIX)/share/doc/gridsync/

clean:
	rm -rf build

help:
	@sed -n '2,15p' Makefile

include mk/cross.mk
include mk/java.mk
include mk/sqlcipher.mk

-include $(shell find $(OBJ) -name '*.d' 2>/dev/null)
