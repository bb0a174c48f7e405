# Makefile - builds libipp.a, then the programs that link it, then tests.
#   make            build everything
#   make check      unit tests and scenario tests (tests/run)
#   make bench      benchmarks (ours and ipyparallel's side by side)
#   make install PREFIX=/usr/local
include config.mk

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   := $(shell pkg-config --libs $(PKGS))
ALL_CFLAGS  = -std=gnu11 -D_GNU_SOURCE $(WARN) $(CFLAGS) $(EXTRA_CFLAGS) -Ilibipp $(PKG_CFLAGS) \
	      -MMD -MP
LDLIBS	    = $(PKG_LIBS) -lpthread -lm

LIB_SRCS = libipp/frame.c libipp/codec.c libipp/session.c libipp/connfile.c \
	   libipp/profile.c libipp/log.c libipp/util.c libipp/map.c libipp/opts.c
LIB_OBJS = $(LIB_SRCS:.c=.o)

HUBD_SRCS = $(wildcard hubd/*.c)
HUBD_OBJS = $(HUBD_SRCS:.c=.o)
# the task-history backends, also linked into their unit test
DB_OBJS   = $(patsubst %.c,%.o,$(wildcard hubd/db_*.c))

TOOL_PROGS = $(patsubst %.c,%,$(wildcard tools/*.c))
UNIT_SRCS  = $(wildcard tests/unit/t_*.c)
UNIT_PROGS = $(UNIT_SRCS:.c=)

PROGS = hubd/hubd $(TOOL_PROGS)

all: $(PROGS) $(UNIT_PROGS)

%.o: %.c
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

libipp/libipp.a: $(LIB_OBJS)
	rm -f $@
	ar rcs $@ $(LIB_OBJS)

hubd/hubd: $(HUBD_OBJS) libipp/libipp.a
	$(CC) $(LDFLAGS) -o $@ $(HUBD_OBJS) libipp/libipp.a $(LDLIBS)

tools/%: tools/%.o libipp/libipp.a
	$(CC) $(LDFLAGS) -o $@ $< libipp/libipp.a $(LDLIBS)

tests/unit/t_db: tests/unit/t_db.o tests/unit/tap.o $(DB_OBJS) libipp/libipp.a
	$(CC) $(LDFLAGS) -o $@ $< tests/unit/tap.o $(DB_OBJS) libipp/libipp.a $(LDLIBS)

tests/unit/t_%: tests/unit/t_%.o tests/unit/tap.o libipp/libipp.a
	$(CC) $(LDFLAGS) -o $@ $< tests/unit/tap.o libipp/libipp.a $(LDLIBS)

check: all
	tests/run

bench: all
	bench/run

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/sbin \
		$(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/man/man8
	install -m 755 hubd/hubd $(DESTDIR)$(PREFIX)/sbin/hubd
	install -m 644 doc/hubd.8 $(DESTDIR)$(PREFIX)/share/man/man8/hubd.8

clean:
	rm -f */*.o */*/*.o */*.d */*/*.d libipp/libipp.a $(PROGS) $(UNIT_PROGS)

.PHONY: all check bench install clean
.SECONDARY:

-include $(LIB_SRCS:.c=.d) $(HUBD_SRCS:.c=.d)
