"""pytest plugin: point ipyparallel's own test suite at another controller/engine.

Loaded by tests/ipp-suite/run-suite with ``-p ipp_suite_plugin`` (this
directory on PYTHONPATH).  Nothing under /usr/lib is modified; the suite is
run in place from the installed package.

Environment variables read (each a shell-quoted command line, split with
shlex; empty/unset means "leave ipyparallel's default"):

  IPP_SUITE_CONTROLLER_CMD   replaces ``python3 -m ipyparallel.controller``
  IPP_SUITE_ENGINE_CMD       replaces ``python3 -m ipyparallel.engine``
  IPP_SUITE_RESULTS          file to which one line "<outcome>\t<nodeid>" is
                             appended (and flushed) per finished test, so
                             results survive a run that is killed by the
                             overall time bound.

How the suite launches processes (ipyparallel 7.1) and what is patched:

* ipyparallel/tests/__init__.py: setup()/add_engines() build the command from
  the module globals ``ipcontroller_cmd_argv`` / ``ipengine_cmd_argv``
  (imported from ipyparallel.cluster.launcher), looked up at call time.
  -> we rebind those two globals.
* conftest.py's ``Cluster`` fixture and test_cluster.py/test_apps.py use
  ipp.Cluster -> LocalControllerLauncher / LocalEngineSetLauncher, whose
  ``controller_cmd`` / ``engine_cmd`` traits default to the same argv lists.
  The fixture passes an explicit Config() and asserts it is unchanged, so we
  change the traits' class-level defaults instead of the config.
* test_apps.py::test_ipcluster_start_stop runs ``python3 -m
  ipyparallel.cluster start`` as a subprocess in the per-module IPYTHONDIR's
  default profile.  That process loads profile_default/ipcluster_config.py,
  so an autouse fixture (after conftest's ``ipython_dir``) writes one that
  sets ControllerLauncher.controller_cmd / EngineLauncher.engine_cmd.
"""
import os
import shlex

import pytest


def _cmd(var):
    v = os.environ.get(var, "").strip()
    return shlex.split(v) if v else None


CONTROLLER_CMD = _cmd("IPP_SUITE_CONTROLLER_CMD")
ENGINE_CMD = _cmd("IPP_SUITE_ENGINE_CMD")


def _patch():
    from ipyparallel.cluster import launcher
    import ipyparallel.tests as ipptests

    if CONTROLLER_CMD:
        ipptests.ipcontroller_cmd_argv = list(CONTROLLER_CMD)
        launcher.ControllerLauncher.controller_cmd.default_args = (
            list(CONTROLLER_CMD),
        )
    if ENGINE_CMD:
        ipptests.ipengine_cmd_argv = list(ENGINE_CMD)
        launcher.EngineLauncher.engine_cmd.default_args = (list(ENGINE_CMD),)

    # sanity check: a fresh launcher must now use the replacement commands
    if CONTROLLER_CMD:
        assert launcher.LocalControllerLauncher().controller_cmd == CONTROLLER_CMD
    if ENGINE_CMD:
        assert launcher.LocalEngineLauncher().engine_cmd == ENGINE_CMD


def pytest_configure(config):
    _patch()


def pytest_report_header(config):
    return [
        "ipp-suite controller: %s"
        % (" ".join(CONTROLLER_CMD) if CONTROLLER_CMD else "(ipyparallel default)"),
        "ipp-suite engine: %s"
        % (" ".join(ENGINE_CMD) if ENGINE_CMD else "(ipyparallel default)"),
    ]


@pytest.fixture(autouse=True, scope="module")
def _ipp_suite_ipcluster_config(ipython_dir):
    """Make `ipcluster start` subprocesses use the replacement commands too."""
    if CONTROLLER_CMD or ENGINE_CMD:
        pd = os.path.join(ipython_dir, "profile_default")
        os.makedirs(pd, exist_ok=True)
        with open(os.path.join(pd, "ipcluster_config.py"), "a") as f:
            f.write("\n# written by ipp_suite_plugin\n")
            if CONTROLLER_CMD:
                f.write("c.ControllerLauncher.controller_cmd = %r\n" % CONTROLLER_CMD)
            if ENGINE_CMD:
                f.write("c.EngineLauncher.engine_cmd = %r\n" % ENGINE_CMD)
    yield


# --- incremental, kill-proof result log -------------------------------------

_RESULTS = os.environ.get("IPP_SUITE_RESULTS")
_seen = {}


def _record(nodeid, outcome):
    if not _RESULTS:
        return
    with open(_RESULTS, "a") as f:
        f.write("%s\t%s\n" % (outcome, nodeid))
        f.flush()


def pytest_runtest_logreport(report):
    # Same classification as pytest's terminal summary:
    #   passed / failed / skipped (incl. xfail) / error (setup/teardown failure)
    nid = report.nodeid
    if report.when == "call":
        if hasattr(report, "wasxfail"):
            outcome = "xpassed" if report.passed else "xfailed"
        else:
            outcome = report.outcome  # passed / failed / skipped
        _seen[nid] = outcome
    elif report.when == "setup":
        if report.failed:
            _seen[nid] = "error"
        elif report.skipped:
            _seen[nid] = "skipped"
    elif report.when == "teardown":
        if report.failed:
            # pytest counts a teardown failure as an extra error; a test whose
            # call passed but whose teardown failed is not counted as passed
            _seen[nid] = "error"
        _record(nid, _seen.pop(nid, "error"))
