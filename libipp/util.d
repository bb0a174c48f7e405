libipp/util.o: libipp/util.c libipp/ipp.h
libipp/ipp.h:
