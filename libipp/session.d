libipp/session.o: libipp/session.c libipp/ipp.h
libipp/ipp.h:
