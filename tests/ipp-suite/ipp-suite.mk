# tests/ipp-suite/ipp-suite.mk - make targets for ipyparallel's own test suite
# (doc/ipp-suite.md).  Meant to be included from the top-level Makefile:
#     include tests/ipp-suite/ipp-suite.mk
# Needs the Debian packages listed in doc/ipp-suite.md (run-suite --install-deps
# installs them).  Each run takes ~6-9 minutes on the 2-core machine.
IPP_SUITE_OUT ?= ipp-suite-out
IPP_SUITE_ARGS ?=

# hubd as the controller, the real ipengine; fails (exit 1) when fewer tests
# pass than with ipcontroller (count in baseline-ipcontroller.txt)
ipp-suite: hubd/hubd
	tests/ipp-suite/run-suite --controller hubd/hubd --out $(IPP_SUITE_OUT)/hubd \
		--expect-passed tests/ipp-suite/baseline-ipcontroller.txt $(IPP_SUITE_ARGS)

# hubd as the controller, engined as the engine; fails when fewer tests pass
# than recorded in expected-engined.txt (doc/ipp-suite.md lists the rest)
ipp-suite-engined: hubd/hubd engined/engined
	tests/ipp-suite/run-suite --controller hubd/hubd --engine engined/engined \
		--out $(IPP_SUITE_OUT)/engined \
		--expect-passed tests/ipp-suite/expected-engined.txt $(IPP_SUITE_ARGS)

# the reference run: the real ipcontroller and ipengine
ipp-suite-baseline:
	tests/ipp-suite/run-suite --out $(IPP_SUITE_OUT)/ipcontroller \
		--expect-passed tests/ipp-suite/baseline-ipcontroller.txt $(IPP_SUITE_ARGS)

.PHONY: ipp-suite ipp-suite-engined ipp-suite-baseline
