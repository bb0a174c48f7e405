# Makefile - builds libipp.a, then the programs that link it, then tests.
#   make            build everything
#   make check      unit tests and scenario tests (tests/run)
#   make check-batch the launch tests against real batch systems
#   make check-fresh the README's commands on a fresh Debian 12 root
#   make bench      benchmarks (ours and ipyparallel's side by side)
#   make install PREFIX=/usr/local
include config.mk

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   := $(shell pkg-config --libs $(PKGS))
ALL_CFLAGS  = -std=gnu11 -D_GNU_SOURCE $(WARN) $(CFLAGS) $(EXTRA_CFLAGS) -Ilibipp $(PKG_CFLAGS) \
	      -MMD -MP
LDLIBS	    = $(PKG_LIBS) -lpthread -lm

LIB_SRCS = libipp/frame.c libipp/codec.c libipp/session.c libipp/hmac.c libipp/connfile.c \
	   libipp/profile.c libipp/log.c libipp/util.c libipp/map.c libipp/opts.c \
	   libipp/zpoll.c libipp/trace.c libipp/pyconf.c libipp/tunnel.c \
	   libipp/jscan.c
LIB_OBJS = $(LIB_SRCS:.c=.o)

HUBD_SRCS = $(wildcard hubd/*.c)
HUBD_OBJS = $(HUBD_SRCS:.c=.o)
# the task-history backends, also linked into their unit test
DB_OBJS   = $(patsubst %.c,%.o,$(wildcard hubd/db_*.c))

ENGINED_SRCS = engined/engined.c engined/control.c engined/pyexec.c \
	       engined/pyshell.c engined/pyreq.c engined/pybuf.c
ENGINED_OBJS = $(ENGINED_SRCS:.c=.o)
# Debian's libpython (python3-embed); -isystem keeps its headers out of -W
PY_CFLAGS  := $(subst -I,-isystem ,$(shell pkg-config --cflags python3-embed))
PY_LIBS    := $(shell pkg-config --libs python3-embed)

# ippfs: the FUSE file system (libfuse3 low-level API)
IPPFS_SRCS = ippfs/ippfs.c ippfs/tree.c ippfs/files.c ippfs/gen.c \
	     ippfs/hub.c ippfs/fast.c \
	     ippfs/tasks.c ippfs/ctl.c ippfs/ns.c ippfs/names.c \
	     ippfs/vis.c ippfs/timeline.c ippfs/metrics.c ippfs/waitall.c
IPPFS_OBJS = $(IPPFS_SRCS:.c=.o)
FUSE_CFLAGS := $(shell pkg-config --cflags fuse3) -DFUSE_USE_VERSION=312
FUSE_LIBS   := $(shell pkg-config --libs fuse3)

# launch, our ipcluster (launch/launch.h describes its files)
LAUNCH_SRCS = launch/launch.c launch/conf.c launch/cluster.c launch/state.c \
	      launch/watch.c launch/proc.c launch/template.c launch/batch.c \
	      launch/local.c launch/mpi.c launch/ssh.c launch/sshctl.c \
	      launch/slurm.c \
	      launch/pbs.c launch/sge.c launch/lsf.c launch/htcondor.c \
	      launch/winhpc.c
LAUNCH_OBJS = $(LAUNCH_SRCS:.c=.o)

TOOL_PROGS = $(patsubst %.c,%,$(wildcard tools/*.c))
# the load tools' shared set-up, linked into each (tools/lib/common.h)
TOOL_LIB_OBJS = tools/lib/common.o
TOOL_LIB_PROGS = tools/loadgen
# simengines' hearts, shells and registration (tools/sim/sim.h)
SIM_OBJS = tools/sim/heart.o tools/sim/shell.o tools/sim/reg.o
UNIT_SRCS  = $(wildcard tests/unit/t_*.c)
UNIT_PROGS = $(UNIT_SRCS:.c=)

PROGS = hubd/hubd engined/engined ippfs/ippfs launch/launch $(TOOL_PROGS)

all: $(PROGS) $(UNIT_PROGS)

%.o: %.c
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

libipp/libipp.a: $(LIB_OBJS)
	rm -f $@
	ar rcs $@ $(LIB_OBJS)

hubd/hubd: $(HUBD_OBJS) libipp/libipp.a
	$(CC) $(LDFLAGS) -o $@ $(HUBD_OBJS) libipp/libipp.a $(LDLIBS)

engined/pyexec.o: engined/pyexec.c engined/engine_py.h
	$(CC) $(ALL_CFLAGS) $(PY_CFLAGS) -c -o $@ $<

engined/pyshell.o: engined/pyshell.c
	$(CC) $(ALL_CFLAGS) $(PY_CFLAGS) -c -o $@ $<

engined/pyreq.o: engined/pyreq.c
	$(CC) $(ALL_CFLAGS) $(PY_CFLAGS) -c -o $@ $<

engined/pybuf.o: engined/pybuf.c
	$(CC) $(ALL_CFLAGS) $(PY_CFLAGS) -c -o $@ $<

# engine.py and pyconf.py are compiled into the binaries as C strings
%_py.h: %.py
	{ echo '/* generated from $(<F) by make: do not edit */'; \
	  echo 'static const char $(basename $(<F))_py[] ='; \
	  sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/"/' -e 's/$$/\\n"/' $<; \
	  echo ';'; } > $@

libipp/pyconf.o: libipp/pyconf.c libipp/pyconf_py.h

engined/engined: $(ENGINED_OBJS) libipp/libipp.a
	$(CC) $(LDFLAGS) -o $@ $(ENGINED_OBJS) libipp/libipp.a $(LDLIBS) \
	    $(PY_LIBS)

$(IPPFS_OBJS): %.o: %.c
	$(CC) $(ALL_CFLAGS) $(FUSE_CFLAGS) -c -o $@ $<

ippfs/ippfs: $(IPPFS_OBJS) libipp/libipp.a
	$(CC) $(LDFLAGS) -o $@ $(IPPFS_OBJS) libipp/libipp.a $(LDLIBS) $(FUSE_LIBS)

launch/launch: $(LAUNCH_OBJS) libipp/libipp.a
	$(CC) $(LDFLAGS) -o $@ $(LAUNCH_OBJS) libipp/libipp.a $(LDLIBS)

tools/%: tools/%.o libipp/libipp.a
	$(CC) $(LDFLAGS) -o $@ $< libipp/libipp.a $(LDLIBS)

$(TOOL_LIB_PROGS): %: %.o $(TOOL_LIB_OBJS) libipp/libipp.a
	$(CC) $(LDFLAGS) -o $@ $< $(TOOL_LIB_OBJS) libipp/libipp.a $(LDLIBS)

tools/simengines: tools/simengines.o $(SIM_OBJS) $(TOOL_LIB_OBJS) libipp/libipp.a
	$(CC) $(LDFLAGS) -o $@ $< $(SIM_OBJS) $(TOOL_LIB_OBJS) libipp/libipp.a $(LDLIBS)

# the trivial FUSE file system bench/b-ippfs.sh compares ippfs with
tools/hellofs.o: tools/hellofs.c
	$(CC) $(ALL_CFLAGS) $(FUSE_CFLAGS) -c -o $@ $<

tools/hellofs: tools/hellofs.o
	$(CC) $(LDFLAGS) -o $@ $< $(FUSE_LIBS)

tests/unit/t_db tests/unit/t_dbfile: %: %.o tests/unit/tap.o $(DB_OBJS) libipp/libipp.a
	$(CC) $(LDFLAGS) -o $@ $< tests/unit/tap.o $(DB_OBJS) libipp/libipp.a $(LDLIBS)

# the schemes and dependency rules, tested without a hub
SCHED_OBJS = hubd/dep.o hubd/idtab.o $(patsubst %.c,%.o,$(wildcard hubd/sched_*.c))
tests/unit/t_sched: tests/unit/t_sched.o tests/unit/tap.o $(SCHED_OBJS) libipp/libipp.a
	$(CC) $(LDFLAGS) -o $@ $< tests/unit/tap.o $(SCHED_OBJS) libipp/libipp.a $(LDLIBS)

# the scheduler's table of msg_ids, tested alone
tests/unit/t_idtab: tests/unit/t_idtab.o tests/unit/tap.o hubd/idtab.o libipp/libipp.a
	$(CC) $(LDFLAGS) -o $@ $< tests/unit/tap.o hubd/idtab.o libipp/libipp.a $(LDLIBS)

tests/unit/t_%: tests/unit/t_%.o tests/unit/tap.o libipp/libipp.a
	$(CC) $(LDFLAGS) -o $@ $< tests/unit/tap.o libipp/libipp.a $(LDLIBS)

# libipp's sources, for builds outside make (tests/fuzz/run-fuzz.sh)
lib-srcs:
	@echo $(LIB_SRCS)

check: all
	tests/run

# launch against real batch systems set up by tests/setup/ (each test
# exits 77, skipped, where its system is unavailable): MPI, ssh to
# 127.0.0.1 and to a network namespace, Slurm and PBS, Grid Engine
# (scripts/deps.sh sge), HTCondor (a running pool)
check-batch: all
	tests/run t3040 t3050 t3060 t3065 t3100 t3110 t3140 t3180

bench: all
	bench/run

# the README's two commands in a fresh Debian 12 root (mmdebstrap, ~30 min;
# needs root): scripts/check-fresh.sh
check-fresh:
	scripts/check-fresh.sh

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/sbin \
		$(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/man/man8
	install -m 755 hubd/hubd $(DESTDIR)$(PREFIX)/sbin/hubd
	install -m 755 engined/engined $(DESTDIR)$(PREFIX)/sbin/engined
	install -m 755 ippfs/ippfs $(DESTDIR)$(PREFIX)/bin/ippfs
	install -m 644 doc/ippfs.1 $(DESTDIR)$(PREFIX)/share/man/man1/
	install -m 644 doc/hubd.8 doc/engined.8 $(DESTDIR)$(PREFIX)/share/man/man8/
	install -m 755 launch/launch $(DESTDIR)$(PREFIX)/bin/launch
	install -m 644 doc/launch.1 $(DESTDIR)$(PREFIX)/share/man/man1/

clean:
	rm -f */*.o */*/*.o */*.d */*/*.d */*_py.h libipp/libipp.a $(PROGS) $(UNIT_PROGS)

# ipyparallel's own test suite against our programs (tests/ipp-suite/)
include tests/ipp-suite/ipp-suite.mk

.PHONY: all lib-srcs check check-batch check-fresh bench install clean
.SECONDARY:

-include $(LIB_SRCS:.c=.d) $(HUBD_SRCS:.c=.d) $(ENGINED_SRCS:.c=.d)
-include $(LAUNCH_SRCS:.c=.d) \
	 $(IPPFS_SRCS:.c=.d)
-include $(TOOL_LIB_OBJS:.o=.d) $(TOOL_LIB_PROGS:=.d) $(UNIT_PROGS:=.d) \
	 $(SIM_OBJS:.o=.d) tools/simengines.d
