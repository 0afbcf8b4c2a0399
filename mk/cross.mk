# mk/cross.mk: the device library and CLI for the handhelds' ARM CPUs (docs/CROSS.md).
#
#   make deps-cross              the arm64/armhf multiarch -dev packages and qemu-user
#   make cross ARCH=aarch64      libgridsync.a/.so, the gridsync CLI and the client's unit
#                                tests into build/cross/ARCH (ARCH=armhf: 32-bit ARMv7); with
#                                javac, the JNI layer too (java/libgridsync_jni.so, glibc)
#   make test-cross ARCH=aarch64 the unit tests under qemu-user, then one end-to-end sync of
#                                the ARM CLI against this machine's x86-64 gridsyncd
#
# The cross build re-enters make with Debian's cross gcc and pkg-config pointed at the
# foreign architecture's .pc files. Only the client side is built: the server never runs on
# a handheld (the client uses mbedTLS's crypto only: SHA-256 of attachments).

ARCH ?= aarch64
CROSS_TRIPLE_aarch64 := aarch64-linux-gnu
CROSS_TRIPLE_armhf   := arm-linux-gnueabihf
CROSS_QEMU_aarch64   := qemu-aarch64
CROSS_QEMU_armhf     := qemu-arm
CROSS_DEPS_aarch64   := cross
# 32-bit ARM: 64-bit file offsets (readdir on a 64-bit host's file system under qemu, and
# files over 2 GB) and a 64-bit time_t (2038): glibc 2.36 gives both behind these macros.
CROSS_CFLAGS_armhf   := -D_FILE_OFFSET_BITS=64 -D_TIME_BITS=64
CROSS_DEPS_armhf     := cross-armhf
CROSS_TRIPLE := $(CROSS_TRIPLE_$(ARCH))
CROSS_BUILD  := build/cross/$(ARCH)
# The client's unit tests: everything but the server's (test_srv_*, test_conf) and the
# one that links both sides.
CROSS_UNIT   := $(filter-out test_srv_% test_conf test_value_agree,\
                    $(patsubst tests/unit/%.c,%,$(UNIT_SRC)))

.PHONY: cross deps-cross test-cross
deps-cross: build/.deps-$(CROSS_DEPS_$(ARCH)).mk

cross: build/.deps-$(CROSS_DEPS_$(ARCH)).mk
	@test -n "$(CROSS_TRIPLE)" || { echo "make cross: ARCH=$(ARCH) is not one of aarch64, armhf" >&2; exit 2; }
	$(Q)env PKG_CONFIG_LIBDIR=/usr/lib/$(CROSS_TRIPLE)/pkgconfig:/usr/share/pkgconfig \
	    $(MAKE) --no-print-directory SKIP_DEPS=1 BUILD=$(CROSS_BUILD) CC=$(CROSS_TRIPLE)-gcc \
	    EXTRA_CFLAGS="$(CROSS_CFLAGS_$(ARCH)) $(EXTRA_CFLAGS)" \
	    $(CROSS_BUILD)/lib/libgridsync.a $(CROSS_BUILD)/lib/libgridsync.so \
	    $(CROSS_BUILD)/bin/gridsync $(addprefix $(CROSS_BUILD)/tests/,$(CROSS_UNIT)) \
	    $(if $(JAVAC),$(CROSS_BUILD)/java/libgridsync_jni.so)
	$(Q)$(CROSS_TRIPLE)-strip -o $(CROSS_BUILD)/lib/libgridsync.stripped.so $(CROSS_BUILD)/lib/libgridsync.so

test-cross: cross all
	@ARCH=$(ARCH) QEMU=$(CROSS_QEMU_$(ARCH)) CROSS_BUILD=$(CROSS_BUILD) BUILD=$(BUILD) \
	    scripts/test-cross.sh
