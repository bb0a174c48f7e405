"""engined's Python side: runs requests in the user namespace.

Loaded by pyexec.c into the embedded interpreter (compiled into the
binary).  The C side calls run_execute() (then post_execute()),
run_apply(), clear() and startup(); everything on the wire stays in C.
Of ipyparallel only its serialisation is imported, when the interpreter
starts (warm, _serialize_alone: the whole package pulls in IPython, zmq
and tornado, 0.7 s and 60 MiB), so an engine stays small and its first
apply fast; the rest loads when something uses it.  Output written to
sys.stdout/sys.stderr goes to the C side (_engined.write), which streams
it on iopub while the code runs.
"""
import builtins
import importlib.machinery
import json
import sys
from types import CodeType as _CodeType

import _engined

user_ns = {"__name__": "__main__", "__builtins__": builtins}
_ipp = None             # (unpack_apply_message, serialize_object)
_shell = None           # IPython InteractiveShell, made on demand
_cell = None            # (shell, silent, ExecutionResult) of the running cell

# The working directory (by now --work-dir's), first, as ipengine puts it
# (ipyparallel/engine/app.py, init_engine): modules there import, and so
# functions pickled by reference from them.
sys.path.insert(0, "")


class _Stream:
    """A text stream whose writes go to iopub."""

    encoding = "utf-8"
    errors = "replace"

    def __init__(self, which, name):
        self._which = which
        self.name = name

    def write(self, s):
        if not isinstance(s, str):
            raise TypeError("write() argument must be str, not %s"
                            % type(s).__name__)
        _engined.write(self._which, s)
        return len(s)

    def writelines(self, lines):
        for line in lines:
            self.write(line)

    def flush(self):
        pass

    def isatty(self):
        return False

    def readable(self):
        return False

    def writable(self):
        return True

    def seekable(self):
        return False

    @property
    def closed(self):
        return False


sys.stdout = _Stream(1, "<stdout>")
sys.stderr = _Stream(2, "<stderr>")


class _ShellShim:
    """What ipyparallel's helpers (_push, _pull, _execute) need of
    get_ipython() when there is no IPython shell."""

    user_ns = user_ns
    user_global_ns = user_ns


def get_ipython():
    return _shell if _shell is not None else _ShellShim


def _error(etype, value, tb):
    """(ename, evalue, traceback lines) without engined's own frames:
    IPython's format when its shell is up (as ipengine's), else Python's."""
    while tb is not None and tb.tb_frame.f_code.co_filename == __file__:
        tb = tb.tb_next
    lines = None
    if _shell is not None:
        try:
            lines = _shell.InteractiveTB.structured_traceback(etype, value,
                                                              tb)
        except Exception:
            lines = None
    if lines is None:
        import traceback
        lines = traceback.format_exception(etype, value, tb)
    try:
        evalue = str(value)
    except Exception as e:  # an exception whose __str__ fails
        evalue = "<unprintable %s: %s>" % (etype.__name__, e)
    return etype.__name__, evalue, [line.rstrip("\n") for line in lines]


def _json_clean(obj):
    try:
        from jupyter_client.jsonutil import json_clean
    except ImportError:
        return obj
    return json_clean(obj)


def _ensure_shell():
    """An IPython shell over our namespace, for magics and rich display.

    Made on first need (IPython is already loaded by then when ipyparallel
    was), so that an idle engine does not pay for it.  Its module and
    namespace are our user_ns, so get_ipython().user_ns, the namespace of
    ipyparallel's push/pull helpers and of execute are one dict."""
    global _shell
    if _shell is not None:
        return _shell
    try:
        from IPython.core.displaypub import DisplayPublisher
        from IPython.core.interactiveshell import InteractiveShell
        from traitlets.config import Config
    except ImportError:
        return None

    class _Publisher(DisplayPublisher):
        def publish(self, data, metadata=None, source=None, *,
                    transient=None, update=False, **kw):
            content = {"data": data, "metadata": metadata or {},
                       "transient": transient or {}}
            _engined.publish("displaypub", "update_display_data" if update
                             else "display_data",
                             json.dumps(_json_clean(content)), [])

        def clear_output(self, wait=False):
            _engined.publish("displaypub", "clear_output",
                             json.dumps({"wait": bool(wait)}), [])

    class _Shell(InteractiveShell):
        def enable_gui(self, gui=None):
            """%gui and %matplotlib: as ipykernel's shell for the inline
            backend, which needs no event loop (figures go out as
            display_data when a cell ends, post_execute); engined runs
            no GUI toolkit's event loop, so any other is refused."""
            if gui not in (None, "inline"):
                from IPython.core.error import UsageError
                raise UsageError(
                    "engined runs no GUI event loop (%r): use %%matplotlib "
                    "inline or a non-interactive backend such as agg" % gui)
            self.active_eventloop = gui

    class _Module:
        pass

    mod = _Module()
    mod.__dict__ = user_ns
    cfg = Config()
    cfg.HistoryManager.hist_file = ":memory:"
    cfg.InteractiveShell.colors = "NoColor"
    _shell = _Shell.instance(config=cfg, user_module=mod, user_ns=user_ns)
    _shell.display_pub = _Publisher(shell=_shell, parent=_shell)
    _shell.display_pub.is_publishing = True
    _shell.InteractiveTB.set_colors("NoColor")
    # as in IPython, and so it survives clear_request
    builtins.get_ipython = get_ipython
    return _shell


def _ipython_transform(code):
    """IPython syntax (%magic, !cmd) when IPython is importable."""
    if "%" not in code and "!" not in code and "?" not in code:
        return code
    try:
        from IPython.core.inputtransformer2 import TransformerManager
    except ImportError:
        return code
    new = TransformerManager().transform_cell(code)
    if new.strip() == code.strip():
        return code
    _ensure_shell()
    return new


def _publish_data(data):
    """ipyparallel.datapub.publish_data without ipykernel."""
    unpack, serialize = _load_ipyparallel()
    bufs = serialize(data, buffer_threshold=1024, item_threshold=64)
    _engined.publish("datapub", "data_message",
                     json.dumps({"keys": [str(k) for k in data]}), list(bufs))


def _bundle(value):
    """The execute_result of a value: IPython's rich formats when the
    shell is up, else text/plain of its repr."""
    if _shell is not None:
        data, md = _shell.display_formatter.format(value)
        return json.dumps(_json_clean({"data": data, "metadata": md}))
    return json.dumps({"data": {"text/plain": repr(value)}, "metadata": {}})


_compiled = {}          # (code, silent) -> (name, body, last expression)


def _rename(co, name):
    """co, and the code objects nested in it, as compiled from `name`."""
    consts = co.co_consts
    if any(type(c) is _CodeType for c in consts):
        consts = tuple(_rename(c, name) if type(c) is _CodeType else c
                       for c in consts)
        return co.replace(co_filename=name, co_consts=consts)
    return co.replace(co_filename=name)


def _compile_cell(code, name, silent):
    """The cell's statements and its last expression (None when there is
    none to show), compiled as from file `name`.

    Parsing and compiling is most of the cost of a small cell, and the
    same cells come again and again (a loop of execute calls), so the
    code objects are kept and renamed for the new cell: tracebacks name
    <cell-N> as if compiled afresh.  A cell whose compilation warned is
    not kept, so that it warns every time, as it would uncached; nor is
    a large one."""
    import ast      # here: 9 ms of every engine's start-up otherwise
    key = (code, bool(silent))
    hit = _compiled.get(key)
    if hit is not None:
        old, body, last = hit
        if old == name:
            return body, last
        return (_rename(body, name),
                _rename(last, name) if last is not None else None)
    # Noticed through showwarning, not catch_warnings(): that would reset
    # every module's once-per-location warning registry each time.
    import warnings
    show = warnings.showwarning
    warned = []

    def note(*args, **kwargs):
        warned.append(True)
        return show(*args, **kwargs)

    warnings.showwarning = note
    try:
        tree = ast.parse(code, name, "exec")
        last = None
        if tree.body and isinstance(tree.body[-1], ast.Expr) and not silent:
            last = ast.Expression(tree.body.pop().value)
        body = compile(tree, name, "exec")
        if last is not None:
            last = compile(last, name, "eval")
    finally:
        if warnings.showwarning is note:
            warnings.showwarning = show
    if not warned and len(code) <= 65536:
        if len(_compiled) >= 512:
            _compiled.clear()
        _compiled[key] = (name, body, last)
    return body, last


def _cell_events(raw, count, silent):
    """When the IPython shell is up, its pre_execute and pre_run_cell
    events, as run_cell has them (what %matplotlib inline and
    %autoreload hook into); the post ones follow in post_execute()."""
    global _cell
    _cell = None
    if _shell is None:
        return None
    from IPython.core.interactiveshell import ExecutionInfo, ExecutionResult
    res = ExecutionResult(ExecutionInfo(raw, not silent, silent, True, None))
    res.execution_count = count
    _cell = (_shell, silent, res)
    _shell.events.trigger("pre_execute")
    if not silent:
        _shell.events.trigger("pre_run_cell", res.info)
    return res


def post_execute():
    """After run_execute's result or error is out: the shell's
    post_execute and post_run_cell events (the inline backend sends the
    cell's figures here, after its execute_result, as in ipykernel)."""
    global _cell
    if _cell is None:
        return
    shell, silent, res = _cell
    _cell = None
    shell.events.trigger("post_execute")
    if not silent:
        shell.events.trigger("post_run_cell", res)


def run_execute(code, count, silent, user_expressions):
    """Run a cell.  Returns (status, result_repr, error, user_exprs)."""
    result = None
    res = None
    raw = code
    try:
        code = _ipython_transform(code)
        res = _cell_events(raw, count, silent)
        body, last = _compile_cell(code, "<cell-%d>" % count, silent)
        exec(body, user_ns)
        if last is not None:
            value = eval(last, user_ns)
            if value is not None:
                user_ns["_"] = value
                result = _bundle(value)
                if res is not None:
                    res.result = value
    except BaseException as e:
        if res is not None:
            res.error_in_exec = e
        return "error", None, _error(*sys.exc_info()), {}
    exprs = {}
    for key, expr in (user_expressions or {}).items():
        try:
            value = eval(expr, user_ns)
            exprs[key] = {"status": "ok", "data": {"text/plain": repr(value)},
                          "metadata": {}}
        except BaseException:
            ename, evalue, tb = _error(*sys.exc_info())
            exprs[key] = {"status": "error", "ename": ename,
                          "evalue": evalue, "traceback": tb}
    return "ok", result, None, exprs


class _StandIn:
    """A module's few names, in sys.modules only while
    ipyparallel.serialize loads (_serialize_alone)."""

    def __init__(self, name, **names):
        self.__name__ = name
        self.__dict__.update(names)


def _call_real(module, name):
    """A function that imports `module` and calls its `name`: what
    ipyparallel.serialize binds in place of the real one, so that the
    real module loads when (if ever) it is needed."""
    def call(*args, **kwargs):
        import importlib
        return getattr(importlib.import_module(module), name)(*args,
                                                               **kwargs)
    call.__name__ = call.__qualname__ = name
    return call


_lazy = {}     # package -> its spec, while its __init__.py has not run


def _lazy_package(name):
    """The package `name` as a module that has not run its __init__.py
    yet, so that name.serialize can load alone.  The rest of the package
    may rely on __init__.py's order of imports (ipyparallel's does), so
    it runs as soon as anything else is wanted: the first look-up of a
    name the module lacks (`ipyparallel.Client`, `from ipyparallel import
    *`) or the import of any other submodule (_AfterImport)."""
    import importlib.util
    spec = importlib.util.find_spec(name)
    if spec is None:
        raise ImportError("No module named %r" % name, name=name)
    pkg = importlib.util.module_from_spec(spec)

    def __getattr__(attr):
        if attr.startswith("__") and attr not in ("__all__", "__version__"):
            raise AttributeError(attr)      # probes: hasattr(m, "__x__")
        _complete(name)
        return object.__getattribute__(pkg, attr)

    pkg.__getattr__ = __getattr__
    sys.modules[name] = pkg
    _lazy[name] = spec
    return pkg


def _complete(name):
    """Run a _lazy_package's __init__.py (once)."""
    spec = _lazy.pop(name, None)
    if spec is not None:
        pkg = sys.modules[name]
        del pkg.__getattr__
        spec.loader.exec_module(pkg)


def _serialize_alone():
    """ipyparallel.serialize without the rest of ipyparallel.

    Importing it the ordinary way runs ipyparallel/__init__.py, which
    loads the client, the cluster tools and IPython: the 0.7 s and
    60 MiB that made an engine's first apply slow and its process big.
    An apply needs only serialize (and codeutil, canning), which need of
    jupyter_client.session two constants and of traitlets two functions;
    while serialize loads, those stand in for the real modules (0.2 s and
    20 MiB more) and are taken out again, so whoever imports jupyter_client
    or traitlets later gets the real ones.  The package itself is
    _lazy_package's: a function pickled by reference from ipyparallel.util
    (push, pull) imports that module, and any use of the package's own
    names loads the package."""
    if "ipyparallel" not in sys.modules:
        _lazy_package("ipyparallel")
    stand_ins = {
        # jupyter_client.session's values; tests/t2050 checks they agree
        "jupyter_client.session": _StandIn("jupyter_client.session",
                                           MAX_ITEMS=64, MAX_BYTES=1024),
        "traitlets": _StandIn("traitlets", import_item=_call_real(
            "traitlets", "import_item")),
        "traitlets.log": _StandIn("traitlets.log", get_logger=_call_real(
            "traitlets.log", "get_logger")),
    }
    placed = [n for n in stand_ins if n not in sys.modules]
    for n in placed:
        sys.modules[n] = stand_ins[n]
    try:
        from ipyparallel.serialize import canning
        from ipyparallel.serialize import serialize_object
        from ipyparallel.serialize import unpack_apply_message
    finally:
        for n in placed:
            if sys.modules.get(n) is stand_ins[n]:
                del sys.modules[n]
    for module, (key, attr) in _CAN_LATER.items():
        _can_when_loaded(canning.can_map, key, module, attr)
    return unpack_apply_message, serialize_object


# can_map's types named by string, the module that defines each and its
# name there.  canning resolves them all at its first can(), importing
# numpy (0.1 s, 10 MiB) and the whole of ipyparallel for a no-op apply.
_CAN_LATER = {
    "numpy": ("numpy.ndarray", "ndarray"),
    "ipyparallel.controller.dependency": ("ipyparallel.dependent",
                                          "dependent"),
}


def _can_when_loaded(can_map, key, module, attr):
    """Put the type can_map names by `key` in the map when `module`, which
    defines it, is loaded (now, if it is): until then there can be no
    object of that type to can.  Same canner, same result."""
    if key not in can_map:
        return
    canner = can_map.pop(key)

    def resolve(m):
        can_map[getattr(m, attr)] = canner

    if module in sys.modules:
        resolve(sys.modules[module])
    else:
        _FIXUPS.setdefault(module, []).append(resolve)


def _load_ipyparallel():
    global _ipp
    if _ipp is None:
        _ipp = _serialize_alone()
    return _ipp


class _AfterImport:
    """On sys.meta_path: lets the modules engined adjusts (_FIXUPS) load
    as usual, whoever imports them and whenever, and adjusts each as soon
    as it has run, before anything can use it; and completes a
    _lazy_package before any submodule but serialize loads."""

    def find_spec(self, name, path=None, target=None):
        top = name.partition(".")[0]
        if top in _lazy and name != top + ".serialize" and \
                not name.startswith(top + ".serialize."):
            _complete(top)
            if name in sys.modules:         # its __init__.py imported it
                return _Present.spec(sys.modules[name])
        fix = _FIXUPS.get(name)
        if not fix:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is not None and spec.loader is not None:
            spec.loader = _ThenFix(spec.loader, fix)
        return spec


class _ThenFix:
    """A module's own loader, and engined's adjustments after it."""

    def __init__(self, loader, fix):
        self.loader = loader
        self.fix = fix

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        # the module sees its own loader, as if we had never been here
        module.__loader__ = module.__spec__.loader = self.loader
        self.loader.exec_module(module)
        for fix in self.fix:
            fix(module)


class _Present:
    """The loader of a module that has been loaded meanwhile, for the
    import that asked for it: it gets the module as it is.  (The import
    system, finding the module there after the finders ran, would load
    it from its spec once more: a second module object.)"""

    def __init__(self, module):
        self.module = module
        self.loader = module.__spec__.loader

    @classmethod
    def spec(cls, module):
        module.__spec__.loader = cls(module)
        return module.__spec__

    def create_module(self, spec):
        return self.module

    def exec_module(self, module):
        module.__spec__.loader = self.loader


def _fix_util(m):
    # _push/_pull/_execute look the namespace up through get_ipython()
    m.get_ipython = get_ipython


def _fix_datapub(m):
    m.publish_data = _publish_data


def _fix_ipython(m):
    # display() and friends publish through a shell when IPython is
    # there (as in ipengine, where it always is); a shell that cannot be
    # made must not fail the import that brought IPython in
    try:
        _ensure_shell()
    except Exception as e:
        sys.__stderr__.write("engined: no IPython shell: %s\n" % e)


_FIXUPS = {
    "ipyparallel.util": [_fix_util],
    "ipyparallel.datapub": [_fix_datapub],
    "ipyparallel.engine.datapub": [_fix_datapub],
    "IPython": [_fix_ipython],
}
sys.meta_path.insert(0, _AfterImport())


def warm():
    """At start, before any request: import what an apply needs (the C
    side runs this at idle priority, so that the first apply finds it
    done).  Without ipyparallel, run_apply says so when asked."""
    try:
        _load_ipyparallel()
    except Exception:
        pass


def run_apply(bufs):
    """Call a function shipped by a Python client.

    bufs are memoryviews that own the request's memory (pybuf.c): what
    unpack builds on them without a copy (numpy arrays) may be kept.
    Returns (status, result buffers, error)."""
    try:
        unpack, serialize = _load_ipyparallel()
    except ImportError as e:
        return "error", [], ("ImportError", "engined needs the ipyparallel "
                             "package for apply requests: %s" % e,
                             ["ImportError: %s" % e])
    try:
        f, args, kwargs = unpack(bufs, user_ns, copy=False)
        result = f(*args, **kwargs)
        out = serialize(result, buffer_threshold=1024, item_threshold=64)
    except BaseException:
        return "error", [], _error(*sys.exc_info())
    # buffers as they are (memoryviews of arrays too): C copies each once
    return "ok", list(out), None


def clear():
    """clear_request: a fresh namespace (the object stays the same)."""
    user_ns.clear()
    user_ns.update({"__name__": "__main__", "__builtins__": builtins})


def startup(text, is_file):
    """--startup-script / --startup-command, before any request."""
    try:
        if is_file:
            with open(text) as f:
                code = f.read()
            exec(compile(code, text, "exec"), user_ns)
        else:
            exec(compile(text, "<startup>", "exec"), user_ns)
    except BaseException:
        ename, evalue, tb = _error(*sys.exc_info())
        sys.__stderr__.write("engined: startup code failed:\n%s\n"
                             % "\n".join(tb))
        return False
    return True


def data_op(op, name, fmt, value_json, raw):
    """The ipp data path (doc/data-path.md): values without pickle.

    Returns (status, reply_json or None, raw bytes or None, error)."""
    import json
    try:
        if op == "push":
            if fmt == "raw":
                user_ns[name] = bytes(raw if raw is not None else b"")
            else:
                user_ns[name] = json.loads(value_json)
            return "ok", None, None, None
        if op == "list":
            names = sorted(k for k in user_ns if not k.startswith("_")
                           and k not in ("get_ipython", "exit", "quit"))
            return "ok", json.dumps(names), None, None
        if name not in user_ns:
            raise NameError("name %r is not defined" % name)
        if op == "delete":
            del user_ns[name]
            return "ok", None, None, None
        value = user_ns[name]
        if fmt == "raw":
            if isinstance(value, str):
                value = value.encode("utf-8")
            return "ok", None, bytes(memoryview(value)), None
        if fmt == "json":
            return "ok", json.dumps(value), None, None
        return "ok", json.dumps(repr(value)), None, None
    except BaseException:
        return "error", None, None, _error(*sys.exc_info())
