# nlswitch - plain make (LMDB style): variables on top, one library, small mains.
#
#   make            build bin/nlswitchd, bin/nlagency, bin/nlstate, bin/nlbench
#   make test       install missing deps, unit suites + integration tests
#   make demo       install missing deps, run the scripted end-to-end scenario
#   make bench      load generator against a real switch (figures, no asserts)
#   make check-asan the whole test suite under AddressSanitizer + UBSan
#   make torture    the reliability suite (kill -9, full disk, corruption,
#                   hostile input, power loss); not part of make test

# The version, here only: every binary's --version, the status and the
# nlswitch_build_info metric say it; the scripts read this line
# (tools/cli.sh) and `make -s print-version` prints it.
VERSION  = 0.3.0

PKGS     = libevent libevent_openssl libevent_pthreads openssl libxml-2.0 lmdb libjpeg zlib libxxhash jansson
CC      ?= cc
OPT     ?= -O2
SAN     ?=
CFLAGS  ?=
CFLAGS  += -DNLSWITCH_SCHEMADIR=\"$(CURDIR)/schemas\" -DNLSWITCH_VERSION=\"$(VERSION)\"
CFLAGS  += -std=c11 -D_GNU_SOURCE -g $(OPT) $(SAN) -Wall -Wextra -Wformat=2 -Wshadow \
	   -Wno-unused-parameter -pthread -Iswitch -Iadapters \
	   $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDFLAGS += $(SAN) -pthread
LDLIBS  += $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lm

# Every switch/*.c except the daemon's main is archived into libswitch.a, which
# the daemon, adapters, tools and tests all link. adapters/*.c that are not a
# main (nl*.c) form libadapters.a.
SW_GEN   = switch/dashboard_html.c
SW_SRCS  = $(filter-out switch/nlswitchd.c $(SW_GEN),$(wildcard switch/*.c))
SW_OBJS  = $(SW_SRCS:.c=.o) $(SW_GEN:.c=.o)
AD_SRCS  = $(filter-out adapters/nl%.c,$(wildcard adapters/*.c))
AD_OBJS  = $(AD_SRCS:.c=.o)
LIBSW    = switch/libswitch.a
LIBAD    = adapters/libadapters.a

TOOLS    = $(patsubst tools/%.c,bin/%,$(wildcard tools/nl*.c))
BINS     = bin/nlswitchd bin/nlagency bin/nlstate $(TOOLS)

UNIT_SRCS = $(wildcard tests/test_*.c) tests/unit_main.c
UNIT_OBJS = $(UNIT_SRCS:.c=.o)
IT_SRCS   = $(filter-out tests/it_util.c,$(wildcard tests/it_*.c))
IT_BINS   = $(IT_SRCS:.c=)

HDRS     = $(wildcard switch/*.h adapters/*.h tests/*.h)

.PHONY: all deps deps-test fuzz test check-unit check-it check-asan demo bench \
	torture clean pki print-version

all: $(BINS) tests/unit_main $(IT_BINS)

deps:
	@./tools/install-deps

print-version:
	@echo $(VERSION)

deps-test:
	@./tools/install-deps --test

%.o: %.c $(HDRS)
	$(CC) $(CFLAGS) -c -o $@ $<

# The dashboard is an ordinary HTML file, compiled in as a string.
switch/dashboard_html.c: switch/www/dashboard.html tools/embed
	./tools/embed switch/www/dashboard.html admin_dashboard_html > $@

$(LIBSW): $(SW_OBJS)
	$(AR) rcs $@ $^

$(LIBAD): $(AD_OBJS)
	$(AR) rcs $@ $^

bin/nlswitchd: switch/nlswitchd.o $(LIBSW)
	@mkdir -p bin
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

bin/%: adapters/%.o $(LIBAD) $(LIBSW)
	@mkdir -p bin
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

bin/%: tools/%.o $(LIBAD) $(LIBSW)
	@mkdir -p bin
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

tests/unit_main: $(UNIT_OBJS) $(LIBAD) $(LIBSW)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcunit

tests/it_%: tests/it_%.o tests/it_util.o $(LIBAD) $(LIBSW)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcunit

# The test target installs what is missing first, so a fresh Debian machine
# needs nothing but `make test`.
test: deps-test
	@$(MAKE) --no-print-directory check-unit check-it

check-unit: tests/unit_main
	./tests/unit_main

check-it: all
	./tests/run-it

check-asan: deps-test
	$(MAKE) clean
	$(MAKE) --no-print-directory OPT=-O1 SAN='-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined' check-unit check-it
	$(MAKE) clean

demo: deps
	@$(MAKE) --no-print-directory all
	./tools/demo

# Coverage-guided fuzzing of the input parsers (libFuzzer, clang), seeded
# with the fixtures and tests/fuzz/seeds; FUZZ_SECONDS bounds the run.
FUZZ_SECONDS ?= 60
FUZZ_FLAGS = -g -O1 -fsanitize=fuzzer,address,undefined -std=c11 -D_GNU_SOURCE \
	     -DNLSWITCH_SCHEMADIR=\"$(CURDIR)/schemas\" -Iswitch -Iadapters \
	     $(shell pkg-config --cflags $(PKGS) 2>/dev/null)

tests/fuzz/fuzz_msg: tests/fuzz/fuzz_msg.c $(SW_SRCS) $(SW_GEN) $(HDRS)
	clang $(FUZZ_FLAGS) -o $@ tests/fuzz/fuzz_msg.c $(SW_SRCS) $(SW_GEN) \
	    $(LDLIBS) -pthread

fuzz: deps
	@$(MAKE) --no-print-directory tests/fuzz/fuzz_msg
	mkdir -p tests/fuzz/run
	NLSWITCH_SCHEMADIR=schemas ./tests/fuzz/fuzz_msg \
	    -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -timeout=10 \
	    tests/fuzz/run tests/fuzz/seeds fixtures/msg/valid \
	    fixtures/msg/invalid fixtures/legacy/valid fixtures/legacy/invalid

bench: deps
	@$(MAKE) --no-print-directory all
	./tools/bench

# The standing reliability suite (docs/durability.md): bounded by
# TORTURE_SECONDS (default 600, shared by the cycles); TORTURE_KILLS,
# TORTURE_CORRUPTIONS bound runs by count; TORTURE_CYCLES picks cycles
# (kill9 diskfull corrupt hostile powerloss). Exit 1 on any failure, a
# lost ACKed message first of all. The disk-full cycle needs root.
TORTURE_SECONDS ?= 600
TORTURE_CYCLES  ?=
torture: all
	./bin/nltorture -s $(TORTURE_SECONDS) $(TORTURE_CYCLES)

clean:
	rm -f switch/*.o adapters/*.o tools/*.o tests/*.o $(LIBSW) $(LIBAD) $(SW_GEN) \
	      tests/unit_main $(IT_BINS) tests/fuzz/fuzz_msg
	rm -rf bin
