libipp/codec.o: libipp/codec.c libipp/ipp.h
libipp/ipp.h:
