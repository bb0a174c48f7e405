libipp/frame.o: libipp/frame.c libipp/ipp.h
libipp/ipp.h:
