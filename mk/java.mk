# mk/java.mk: the Java binding (client/java/, client/java/README.md): build/java/gridsync.jar
# and build/java/libgridsync_jni.so (the JNI layer with libgridsync linked in, so an app ships
# one .so per ABI). Debian's openjdk-17-jdk-headless; JUnit 5 from Debian's junit5 runs the
# tests (tests/integration/java_binding.sh, part of `make test`).
#
# Not built under a sanitizer (make asan): an ASan-instrumented .so cannot be loaded into
# the JVM without preloading the ASan runtime into java itself; the binding's C is plain
# calls of the public API, which the C tests cover under ASan. Not built without javac
# either; java_binding.sh then says `skip` with the reason.

JAVAC     ?= $(shell command -v javac 2>/dev/null)
JAVA_HOME ?= $(patsubst %/bin/javac,%,$(realpath $(JAVAC)))
JAVA_SRC  := $(wildcard client/java/src/org/gridsync/*.java)
JAVA_TEST_SRC := $(wildcard client/java/test/org/gridsync/*.java)
JAVA_OUT  := $(BUILD)/java
JUNIT_API := /usr/share/java/junit-jupiter-api.jar:/usr/share/java/apiguardian-api.jar:/usr/share/java/opentest4j.jar:/usr/share/java/junit-platform-commons.jar
JAVA_OK   := $(if $(SAN),,$(if $(JAVAC),1))

.PHONY: java
java: $(if $(JAVA_OK),$(JAVA_OUT)/gridsync.jar $(JAVA_OUT)/libgridsync_jni.so $(JAVA_OUT)/test/.stamp)

$(JAVA_OUT)/libgridsync_jni.so: client/java/jni/gridsync_jni.c $(LIB_CLIENT_A)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) -I$(JAVA_HOME)/include -I$(JAVA_HOME)/include/linux -shared \
	    -Wl,-soname,libgridsync_jni.so $(LDFLAGS) -o $@ $< $(LIB_CLIENT_A) $(CLIENT_LIBS)

# --release 8: bytecode and API every Android toolchain (D8) accepts
$(JAVA_OUT)/gridsync.jar: $(JAVA_SRC)
	@mkdir -p $(JAVA_OUT)/classes
	@$(if $(Q),echo "  JAVAC   $@")
	$(Q)rm -rf $(JAVA_OUT)/classes/* && $(JAVAC) --release 8 -Xlint:all,-options -Werror \
	    -d $(JAVA_OUT)/classes $(JAVA_SRC)
	$(Q)$(JAVA_HOME)/bin/jar --create --file $@ -C $(JAVA_OUT)/classes .

$(JAVA_OUT)/test/.stamp: $(JAVA_TEST_SRC) $(JAVA_OUT)/gridsync.jar
	@mkdir -p $(@D)
	$(Q)$(JAVAC) -Xlint:all -Werror -cp $(JAVA_OUT)/gridsync.jar:$(JUNIT_API) -d $(@D) \
	    $(JAVA_TEST_SRC)
	@touch $@

test check: java
