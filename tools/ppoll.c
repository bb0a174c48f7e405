/*
 * ppoll.c - poll(2), O_NONBLOCK and errno probe for the ippfs tests.
 *
 * Shell tests can neither poll a file nor see an errno by name, so this
 * does one open, an optional write, an optional poll and one read, and
 * says what happened:
 *
 *	ppoll [-d] [-n] [-t MS] [-w TEXT] FILE
 *
 *	-d	drain first: read while a zero-timeout poll says readable,
 *		so a stream (events) is caught up; the data is discarded
 *	-n	open with O_NONBLOCK
 *	-t MS	poll for POLLIN first, at most MS milliseconds (-1: forever)
 *	-w TEXT	open read-write and write TEXT first
 *
 * Output: the data of the read (exit 0); "timeout" when the poll expired
 * (exit 1); or the errno name of the failed call, e.g. "read EAGAIN" or
 * "open ENOENT" (exit 2).  After a failed write the same fd is read
 * once more and what it says follows on the next line, which is how
 * ippfs returns the text of an error.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *
ename(int err)
{
	const char *s = strerrorname_np(err);

	return s != NULL ? s : "E?";
}

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: ppoll [-d] [-n] [-t MS] [-w TEXT] FILE\n");
	exit(64);
}

int
main(int argc, char **argv)
{
	const char *text = NULL;
	struct pollfd pfd;
	char buf[65536];
	ssize_t n;
	int c, fd, flags = O_RDONLY, ms = -2, err, drain = 0;

	while ((c = getopt(argc, argv, "dnt:w:")) != -1) {
		switch (c) {
		case 'd':
			drain = 1;
			break;
		case 'n':
			flags |= O_NONBLOCK;
			break;
		case 't':
			ms = atoi(optarg);
			break;
		case 'w':
			text = optarg;
			flags = (flags & ~O_ACCMODE) | O_RDWR;
			break;
		default:
			usage();
		}
	}
	if (optind + 1 != argc)
		usage();
	if ((fd = open(argv[optind], flags)) == -1) {
		printf("open %s\n", ename(errno));
		return 2;
	}
	if (text != NULL && write(fd, text, strlen(text)) == -1) {
		err = errno;
		printf("write %s\n", ename(err));
		if ((n = read(fd, buf, sizeof(buf))) > 0)
			fwrite(buf, 1, (size_t)n, stdout);
		return 2;
	}
	pfd.fd = fd;
	pfd.events = POLLIN;
	while (drain && poll(&pfd, 1, 0) == 1 && read(fd, buf, sizeof(buf)) > 0)
		;
	if (ms != -2) {
		pfd.fd = fd;
		pfd.events = POLLIN;
		pfd.revents = 0;
		if ((c = poll(&pfd, 1, ms)) == -1) {
			printf("poll %s\n", ename(errno));
			return 2;
		}
		if (c == 0) {
			printf("timeout\n");
			return 1;
		}
	}
	if ((n = read(fd, buf, sizeof(buf))) == -1) {
		printf("read %s\n", ename(errno));
		return 2;
	}
	fwrite(buf, 1, (size_t)n, stdout);
	close(fd);
	return 0;
}
