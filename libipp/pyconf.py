# pyconf.py - evaluates a profile's traitlets config files for the C
# programs (libipp/pyconf.c compiles this file in as a string and runs it
# with /usr/bin/python3 -c).  argv: PROFILE_DIR BASENAME [BASENAME...],
# e.g. ipcontroller_config.  Each BASENAME.py and BASENAME.json in the
# profile directory is loaded by traitlets' own Application loader, in
# its order (.py, then .json, merged with Config.merge), and the files
# are merged in argv order.  Prints one JSON object on stdout:
#   {"config": {"Class": {"trait": value}}, "files": [...]}
# or {"error": "FILE:LINE: message"} when a file cannot be evaluated.
import json
import os
import sys
import traceback


def plain(v):
    """A config value as JSON: containers recursively, lazy values (the
    c.X.y.append(...) forms) resolved against an empty start, other
    objects by name, as traitlets would import them."""
    from traitlets.config.loader import Config, LazyConfigValue

    if isinstance(v, LazyConfigValue):
        start = {} if isinstance(v._update, dict) else (
            set() if v._update is not None else [])
        v = v.get_value(start)
    if isinstance(v, (Config, dict)):
        return {str(k): plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple, set, frozenset)):
        return [plain(x) for x in v]
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    if isinstance(v, type):
        return v.__module__ + "." + v.__qualname__
    return str(v)


def where(e, d, bases):
    """FILE:LINE of an exception raised while loading a config file."""
    if isinstance(e, SyntaxError) and e.filename:
        return "%s:%s" % (e.filename, e.lineno)
    if isinstance(e, json.JSONDecodeError):
        for b in bases:
            p = os.path.join(d, b + ".json")
            try:
                with open(p) as f:
                    json.load(f)
            except json.JSONDecodeError:
                return "%s:%s" % (p, e.lineno)
            except OSError:
                pass
    names = [b + ".py" for b in bases]
    for fr in reversed(traceback.extract_tb(e.__traceback__)):
        if any(fr.filename.endswith("/" + n) for n in names):
            return "%s:%s" % (fr.filename, fr.lineno)
    return os.path.join(d, names[0])


def main():
    d, bases = sys.argv[1], sys.argv[2:]
    # what the files print must not mix with our answer
    out_fp, sys.stdout = sys.stdout, sys.stderr
    try:
        from traitlets.config.application import Application
        from traitlets.config.loader import Config

        merged = Config()
        files = []
        for b in bases:
            for cfg, fname in Application._load_config_files(
                    b, path=[d], raise_config_file_errors=True):
                merged.merge(cfg)
                files.append(fname)
        out = {"config": plain(merged), "files": files}
    except Exception as e:
        msg = str(e).strip().splitlines()
        out = {"error": "%s: %s: %s" % (where(e, d, bases),
                                        type(e).__name__,
                                        msg[0] if msg else "")}
    json.dump(out, out_fp)


main()
