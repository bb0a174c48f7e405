# config.mk - the only file meant for local edits.
CC	?= cc
PREFIX	?= /usr/local
CFLAGS	?= -O2 -g
WARN	= -Wall -Wextra -Wno-unused-parameter -Wshadow -Wpointer-arith \
	  -Wmissing-prototypes -Wstrict-prototypes -Wno-format-truncation
PKGS	= libzmq jansson sqlite3 libsodium nettle
