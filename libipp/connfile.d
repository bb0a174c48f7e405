libipp/connfile.o: libipp/connfile.c libipp/ipp.h
libipp/ipp.h:
