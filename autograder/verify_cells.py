"""Re-run a graded notebook in a fresh process and judge its test cells by exceptions only.

    python verify_cells.py < request.json      (started by autograder/guarded.py, sandboxed)

The request (one JSON document on stdin, read before any student code runs) holds:
``imports``, the modules the course's notebook imports; ``bindings``, the names its
non-solution cells bind to them (``np`` -> ``numpy``); and ``cells``, every code cell as
``[index, kind, source]`` with kind ``"test"`` (a test cell restored from the gradebook) or
``"code"`` (anything else: the student's cells).

Trusted references are captured before the first student cell runs: the namespaces of
builtins, numpy, utils and the course's facade modules (and the code of their Python
functions). Before each test cell they are put back and the bound names rebound, so a
submission that monkeypatches ``np.allclose``, ``utils.testing`` or ``print``, swallows
exceptions with IPython hooks or prints "All tests passed" changes nothing here: a test cell
passes only if its code runs to the end without raising.

One reply line per cell on the original stdout, ``<index> <1|0> <hex of the message>``;
everything the cells print goes to /dev/null.
"""

import importlib
import json
import os
import signal
import sys
import threading
import types

# Modules whose namespaces are put back before each test cell. Only modules whose attributes
# never change in normal use: TensorFlow's internals rebind globals at run time.
RESTORED_PREFIXES = ("numpy", "utils")
RESTORED_MODULES = ("builtins", "math", "tensorflow", "keras")


def restored(name):
    return name in RESTORED_MODULES or name.split(".")[0] in RESTORED_PREFIXES


class TrustedState:
    """Namespaces of trusted modules and classes, and the code of their functions."""

    def __init__(self, bindings):
        self.modules = {name: m for name, m in sys.modules.items()
                        if restored(name) and isinstance(m, types.ModuleType)}
        self.namespaces = {name: dict(vars(m)) for name, m in self.modules.items()}
        self.classes = {}
        self.code = {}
        for namespace in self.namespaces.values():
            for value in namespace.values():
                self._remember(value)
                if isinstance(value, type):
                    for member in list(vars(value).values()):
                        self._remember(getattr(member, "__func__", member))
        self.bindings = bindings
        self.int_handler = signal.getsignal(signal.SIGINT)
        self.stdout, self.stderr = sys.stdout, sys.stderr

    def _remember(self, value):
        if isinstance(value, type) and restored(getattr(value, "__module__", "") or ""):
            self.classes.setdefault(value, dict(vars(value)))
        if isinstance(value, types.FunctionType):
            self.code.setdefault(value, (value.__code__, value.__defaults__, value.__kwdefaults__))

    def restore(self, user_ns):
        """Undo every change a cell made to the trusted state; rebind the course's names."""
        sys.settrace(None)
        sys.setprofile(None)
        threading.settrace(None)
        signal.signal(signal.SIGINT, self.int_handler)
        signal.setitimer(signal.ITIMER_REAL, 0)
        sys.stdout, sys.stderr = self.stdout, self.stderr
        for name, module in self.modules.items():
            sys.modules[name] = module
            _restore_namespace(vars(module), self.namespaces[name])
        for cls, attributes in self.classes.items():
            _restore_class(cls, attributes)
        for function, (code, defaults, kwdefaults) in self.code.items():
            function.__code__, function.__defaults__ = code, defaults
            function.__kwdefaults__ = kwdefaults
        for name, value in self.bindings.items():
            user_ns[name] = value


def _restore_namespace(namespace, saved):
    for key in [k for k in namespace if k not in saved]:
        if not isinstance(namespace[key], types.ModuleType):  # submodules imported later
            del namespace[key]
    for key, value in saved.items():
        if namespace.get(key, _MISSING) is not value:
            namespace[key] = value


def _restore_class(cls, saved):
    current = vars(cls)
    try:
        for key in [k for k in current if k not in saved]:
            delattr(cls, key)
        for key, value in saved.items():
            if current.get(key, _MISSING) is not value:
                setattr(cls, key, value)
    except (TypeError, AttributeError):  # built-in types cannot be changed anyway
        pass


_MISSING = object()


def import_bindings(imports, bindings):
    """Import the course's modules; return {name: object} for the names its cells bind."""
    for module in imports:
        try:
            importlib.import_module(module)
        except Exception:  # noqa: BLE001  (a module the course does not need here)
            pass
    resolved = {}
    for name, (module, attribute) in bindings.items():
        try:
            value = importlib.import_module(module)
            resolved[name] = getattr(value, attribute) if attribute else value
        except Exception:  # noqa: BLE001
            pass
    return resolved


def describe(error):
    """``Name: message`` of an exception, whatever its class does to str()."""
    try:
        text = f"{type(error).__name__}: {error}"
    except BaseException:  # noqa: BLE001  (a student's exception may break str())
        text = "an exception whose message cannot be shown"
    return text[:500]


def main():
    request = json.loads(sys.stdin.read())
    reply_fd = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    write = os.write

    from IPython.core.inputtransformer2 import TransformerManager
    from IPython.core.interactiveshell import InteractiveShell

    transform = TransformerManager().transform_cell
    shell = InteractiveShell.instance()
    trusted = TrustedState(import_bindings(request["imports"], request["bindings"]))
    user_ns = shell.user_ns
    for index, kind, source in request["cells"]:
        message = ""
        if kind == "test":
            try:
                trusted.restore(user_ns)
                code = compile(transform(source), f"<test cell {index}>", "exec")
                exec(code, user_ns)  # noqa: S102  (the course's own test code)
                passed = True
            except BaseException as error:  # noqa: BLE001  (SystemExit, KeyboardInterrupt too)
                passed, message = False, describe(error)
        else:
            try:
                shell.run_cell(source, store_history=False)
            except BaseException:  # noqa: BLE001,S110  (the student's cell; judged by the tests)
                pass
            passed = True
        line = f"{index} {int(passed)} {message.encode('utf-8', 'replace').hex()}\n"
        write(reply_fd, line.encode())
    os._exit(0)  # skip interpreter shutdown: atexit hooks are the student's


if __name__ == "__main__":
    main()
