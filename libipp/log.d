libipp/log.o: libipp/log.c libipp/ipp.h
libipp/ipp.h:
