# nlswitch - plain make (LMDB style): variables on top, one library, small mains.
#
#   make            build bin/nlswitchd, bin/nlagency, bin/nlstate, bin/nlbench
#   make test       install missing deps, unit suites + integration tests
#   make demo       install missing deps, run the scripted end-to-end scenario
#   make cluster-demo  two switch nodes on a 3-node RabbitMQ cluster: a switch
#                   node and a RabbitMQ node killed mid-stream, counts printed
#   make bench      load generator against a real switch (figures, no asserts,
#                   plots with gnuplot, RabbitMQ side by side when
#                   rabbitmq-server is installed: docs/performance.md)
#   make check-asan the whole test suite under AddressSanitizer + UBSan
#   make torture    the reliability suite (kill -9, full disk, corruption,
#                   hostile input, power loss); not part of make test
#   make install    programs, schemas, man pages, the systemd unit and an
#                   example config under DESTDIR/PREFIX; make uninstall
#   make check-man  lint the man pages (docs/man/)

# The version, here only: every binary's --version, the status and the
# nlswitch_build_info metric say it; the scripts read this line
# (tools/cli.sh) and `make -s print-version` prints it.
VERSION  = 0.3.0

PKGS     = libevent libevent_openssl libevent_pthreads openssl libxml-2.0 lmdb libjpeg zlib libxxhash jansson yajl librabbitmq
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

# bin/rmqbench is the RabbitMQ peer's load generator (tools/bench); it and
# the switch's cluster store (switch/broker.c) use rabbitmq-c
# (librabbitmq-dev, in PKGS).
BINS    += bin/rmqbench

UNIT_SRCS = $(wildcard tests/test_*.c) tests/unit_main.c
UNIT_OBJS = $(UNIT_SRCS:.c=.o)
IT_SRCS   = $(filter-out tests/it_util.c,$(wildcard tests/it_*.c))
IT_BINS   = $(IT_SRCS:.c=)

HDRS     = $(wildcard switch/*.h adapters/*.h tests/*.h)

# make install / make uninstall, with the usual PREFIX and DESTDIR (a
# staging root, for packages). The daemon and nlctl go to sbin (section 8
# pages), the integrator's and QA's programs to bin (section 1); the test
# tools (nlhsflood, nlidle, nltorture) and the scripts stay in the tree. Nothing
# is rebuilt: an installed program finds PREFIX/share/nlswitch/schemas
# beside itself (util_schemadir in switch/util.c).
PREFIX  ?= /usr/local
DESTDIR ?=
BINDIR   = $(PREFIX)/bin
SBINDIR  = $(PREFIX)/sbin
SHAREDIR = $(PREFIX)/share/nlswitch
MANDIR   = $(PREFIX)/share/man
DOCDIR   = $(PREFIX)/share/doc/nlswitch
UNITDIR  = $(PREFIX)/lib/systemd/system
INST_SBIN = nlswitchd nlctl
INST_BIN  = nlvalidate nlreplay nlagency nlstate nlaudit nlbench
SCHEMAS   = $(wildcard schemas/*.xsd)
MAN1      = $(wildcard docs/man/*.1)
MAN5      = $(wildcard docs/man/*.5)
MAN8      = $(wildcard docs/man/*.8)

.PHONY: all deps deps-test deps-bench fuzz test check-unit check-it check-asan demo cluster-demo bench \
	torture clean pki print-version install uninstall check-man

all: $(BINS) tests/unit_main $(IT_BINS)

deps:
	@./tools/install-deps

print-version:
	@echo $(VERSION)

deps-test:
	@./tools/install-deps --test

deps-bench:
	@./tools/install-deps --bench

# The Makefile too: VERSION (and every flag) is compiled in.
%.o: %.c $(HDRS) Makefile
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
	@$(MAKE) --no-print-directory check-unit check-man check-it

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

# Two switch nodes sharing a store in a private 3-node RabbitMQ cluster,
# a switch node and a RabbitMQ node killed mid-stream (tools/cluster-demo).
cluster-demo: deps
	@./tools/install-deps --cluster
	@$(MAKE) --no-print-directory all
	./tools/cluster-demo

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

# deps-bench: also gnuplot (the plots), optional: bench goes on without.
bench: deps-bench
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

# The unit names PREFIX/sbin/nlswitchd: the checked-in file says
# /usr/local/sbin (the default PREFIX).
install: $(addprefix bin/,$(INST_SBIN) $(INST_BIN))
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SBINDIR) \
	    $(DESTDIR)$(SHAREDIR)/schemas $(DESTDIR)$(MANDIR)/man1 \
	    $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8 \
	    $(DESTDIR)$(DOCDIR) $(DESTDIR)$(UNITDIR)
	install -m 755 $(addprefix bin/,$(INST_SBIN)) $(DESTDIR)$(SBINDIR)
	install -m 755 $(addprefix bin/,$(INST_BIN)) $(DESTDIR)$(BINDIR)
	install -m 644 $(SCHEMAS) $(DESTDIR)$(SHAREDIR)/schemas
	install -m 644 $(MAN1) $(DESTDIR)$(MANDIR)/man1
	install -m 644 $(MAN5) $(DESTDIR)$(MANDIR)/man5
	install -m 644 $(MAN8) $(DESTDIR)$(MANDIR)/man8
	install -m 644 docs/nlswitch.xml.example $(DESTDIR)$(DOCDIR)
	sed 's|/usr/local/sbin/|$(SBINDIR)/|g' docs/nlswitchd.service \
	    > $(DESTDIR)$(UNITDIR)/nlswitchd.service
	chmod 644 $(DESTDIR)$(UNITDIR)/nlswitchd.service

# Removes exactly what install put there, then the directories that are
# nlswitch's own; shared ones (bin, man1, ...) stay.
uninstall:
	rm -f $(addprefix $(DESTDIR)$(SBINDIR)/,$(INST_SBIN)) \
	    $(addprefix $(DESTDIR)$(BINDIR)/,$(INST_BIN)) \
	    $(addprefix $(DESTDIR)$(SHAREDIR)/schemas/,$(notdir $(SCHEMAS))) \
	    $(addprefix $(DESTDIR)$(MANDIR)/man1/,$(notdir $(MAN1))) \
	    $(addprefix $(DESTDIR)$(MANDIR)/man5/,$(notdir $(MAN5))) \
	    $(addprefix $(DESTDIR)$(MANDIR)/man8/,$(notdir $(MAN8))) \
	    $(DESTDIR)$(DOCDIR)/nlswitch.xml.example \
	    $(DESTDIR)$(UNITDIR)/nlswitchd.service
	for d in $(DESTDIR)$(SHAREDIR)/schemas $(DESTDIR)$(SHAREDIR) \
	    $(DESTDIR)$(DOCDIR); do \
	    [ ! -d "$$d" ] || rmdir --ignore-fail-on-non-empty "$$d"; \
	done

# The man pages must lint clean: mandoc (install-deps --test installs it)
# at style level, else groff's warnings through man.
check-man:
	@if command -v mandoc >/dev/null; then \
	    echo "mandoc -T lint -W style docs/man/*"; \
	    mandoc -T lint -W style $(MAN1) $(MAN5) $(MAN8); \
	else \
	    for m in $(MAN1) $(MAN5) $(MAN8); do \
	        out=$$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l $$m 2>&1 >/dev/null); \
	        [ -z "$$out" ] || { echo "$$m: $$out"; exit 1; }; \
	    done; \
	fi

clean:
	rm -f switch/*.o adapters/*.o tools/*.o tests/*.o $(LIBSW) $(LIBAD) $(SW_GEN) \
	      tests/unit_main $(IT_BINS) tests/fuzz/fuzz_msg
	rm -rf bin
