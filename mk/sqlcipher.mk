# mk/sqlcipher.mk: the device library on SQLCipher, an encrypted database (docs/CLIENT.md
# "Encryption at rest").
#
#   make SQLCIPHER=1       libgridsync, the gridsync CLI and the client's unit tests on
#                          Debian's SQLCipher 3.4.1 into build/sqlcipher (the Makefile's
#                          SQLCIPHER switch: sqlcipher's pkg-config, -DGS_SQLCIPHER, no server)
#   make test-sqlcipher    those unit tests, then tests/integration/client_crypt.sh and the
#                          client's CLI tests with the SQLCipher CLI, and the Java binding's
#                          JUnit tests on encrypted devices, against this build's gridsyncd
#                          (scripts/test-sqlcipher.sh); about 40 s
#   make bench             also builds tests/bench/bench_client_crypt.c and the CLI on
#                          SQLCipher into $(BUILD)-sqlcipher, for tests/bench/bench_crypt.sh
#
# The server is never built on SQLCipher: its SQL needs SQLite 3.24+ (upserts) and it does
# not run on a handheld.

SQLC_BUILD := build/sqlcipher
SQLC_UNIT  := $(filter-out test_srv_% test_conf test_value_agree,\
                  $(patsubst tests/unit/%.c,%,$(wildcard tests/unit/test_*.c)))

.PHONY: sqlcipher test-sqlcipher
sqlcipher:
	$(Q)$(MAKE) --no-print-directory SKIP_DEPS=1 SQLCIPHER=1 BUILD=$(SQLC_BUILD) \
	    $(SQLC_BUILD)/lib/libgridsync.a $(SQLC_BUILD)/lib/libgridsync.so \
	    $(SQLC_BUILD)/bin/gridsync $(addprefix $(SQLC_BUILD)/tests/,$(SQLC_UNIT)) \
	    $(if $(JAVAC),java)

test-sqlcipher: sqlcipher all
	@BUILD=$(BUILD) CRYPT_BUILD=$(SQLC_BUILD) scripts/test-sqlcipher.sh

.PHONY: sqlcipher-bench
sqlcipher-bench:
	$(Q)$(MAKE) --no-print-directory SKIP_DEPS=1 SQLCIPHER=1 BUILD=$(BUILD)-sqlcipher OPT="$(OPT)" \
	    $(BUILD)-sqlcipher/bin/gridsync $(BUILD)-sqlcipher/bench/bench_client_crypt
bench-run: sqlcipher-bench
