libipp/profile.o: libipp/profile.c libipp/ipp.h
libipp/ipp.h:
