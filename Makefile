# tlsrig - top-level build. `make help` lists the targets.
#
# Output goes to build/ (out of tree). The engine links the system OpenSSL (libssl-dev);
# the sanitizer build uses clang with ASan+UBSan and LeakSanitizer.

BUILD      ?= build
CC         ?= cc
ASAN_CC    ?= clang
PYTHON     ?= /usr/bin/python3
PKI        := $(CURDIR)/pki

WARN       := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wno-unused-parameter
CPPFLAGS   += -Iengine/include -Iengine/src -Iwire/include -D_GNU_SOURCE
CFLAGS     ?= -O2 -g
BASE_CFLAGS := -std=c11 $(WARN) -fPIC
ASAN_FLAGS := -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all \
              -fno-omit-frame-pointer
LDLIBS_SSL := -lssl -lcrypto -lpthread

ENGINE_SRCS := $(sort $(wildcard engine/src/*.c))
ENGINE_OBJS := $(ENGINE_SRCS:engine/src/%.c=$(BUILD)/obj/engine/%.o)
ASAN_OBJS   := $(ENGINE_SRCS:engine/src/%.c=$(BUILD)/asan/obj/engine/%.o)
ENGINE_HDRS := engine/include/tlsrig.h $(wildcard engine/src/*.h)

# the wire: endpoints, the pump, framing, keylog (wire/include/wire.h)
WIRE_SRCS   := $(sort $(wildcard wire/src/*.c))
WIRE_OBJS   := $(WIRE_SRCS:wire/src/%.c=$(BUILD)/obj/wire/%.o)
ASAN_WIRE_OBJS := $(WIRE_SRCS:wire/src/%.c=$(BUILD)/asan/obj/wire/%.o)
WIRE_HDRS   := wire/include/wire.h $(wildcard wire/src/*.h)
WIRE_A      := $(BUILD)/lib/libwire.a
ASAN_WIRE_A := $(BUILD)/asan/lib/libwire.a
WIRE_TEST_SRCS := $(sort $(wildcard wire/tests/test_*.c))
WIRE_TEST_HELPERS := $(filter-out $(WIRE_TEST_SRCS),$(wildcard wire/tests/*.c))
WIRE_TESTS  := $(WIRE_TEST_SRCS:wire/tests/%.c=$(BUILD)/tests/wire_%)
ASAN_WIRE_TESTS := $(WIRE_TEST_SRCS:wire/tests/%.c=$(BUILD)/asan/tests/wire_%)

TEST_SRCS    := $(sort $(wildcard engine/tests/test_*.c))
TEST_HELPERS := $(filter-out $(TEST_SRCS),$(wildcard engine/tests/*.c))
TEST_BINS    := $(TEST_SRCS:engine/tests/%.c=$(BUILD)/tests/%)
ASAN_TESTS   := $(TEST_SRCS:engine/tests/%.c=$(BUILD)/asan/tests/%)

# conformance: the interpreter library (conformance/src) and the runner (conformance/cli)
RIG_SRCS   := $(sort $(wildcard conformance/src/*.c))
RIG_OBJS   := $(RIG_SRCS:conformance/src/%.c=$(BUILD)/obj/rig/%.o)
RIG_HDRS   := $(wildcard conformance/src/*.h)
RIG_A      := $(BUILD)/lib/librig.a
RIG_TEST_SRCS := $(sort $(wildcard conformance/tests/test_*.c))
RIG_TESTS  := $(RIG_TEST_SRCS:conformance/tests/%.c=$(BUILD)/tests/rig_%)
TLSRIG_BIN := $(BUILD)/bin/tlsrig
ASAN_RIG_OBJS := $(RIG_SRCS:conformance/src/%.c=$(BUILD)/asan/obj/rig/%.o)
ASAN_RIG_A := $(BUILD)/asan/lib/librig.a
ASAN_RIG_TESTS := $(RIG_TEST_SRCS:conformance/tests/%.c=$(BUILD)/asan/tests/rig_%)
ASAN_TLSRIG_BIN := $(BUILD)/asan/bin/tlsrig
SCENARIOS  := conformance/scenarios
TRANSCRIPTS := $(sort $(wildcard conformance/transcripts/*.tls))
# The scenarios whose recorded transcripts are kept as regressions (make transcripts).
TRANSCRIPT_SOURCES := $(addprefix $(SCENARIOS)/,handshake/keytype.scn handshake/version-same.scn \
    handshake/group-tls12-dhe-ffdhe2048.scn session/session-tls12-session-id.scn \
    session/session-tls13-ticket.scn renegotiation/renegotiation-client-initiated.scn \
    renegotiation/renegotiation-server-initiated.scn keyupdate/keyupdate-both-sides.scn \
    clientauth/clientauth-required.scn earlydata/earlydata-accepted.scn alpn/alpn-agree.scn \
    ocsp/ocsp-stapled.scn pha/pha-request.scn shutdown/shutdown-bidirectional.scn)

LIB_A  := $(BUILD)/lib/libtlsrig.a
LIB_SO := $(BUILD)/lib/libtlsrig.so
ASAN_LIB := $(BUILD)/asan/lib/libtlsrig.a

TOOLS := $(BUILD)/bin/tlsrig-selfcheck $(BUILD)/bin/tlsrig-bench

.PHONY: all lib test test-plain test-asan deps pki-regen transcripts conformance bench \
        bench-compare format format-check clean help

all: lib $(TOOLS)

help:
	@echo "make all          build libtlsrig (.a/.so) and tools into $(BUILD)/"
	@echo "make test         install deps, build, run the engine tests plain and under ASan+UBSan"
	@echo "make conformance  install deps, build, run the in-memory handshake self-check"
	@echo "make bench        engine vs plain OpenSSL: handshakes/s and bulk MB/s ratios"
	@echo "make bench-compare BASE=<rev> ROUNDS=5 FUZZ=1   speed of BASE and this tree, one run"
	@echo "make fuzz TARGET=server SECONDS=60 JOBS=1 ENGINE=libfuzzer|afl   a fuzzing campaign"
	@echo "make fuzz-build / afl-build / fuzz-replay / fuzz-smoke / fuzz-corpus (fuzz/README.md)"
	@echo "make triage TARGET=server     reproduce, deduplicate, minimise and report crashes"
	@echo "make coverage TARGET=server   llvm-cov HTML, libssl summary, ssl/statem handler table"
	@echo "make oss-fuzz-check           run .clusterfuzzlite/build.sh locally and check its output"
	@echo "make bench-fuzz               our server/client targets vs OpenSSL's own (10 min each)"
	@echo "make format       apply .clang-format;  make clean"

deps:
	@scripts/setup-deps.sh

lib: $(LIB_A) $(LIB_SO) $(WIRE_A)

$(BUILD)/obj/wire/%.o: wire/src/%.c $(WIRE_HDRS) $(ENGINE_HDRS)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(BASE_CFLAGS) $(CFLAGS) -c $< -o $@

$(BUILD)/asan/obj/wire/%.o: wire/src/%.c $(WIRE_HDRS) $(ENGINE_HDRS)
	@mkdir -p $(@D)
	$(ASAN_CC) $(CPPFLAGS) $(BASE_CFLAGS) $(ASAN_FLAGS) -c $< -o $@

$(WIRE_A): $(WIRE_OBJS)
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

$(ASAN_WIRE_A): $(ASAN_WIRE_OBJS)
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/tests/wire_%: wire/tests/%.c $(WIRE_TEST_HELPERS) wire/tests/testlib.h $(WIRE_A) \
                      $(LIB_A) $(WIRE_HDRS)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -Iwire/tests $(BASE_CFLAGS) $(CFLAGS) $< $(WIRE_TEST_HELPERS) -o $@ \
	    $(WIRE_A) $(LIB_A) -lcmocka $(LDLIBS_SSL)

$(BUILD)/asan/tests/wire_%: wire/tests/%.c $(WIRE_TEST_HELPERS) wire/tests/testlib.h \
                            $(ASAN_WIRE_A) $(ASAN_LIB) $(WIRE_HDRS)
	@mkdir -p $(@D)
	$(ASAN_CC) $(CPPFLAGS) -Iwire/tests $(BASE_CFLAGS) $(ASAN_FLAGS) $< $(WIRE_TEST_HELPERS) \
	    -o $@ $(ASAN_WIRE_A) $(ASAN_LIB) -lcmocka $(LDLIBS_SSL)

$(BUILD)/obj/engine/%.o: engine/src/%.c $(ENGINE_HDRS)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(BASE_CFLAGS) $(CFLAGS) -c $< -o $@

$(BUILD)/asan/obj/engine/%.o: engine/src/%.c $(ENGINE_HDRS)
	@mkdir -p $(@D)
	$(ASAN_CC) $(CPPFLAGS) $(BASE_CFLAGS) $(ASAN_FLAGS) -c $< -o $@

$(LIB_A): $(ENGINE_OBJS)
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

$(LIB_SO): $(ENGINE_OBJS)
	@mkdir -p $(@D)
	$(CC) -shared -o $@ $^ $(LDLIBS_SSL)

$(ASAN_LIB): $(ASAN_OBJS)
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

# The test PKI is committed (pki/) so that recorded transcripts and fuzz seeds replay
# byte for byte on every machine; this regenerates it (new keys: re-record transcripts).
pki-regen:
	rm -rf $(BUILD)/pki-new && scripts/gen-pki.sh $(BUILD)/pki-new
	rm -rf $(PKI) && cp -a $(BUILD)/pki-new $(PKI) && rm -f $(PKI)/.complete

$(BUILD)/obj/rig/%.o: conformance/src/%.c $(RIG_HDRS) $(WIRE_HDRS) $(ENGINE_HDRS)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -Iconformance/src $(BASE_CFLAGS) $(CFLAGS) -c $< -o $@

$(RIG_A): $(RIG_OBJS)
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

$(TLSRIG_BIN): $(wildcard conformance/cli/*.[ch]) $(RIG_A) $(WIRE_A) $(LIB_A) $(RIG_HDRS)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -Iconformance/cli -Iconformance/src $(BASE_CFLAGS) $(CFLAGS) \
	    $(sort $(wildcard conformance/cli/*.c)) -o $@ $(RIG_A) $(WIRE_A) $(LIB_A) $(LDLIBS_SSL)

$(BUILD)/tests/rig_%: conformance/tests/%.c $(RIG_A) $(WIRE_A) $(LIB_A) $(RIG_HDRS)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -Iconformance/src $(BASE_CFLAGS) $(CFLAGS) $< -o $@ $(RIG_A) $(WIRE_A) \
	    $(LIB_A) -lcmocka $(LDLIBS_SSL)

$(BUILD)/asan/obj/rig/%.o: conformance/src/%.c $(RIG_HDRS) $(WIRE_HDRS) $(ENGINE_HDRS)
	@mkdir -p $(@D)
	$(ASAN_CC) $(CPPFLAGS) -Iconformance/src $(BASE_CFLAGS) $(ASAN_FLAGS) -c $< -o $@

$(ASAN_RIG_A): $(ASAN_RIG_OBJS)
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

$(ASAN_TLSRIG_BIN): $(wildcard conformance/cli/*.[ch]) $(ASAN_RIG_A) $(ASAN_WIRE_A) $(ASAN_LIB) \
                    $(RIG_HDRS)
	@mkdir -p $(@D)
	$(ASAN_CC) $(CPPFLAGS) -Iconformance/cli -Iconformance/src $(BASE_CFLAGS) $(ASAN_FLAGS) \
	    $(sort $(wildcard conformance/cli/*.c)) -o $@ $(ASAN_RIG_A) $(ASAN_WIRE_A) $(ASAN_LIB) \
	    $(LDLIBS_SSL)

$(BUILD)/asan/tests/rig_%: conformance/tests/%.c $(ASAN_RIG_A) $(ASAN_WIRE_A) $(ASAN_LIB) \
                           $(RIG_HDRS)
	@mkdir -p $(@D)
	$(ASAN_CC) $(CPPFLAGS) -Iconformance/src $(BASE_CFLAGS) $(ASAN_FLAGS) $< -o $@ \
	    $(ASAN_RIG_A) $(ASAN_WIRE_A) $(ASAN_LIB) -lcmocka $(LDLIBS_SSL)

# ---- tests ----

# The engine's tests drive connection pairs through the wire (a test-only dependency: the
# engine library itself knows nothing of it).
$(BUILD)/tests/%: engine/tests/%.c $(TEST_HELPERS) engine/tests/harness.h $(WIRE_A) $(LIB_A)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -Iengine/tests $(BASE_CFLAGS) $(CFLAGS) $< $(TEST_HELPERS) -o $@ \
	    $(WIRE_A) $(LIB_A) -lcmocka $(LDLIBS_SSL)

$(BUILD)/asan/tests/%: engine/tests/%.c $(TEST_HELPERS) engine/tests/harness.h $(ASAN_WIRE_A) \
                       $(ASAN_LIB)
	@mkdir -p $(@D)
	$(ASAN_CC) $(CPPFLAGS) -Iengine/tests $(BASE_CFLAGS) $(ASAN_FLAGS) $< $(TEST_HELPERS) \
	    -o $@ $(ASAN_WIRE_A) $(ASAN_LIB) -lcmocka $(LDLIBS_SSL)

test: deps
	@$(MAKE) --no-print-directory -j$(shell nproc) test-all

# Unit tests (engine and conformance modules) plain and sanitized, the scenario suite under
# the sanitized runner, then the pytest collection of the suite and the runner's CLI tests.
test-all: $(TEST_BINS) $(ASAN_TESTS) $(WIRE_TESTS) $(ASAN_WIRE_TESTS) $(RIG_TESTS) \
          $(ASAN_RIG_TESTS) $(TLSRIG_BIN) \
          $(ASAN_TLSRIG_BIN) $(FZ_REPLAY) $(FZ_TARGETS:%=$(FZ_LF)/%)
	@TLSRIG_PKI=$(PKI) scripts/run-tests.sh plain $(TEST_BINS) $(WIRE_TESTS) $(RIG_TESTS) \
	    -- asan $(ASAN_TESTS) $(ASAN_WIRE_TESTS) $(ASAN_RIG_TESTS)
	@echo "== scenario suite under ASan+UBSan"
	@ASAN_OPTIONS=detect_leaks=1 $(ASAN_TLSRIG_BIN) run --pki $(PKI) -j 2 \
	    --pcap-dir $(BUILD)/conformance-failures $(SCENARIOS) > $(BUILD)/asan-suite.log 2>&1 \
	    || { cat $(BUILD)/asan-suite.log; exit 1; }
	@tail -n 1 $(BUILD)/asan-suite.log
	@echo "== recorded transcripts replayed byte for byte"
	@$(TLSRIG_BIN) replay --pki $(PKI) $(TRANSCRIPTS) > $(BUILD)/replay.log 2>&1 \
	    || { cat $(BUILD)/replay.log; exit 1; }
	@tail -n 1 $(BUILD)/replay.log
	@echo "== pytest"
	@TLSRIG_PKI=$(PKI) $(PYTHON) -m pytest -q -n 2 conformance
	@echo "== fuzz corpora and regressions through the replay binaries"
	@$(MAKE) --no-print-directory fuzz-replay
	@echo "== fuzz smoke runs (libFuzzer, instrumented OpenSSL)"
	@$(MAKE) --no-print-directory fuzz-smoke
	@echo "== crash triage on a target with known bugs"
	@$(MAKE) --no-print-directory triage-test
	@echo "== coverage reports (llvm-cov, coverage-instrumented OpenSSL)"
	@$(MAKE) --no-print-directory coverage-test
	@echo "== OSS-Fuzz / ClusterFuzzLite build.sh, run as the infrastructure runs it"
	@$(MAKE) --no-print-directory oss-fuzz-check

test-plain: $(TEST_BINS) $(WIRE_TESTS)
	@TLSRIG_PKI=$(PKI) scripts/run-tests.sh plain $(TEST_BINS) $(WIRE_TESTS)

test-asan: $(ASAN_TESTS) $(ASAN_WIRE_TESTS)
	@TLSRIG_PKI=$(PKI) scripts/run-tests.sh asan $(ASAN_TESTS) $(ASAN_WIRE_TESTS)

# ---- tools ----

$(BUILD)/bin/tlsrig-%: engine/tools/%.c $(WIRE_A) $(LIB_A) $(WIRE_HDRS) $(wildcard engine/tools/*.h)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -Iengine/tools $(BASE_CFLAGS) $(CFLAGS) $< -o $@ $(WIRE_A) $(LIB_A) \
	    $(LDLIBS_SSL)

conformance: deps
	@$(MAKE) --no-print-directory $(TLSRIG_BIN)
	$(TLSRIG_BIN) run --pki $(PKI) -j 2 $(SCENARIOS)

# Re-record the regression transcripts (after a deliberate change of the wire bytes: a new
# OpenSSL, a new PKI). Review the diff before committing it.
transcripts: $(TLSRIG_BIN)
	rm -rf $(BUILD)/transcripts && mkdir -p $(BUILD)/transcripts
	$(TLSRIG_BIN) record --pki $(PKI) -o $(BUILD)/transcripts $(TRANSCRIPT_SOURCES)
	rm -f conformance/transcripts/*.tls && cp $(BUILD)/transcripts/*.tls conformance/transcripts/

bench: deps
	@$(MAKE) --no-print-directory $(BUILD)/bin/tlsrig-bench $(TLSRIG_BIN)
	$(BUILD)/bin/tlsrig-bench $(PKI)
	scripts/bench-conformance.sh $(TLSRIG_BIN) $(PKI) $(SCENARIOS)

# Speed before (BASE, a git revision, built in a temporary worktree) and after (this tree),
# measured alternately in one run: tlsrig-bench's engine/raw ratios, scenarios/s with -j 1,
# and with FUZZ=1 each libFuzzer target's exec/s over PASSES runs of its corpus
# (scripts/bench-compare.sh). Exits 1 when an after/before ratio is below 0.97.
ROUNDS ?= 5
FUZZ   ?= 0
PASSES ?= 20
bench-compare: deps
	@test -n "$(BASE)" || { echo "usage: make bench-compare BASE=<git rev> [ROUNDS=5]" \
	    "[FUZZ=1] [PASSES=20]"; exit 2; }
	scripts/bench-compare.sh --base '$(BASE)' --rounds $(ROUNDS) --passes $(PASSES) \
	    --build $(BUILD) $(if $(filter 1,$(FUZZ)),--fuzz)

include fuzz/fuzz.mk

FORMAT_FILES = $(wildcard engine/include/*.h engine/src/*.[ch] engine/tests/*.[ch] \
    wire/include/*.h wire/src/*.[ch] wire/tests/*.[ch] \
    engine/tools/*.[ch] conformance/src/*.[ch] conformance/cli/*.[ch] conformance/tests/*.[ch] \
    fuzz/*.[ch])

format:
	clang-format -i $(FORMAT_FILES)

format-check:
	clang-format --dry-run --Werror $(FORMAT_FILES)

clean:
	rm -rf $(BUILD)

.PHONY: test-all
.SECONDARY:
