"""Re-run a graded notebook and judge its test cells in a process that never runs student code.

    python verify_cells.py student CONTROL_FD     (runs the student's cells, answers requests)
    python verify_cells.py judge READ_FD WRITE_FD  (runs the course's test cells)

autograder/guarded.py starts both, each in its own sandbox, joined by pipes, and sends the
judge the request on stdin: ``cells`` as ``[index, kind, source]`` (kind ``"code"``, ``"test"``,
or ``"student test"`` for the tests course.toml runs in the student's process), ``bindings``
(the course's trusted imports, ``{name: [module, attribute or null]}``) and ``answers`` (the
names the solution cells define). Student cells run in the student's process; a test cell runs
in the judge, on the student's values as plain data or handles (``RemoteObject``), and only the
request decides where. The judge writes one JSON line per cell on stdout: ``{"cell": index}``
as it starts one, then for a test ``{"index", "passed", "message", "judged"}``. A byte on the
student's control pipe interrupts its running cell. autograder/README.md tells the whole story.
"""

import ast
import base64
import builtins
import importlib
import json
import os
import signal
import sys
import threading
import types

# Modules whose namespaces are put back before a test cell run in the student's process. Only
# modules whose attributes never change in normal use: TensorFlow's internals rebind globals.
RESTORED_PREFIXES = ("numpy", "utils")
RESTORED_MODULES = ("builtins", "math", "tensorflow", "keras")
MAX_MESSAGE = 64 * 2**20
COURSE_PACKAGE = "utils"  # the course's own modules: the same, trusted, on both sides


class Opaque(BaseException):
    """A value with no plain-data form: the cell is judged in the student's process. (Not an
    Exception, so that a test's own ``except Exception`` does not swallow it.)"""


# ------------------------------------------------------------------------- plain data

def encode(value, originals=(), remote=None):
    """Plain JSON data for ``value``; raise Opaque for anything else, unless ``remote`` is
    given: then a value with no plain-data form (a function, a Keras model, a tensor) is
    kept where it is and ``remote(value)`` describes the handle that stands for it.

    ``originals`` are objects of the other side (a call's arguments): one of them, or an
    array or container held in one of them, found in ``value`` is encoded as a reference to
    it, so identity (``is``, ``np.shares_memory``) survives the trip.
    """
    paths = originals if isinstance(originals, dict) else reference_paths(originals)
    return _encode(value, paths, remote)


def reference_paths(originals):
    """{id: path} of a call's arguments and of the containers and arrays inside them."""
    paths = {}

    def walk(value, path, depth):
        if isinstance(value, (bool, int, float, str, bytes, type(None))) or id(value) in paths:
            return
        paths[id(value)] = path
        if depth < 3 and type(value) in (list, tuple):
            for index, item in enumerate(value):
                walk(item, [*path, index], depth + 1)
        elif depth < 3 and type(value) is dict:
            for key, item in value.items():
                if type(key) in (str, int):
                    walk(item, [*path, key], depth + 1)

    for position, original in enumerate(originals):
        walk(original, [position], 0)
    return paths


def follow(originals, path):
    """The object at ``path`` (from ``reference_paths``) among ``originals``."""
    value = originals[int(path[0])]
    for step in path[1:]:
        value = value[step]
    return value


def _encode(value, paths, remote=None):
    import numpy as np

    if id(value) in paths and not isinstance(value, (bool, int, float, str, type(None))):
        return {"t": "arg", "path": paths[id(value)]}
    kind = type(value)
    if value is None or kind in (bool, int, str):
        return {"t": "py", "v": value}
    if kind is float:
        return {"t": "float", "v": repr(value)}
    if kind is np.ndarray and value.dtype.kind in "biufc":
        return {"t": "nd", "dtype": value.dtype.str, "shape": list(value.shape),
                "b": base64.b64encode(np.ascontiguousarray(value).tobytes()).decode()}
    if isinstance(value, np.generic) and kind.__module__ == "numpy" and value.dtype.kind in "biufc":
        return {"t": "np", "dtype": value.dtype.str,
                "b": base64.b64encode(value.tobytes()).decode()}
    if kind in (list, tuple):
        return {"t": kind.__name__, "v": [_encode(item, paths, remote) for item in value]}
    if kind is dict:
        return {"t": "dict", "k": [_encode(k, paths) for k in value],
                "v": [_encode(v, paths, remote) for v in value.values()]}
    if kind is np.random.Generator:
        return {"t": "gen", "state": _plain(value.bit_generator.state)}
    if course_class(kind.__module__, kind.__qualname__) is kind and type(
            getattr(value, "__dict__", None)) is dict:
        state = vars(value)
        return {"t": "object", "class": [kind.__module__, kind.__qualname__],
                "k": list(state), "v": [_encode(v, paths, remote) for v in state.values()]}
    if remote is not None:
        return remote(value)
    raise Opaque(kind.__name__)


def course_class(module, qualname):
    """The class ``module.qualname`` of the course's own package (``utils``), whose objects
    travel as their attributes (a ``Vocabulary``); None for any other class."""
    if module.split(".")[0] != COURSE_PACKAGE or not all(
            part.isidentifier() for part in [*module.split("."), *qualname.split(".")]):
        return None
    try:
        value = importlib.import_module(module)
    except ImportError:
        return None
    for part in qualname.split("."):
        value = getattr(value, part, None)
    return value if isinstance(value, type) and value.__module__ == module else None


def _plain(state):
    """A bit generator's state as JSON data (its integers may exceed 64 bits: strings)."""
    if isinstance(state, dict):
        return {k: _plain(v) for k, v in state.items()}
    if isinstance(state, int) and not isinstance(state, bool):
        return {"int": str(state)}
    return state


def _unplain(state):
    if isinstance(state, dict):
        return int(state["int"]) if set(state) == {"int"} else {k: _unplain(v) for k, v in state.items()}
    return state


def decode(data, originals=(), remote=None):
    """The value that ``encode`` described; only plain types are ever built, and handles
    (kind ``"remote"``) only by ``remote(data)`` when the caller gives it."""
    import numpy as np

    kind = data["t"]
    if kind == "py":
        if type(data["v"]) not in (bool, int, str, type(None)):
            raise ValueError("malformed value")
        return data["v"]
    if kind == "float":
        return float(data["v"])
    if kind == "nd":
        dtype = np.dtype(data["dtype"])
        if dtype.kind not in "biufc":
            raise ValueError("malformed array")
        flat = np.frombuffer(base64.b64decode(data["b"]), dtype=dtype)
        return flat.reshape([int(n) for n in data["shape"]]).copy()
    if kind == "np":
        dtype = np.dtype(data["dtype"])
        if dtype.kind not in "biufc":
            raise ValueError("malformed scalar")
        return np.frombuffer(base64.b64decode(data["b"]), dtype=dtype)[0]
    if kind == "list":
        return [decode(item, originals, remote) for item in data["v"]]
    if kind == "tuple":
        return tuple(decode(item, originals, remote) for item in data["v"])
    if kind == "dict":
        return {decode(k, originals): decode(v, originals, remote)
                for k, v in zip(data["k"], data["v"])}
    if kind == "gen":
        generator = np.random.default_rng()
        generator.bit_generator.state = _unplain(data["state"])
        return generator
    if kind == "object":
        cls = course_class(*map(str, data["class"]))
        if cls is None:
            raise ValueError("malformed object")
        value = cls.__new__(cls)
        for key, item in zip(data["k"], data["v"]):
            if type(key) is not str:
                raise ValueError("malformed object")
            vars(value)[key] = decode(item, originals, remote)
        return value
    if kind == "arg":
        return follow(originals, data["path"])
    if kind == "remote" and remote is not None:
        return remote(data)
    raise ValueError(f"unknown value kind {kind!r}")


def update_in_place(target, data, replaced=()):
    """Make argument ``target`` what the call left it as (``data`` from ``encode``). For a
    dict, ``replaced`` are the keys whose value the call replaced by another object (an array
    changed in place stays the caller's array; one replaced is a new one)."""
    import numpy as np

    if data["t"] == "arg":
        return
    new = decode(data)
    if type(target) is np.ndarray and type(new) is np.ndarray and target.shape == new.shape:
        target[...] = new
    elif type(target) is dict and type(new) is dict:
        for key in [k for k in target if k not in new]:
            del target[key]
        for key, value in new.items():
            old = target.get(key)
            if key in replaced:
                target[key] = value
            elif type(old) is np.ndarray and type(value) is np.ndarray and old.shape == value.shape:
                old[...] = value
            else:
                target[key] = value
    elif type(target) is list and type(new) is list:
        target[:] = new
    elif type(target) is np.random.Generator and type(new) is np.random.Generator:
        target.bit_generator.state = new.bit_generator.state


# --------------------------------------------------------------------- test cell names

def test_code(source):
    """The module AST of a test cell (IPython syntax turned into Python)."""
    from IPython.core.inputtransformer2 import TransformerManager

    return ast.parse(TransformerManager().transform_cell(source))


def bound_names(tree):
    """Names a piece of code binds: assignments, imports, definitions, arguments, loop targets."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
    return names


def top_level_names(tree):
    """Names a cell binds in the notebook's namespace: not those bound inside its functions,
    classes, lambdas and comprehensions, which have scopes of their own."""
    collector = _NamespaceBindings()
    collector.visit(tree)
    return collector.names


class _NamespaceBindings(ast.NodeVisitor):
    def __init__(self):
        self.names = set()

    def visit_FunctionDef(self, node):
        self.names.add(node.name)  # its body is a scope of its own

    visit_AsyncFunctionDef = visit_ClassDef = visit_FunctionDef

    def visit_Lambda(self, node):
        pass

    visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = visit_Lambda

    def visit_Name(self, node):
        if isinstance(node.ctx, (ast.Store, ast.Del)):
            self.names.add(node.id)

    def visit_Import(self, node):
        self.names.update((a.asname or a.name).split(".")[0] for a in node.names)

    visit_ImportFrom = visit_Import

    def visit_ExceptHandler(self, node):
        if node.name:
            self.names.add(node.name)
        self.generic_visit(node)


class StudentNames(ast.NodeTransformer):
    """Rewrite every read of a name in ``names`` as ``__student__("name")``, and every plain
    assignment to one of the ``answers`` (the graded functions' names) as
    ``__set_student__("name", value)``: a test that puts a trusted copy in place of one of the
    student's functions does it in the student's process."""

    def __init__(self, names, answers):
        self.names, self.answers = names, answers

    def visit_Name(self, node):
        if isinstance(node.ctx, ast.Load) and node.id in self.names:
            call = ast.Call(ast.Name("__student__", ast.Load()), [ast.Constant(node.id)], [])
            return ast.copy_location(call, node)
        return node

    def visit_Assign(self, node):
        self.generic_visit(node)
        if len(node.targets) == 1 and isinstance(node.targets[0], ast.Name) \
                and node.targets[0].id in self.answers:
            call = ast.Call(ast.Name("__set_student__", ast.Load()),
                            [ast.Constant(node.targets[0].id), node.value], [])
            return ast.copy_location(ast.Expr(call), node)
        return node


def judged_code(tree, test_bound, trusted, answers):
    """A test cell's AST in which the names it reads come from the student's process unless
    the course's tests bound them or they are trusted bindings or builtins; the graded
    functions' names (``answers``) always come from, and are assigned in, the student's
    process."""
    free = {node.id for node in ast.walk(tree)
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)}
    student = (free - test_bound - set(trusted) - set(dir(builtins))) | (free & answers)
    return ast.fix_missing_locations(StudentNames(student, answers).visit(tree))


# -------------------------------------------------------------------- pipes and messages

class Channel:
    """JSON messages, one per line, over a pair of file descriptors."""

    def __init__(self, read_fd, write_fd):
        self.reader = os.fdopen(read_fd, "rb", buffering=0)
        self.write_fd = write_fd
        self.buffer = b""

    def send(self, message):
        data = (json.dumps(message) + "\n").encode()
        view = memoryview(data)
        while view:
            view = view[os.write(self.write_fd, view):]

    def receive(self):
        while b"\n" not in self.buffer:
            chunk = self.reader.read(1 << 20)
            if not chunk:
                raise EOFError("the other process has gone")
            self.buffer += chunk
            if len(self.buffer) > MAX_MESSAGE:
                raise ValueError("message too large")
        line, self.buffer = self.buffer.split(b"\n", 1)
        return json.loads(line)


def describe(error):
    """``Name: message`` of an exception, whatever its class does to str()."""
    try:
        text = f"{type(error).__name__}: {error}"
    except BaseException:  # noqa: BLE001  (a student's exception may break str())
        text = "an exception whose message cannot be shown"
    return text[:500]


# ---------------------------------------------------------------------- student process

class TrustedState:
    """Namespaces of trusted modules and classes, and the code of their functions, captured
    before any student cell runs; put back before a test cell runs in the student's process."""

    def __init__(self, bindings):
        self.modules = {name: m for name, m in sys.modules.items()
                        if _restored(name) and isinstance(m, types.ModuleType)}
        self.namespaces = {name: dict(vars(m)) for name, m in self.modules.items()}
        self.classes, self.code = {}, {}
        for namespace in self.namespaces.values():
            for value in namespace.values():
                self._remember(value)
                if isinstance(value, type):
                    for member in list(vars(value).values()):
                        self._remember(getattr(member, "__func__", member))
        self.bindings = bindings
        self.stdout, self.stderr = sys.stdout, sys.stderr

    def _remember(self, value):
        if isinstance(value, type) and _restored(getattr(value, "__module__", "") or ""):
            self.classes.setdefault(value, dict(vars(value)))
        if isinstance(value, types.FunctionType):
            self.code.setdefault(value, (value.__code__, value.__defaults__, value.__kwdefaults__))

    def restore(self, user_ns):
        """Undo what student cells changed in trusted modules; rebind the course's names."""
        sys.settrace(None)
        sys.setprofile(None)
        threading.settrace(None)
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
        user_ns.update(self.bindings)


def _restored(name):
    return name in RESTORED_MODULES or name.split(".")[0] in RESTORED_PREFIXES


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


def import_bindings(bindings):
    """{name: object} for the course's trusted bindings, imported here."""
    resolved = {}
    for name, (module, attribute) in bindings.items():
        try:
            value = importlib.import_module(module)
            resolved[name] = getattr(value, attribute) if attribute else value
        except Exception:  # noqa: BLE001  (a module the course does not need here)
            pass
    return resolved


def listen_for_interrupts(control_fd):
    """Turn each byte on the control pipe into SIGINT for this process."""
    def listen():
        while os.read(control_fd, 1):
            os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=listen, daemon=True).start()


class StudentSide:
    """The student's process: runs their cells and answers the judge's requests. A callback
    into the judge (a trusted copy of a function, put in place of one of theirs) may itself
    ask for values here: requests are answered while a callback waits for its result."""

    def __init__(self, channel, shell):
        self.channel, self.shell = channel, shell
        self.user_ns = shell.user_ns
        self.trusted = None
        self.callbacks, self.handles, self.numbers = {}, [], {}
        self.calls = []  # the arguments of the calls in progress, innermost last

    def serve(self):
        while True:
            request = self.channel.receive()
            if request.get("op") == "exit":
                os._exit(0)
            self.channel.send(self.handle(request))

    def call_judge(self, number):
        def call_judge(*args, **kwargs):
            # The judge's function may read the caller's arrays (a closure over x while the
            # student's code perturbs x in place): they go along as they are now.
            current = self.calls[-1] if self.calls else []
            self.channel.send({"op": "callback", "id": number, "args": self.export(list(args)),
                               "kwargs": self.export(kwargs),
                               "sync": [_encode_or_none(a) for a in current]})
            while True:
                message = self.channel.receive()
                if "op" not in message:
                    break
                self.channel.send(self.handle(message))
            if "raised" in message:
                raise RuntimeError(message["raised"])
            return decode(message["result"])
        return call_judge

    def decode_arguments(self, data):
        if data.get("t") == "callback":
            return self.callbacks.setdefault(data["id"], self.call_judge(data["id"]))
        if data.get("t") == "handle":
            return self.handles[int(data["id"])]
        if data.get("t") in ("list", "tuple"):
            items = [self.decode_arguments(item) for item in data["v"]]
            return items if data["t"] == "list" else tuple(items)
        if data.get("t") == "dict":
            return {decode(k): self.decode_arguments(v) for k, v in zip(data["k"], data["v"])}
        return decode(data)

    def register(self, value):
        """A handle for a value with no plain-data form: it stays here, the judge gets its
        number and what it is (shown in messages, trusted for nothing)."""
        if id(value) not in self.numbers:  # the same object, the same handle: `is` works
            self.numbers[id(value)] = len(self.handles)
            self.handles.append(value)
        kind = type(value)
        return {"t": "remote", "id": self.numbers[id(value)],
                "function": isinstance(value, FUNCTION_TYPES),
                "class": isinstance(value, type), "name": str(getattr(value, "__name__", ""))[:100],
                "type": [str(getattr(kind, "__module__", "")), str(kind.__qualname__)]}

    def export(self, value, originals=()):
        """``value`` as plain data, with handles for what has no plain-data form."""
        return encode(value, originals, remote=self.register)

    def operate(self, op, request):
        """Call a handle, read one of its attributes, or apply a builtin operation to it
        (``SPECIAL``); the result goes back as plain data and handles."""
        target = self.handles[int(request["handle"])]
        if op == "call":
            return self.call(target, request)
        argument = self.decode_arguments(request["argument"]) if "argument" in request else None
        try:
            result = (getattr(target, request["name"]) if op == "attr"
                      else SPECIAL[request["method"]](target, argument))
        except BaseException as error:  # noqa: BLE001  (the student's object raised)
            return {"raised": type(error).__name__, "message": describe(error)}
        return {"result": self.export(result)}

    def call(self, function, request):
        """Call ``function`` with the judge's arguments; the reply carries the arguments as the
        call left them (arrays changed in place, dict entries replaced)."""
        args = self.decode_arguments(request["args"])
        kwargs = self.decode_arguments(request["kwargs"])
        originals = [*args, *kwargs.values()]
        held = [{k: id(v) for k, v in a.items()} if type(a) is dict else {} for a in originals]
        self.calls.append(originals)
        try:
            result = function(*args, **kwargs)
        except BaseException as error:  # noqa: BLE001
            return {"raised": type(error).__name__, "message": describe(error)}
        finally:
            self.calls.pop()
        return {"result": self.export(result, originals),
                "after": [_encode_or_none(a) for a in originals],
                "replaced": [[k for k, v in a.items() if type(k) in (str, int)
                              and ids.get(k) != id(v)] if type(a) is dict else []
                             for a, ids in zip(originals, held)]}

    def handle(self, request):
        """The reply to one request of the judge's."""
        op, user_ns = request["op"], self.user_ns
        if op == "setup":
            self.trusted = TrustedState(import_bindings(request["bindings"]))
            return {"ok": True}
        if op == "run":
            try:
                self.shell.run_cell(request["source"], store_history=False)
            except BaseException:  # noqa: BLE001,S110  (the student's cell; judged by the tests)
                pass
            return {"ok": True}
        if op == "get":
            if request["name"] not in user_ns:
                return {"missing": True}
            return {"value": self.export(user_ns[request["name"]])}
        if op in ("call", "attr", "special"):
            return self.operate(op, request)
        if op == "set":
            user_ns[request["name"]] = self.decode_arguments(request["value"])
            return {"ok": True}
        if op == "test":
            try:
                self.trusted.restore(user_ns)
                code = compile(test_code(request["source"]), f"<test cell {request['index']}>",
                               "exec")
                exec(code, user_ns)  # noqa: S102  (the course's own test code)
                return {"passed": True, "message": ""}
            except BaseException as error:  # noqa: BLE001  (SystemExit, KeyboardInterrupt too)
                return {"passed": False, "message": describe(error)}
        raise ValueError(f"unknown request {op!r}")


def student_main(control_fd):
    """Run student cells and answer the judge's requests (stdin/stdout)."""
    channel = Channel(os.dup(0), os.dup(1))
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    listen_for_interrupts(int(control_fd))
    from IPython.core.interactiveshell import InteractiveShell

    StudentSide(channel, InteractiveShell.instance()).serve()


def _encode_or_none(value):
    try:
        return encode(value)
    except Opaque:
        return None


# -------------------------------------------------------------------------------- judge

class ReplyError(BaseException):
    """A reply of the student's process that is not what the judge asked for: the test cell
    fails. (Not an Exception, so that a test's own ``except Exception`` does not swallow it.)"""


class StudentProcess:
    """The judge's handle on the student's process. Every reply is checked against the
    request it answers: a reply of the wrong form fails the test cell (ReplyError)."""

    def __init__(self, channel):
        self.channel = channel
        self.callbacks = []
        self.calls = []  # the arguments of the calls in progress, innermost last
        self.remotes = {}  # handle number: its one stand-in here, so that `is` keeps meaning

    def ask(self, message, expected=()):
        """Send a request; return the reply, which must hold one of the keys ``expected``."""
        self.channel.send(message)
        while True:
            reply = self.channel.receive()
            if not isinstance(reply, dict):
                raise ReplyError(f"your process answered {message['op']!r} with {type(reply).__name__}")
            if reply.get("op") != "callback":
                break
            self._answer_callback(reply)
        if expected and not any(key in reply for key in expected):
            raise ReplyError(f"your process answered {message['op']!r} with keys {sorted(reply)[:5]}, "
                             f"not one of {list(expected)}")
        return reply

    def _answer_callback(self, request):
        try:
            for original, now in zip(self.calls[-1] if self.calls else [], request.get("sync", [])):
                if now is not None:
                    update_in_place(original, now)
            function = self.callbacks[int(request["id"])]
            result = function(*self.decode(request["args"]), **self.decode(request["kwargs"]))
            self.channel.send({"result": encode(result)})
        except Exception as error:  # noqa: BLE001  (the test's own function failed)
            self.channel.send({"raised": describe(error)})

    def decode(self, data, originals=()):
        """A value from the student's process: plain data, and stand-ins for its handles."""
        try:
            return decode(data, originals, remote=self.remote)
        except (KeyError, TypeError, ValueError, IndexError) as error:
            raise ReplyError(f"your process sent a malformed value ({describe(error)})") from None

    def remote(self, data):
        """The stand-in for handle ``data`` (from StudentSide.register): a function stub, a
        class whose isinstance asks the student's process, or a RemoteObject."""
        number = int(data["id"])
        if number not in self.remotes:
            module, qualname = (str(part)[:200] for part in data["type"])
            if data.get("function"):
                self.remotes[number] = self.stub(qualname.rsplit(".", 1)[-1], number)
            elif data.get("class"):
                self.remotes[number] = remote_class(self, number, data.get("name", "class"))
            else:
                self.remotes[number] = remote_object_type(module, qualname)(self, number)
        return self.remotes[number]

    def encode_arguments(self, value):
        """Encode a call's arguments; the student's values go back as their handles, the
        test's own functions become callbacks."""
        handle = getattr(value, "student_handle", None)
        if type(handle) is int:  # a stub, handle or class stand-in of the student's
            return {"t": "handle", "id": handle}
        if isinstance(value, (types.FunctionType, types.BuiltinFunctionType, types.MethodType)):
            self.callbacks.append(value)
            return {"t": "callback", "id": len(self.callbacks) - 1}
        if type(value) in (list, tuple):
            return {"t": type(value).__name__, "v": [self.encode_arguments(v) for v in value]}
        if type(value) is dict:
            return {"t": "dict", "k": [encode(k) for k in value],
                    "v": [self.encode_arguments(v) for v in value.values()]}
        return encode(value)

    def name(self, name):
        """The value of a student's name: plain data, or a stand-in for it."""
        reply = self.ask({"op": "get", "name": name}, expected=("missing", "value"))
        if "value" not in reply:
            raise NameError(f"name '{name}' is not defined")
        return self.decode(reply["value"])

    def assign(self, name, value):
        """``name = value`` in the student's process (a trusted copy of a function, say)."""
        self.ask({"op": "set", "name": name, "value": self.encode_arguments(value)})

    def call(self, handle, args, kwargs):
        """Call handle ``handle`` with the judge's arguments; arrays it changed in place, and
        generators it advanced, change here too."""
        originals = [*args, *kwargs.values()]
        self.calls.append(originals)
        try:
            reply = self.ask({"op": "call", "handle": handle,
                              "args": self.encode_arguments(list(args)),
                              "kwargs": self.encode_arguments(kwargs)},
                             expected=("raised", "result"))
        finally:
            self.calls.pop()
        if "result" not in reply:
            raise student_exception(str(reply["raised"]), str(reply.get("message", "")))
        after, replaced = reply.get("after", []), reply.get("replaced", [])
        if not (isinstance(after, list) and isinstance(replaced, list)):
            raise ReplyError("your process sent a malformed call result")
        for original, now, keys in zip(originals, after, replaced + [[]] * len(originals)):
            if now is not None:
                try:
                    update_in_place(original, now, set(keys))
                except (KeyError, TypeError, ValueError) as error:
                    raise ReplyError(f"your process sent a malformed argument ({describe(error)})") from None
        return self.decode(reply["result"], originals)

    def attribute(self, handle, name):
        reply = self.ask({"op": "attr", "handle": handle, "name": name},
                         expected=("raised", "result"))
        if "result" not in reply:
            raise student_exception(str(reply["raised"]), str(reply.get("message", "")))
        return self.decode(reply["result"])

    def special(self, handle, method, kind, argument=None):
        """A builtin operation (``SPECIAL``) on a handle, whose result must be of ``kind``."""
        request = {"op": "special", "handle": handle, "method": method}
        if argument is not None:
            request["argument"] = self.encode_arguments(argument)
        reply = self.ask(request, expected=("raised", "result"))
        if "result" not in reply:
            raise student_exception(str(reply["raised"]), str(reply.get("message", "")))
        result = self.decode(reply["result"])
        if kind is not None and type(result) is not kind:
            raise ReplyError(f"your process answered {method} with a {type(result).__name__}, "
                             f"not a {kind.__name__}")
        return result

    def stub(self, name, handle):
        def call_student(*args, **kwargs):
            return self.call(handle, args, kwargs)

        call_student.__name__ = call_student.__qualname__ = name
        call_student.student_handle = handle
        return call_student


# Builtin operations the judge may apply to a student's value, by name: (value, argument).
SPECIAL = {
    "array": lambda value, _: __import__("numpy").asarray(value),
    "float": lambda value, _: float(value),
    "int": lambda value, _: int(value),
    "index": lambda value, _: value.__index__(),
    "bool": lambda value, _: bool(value),
    "len": lambda value, _: len(value),
    "str": lambda value, _: str(value),
    "repr": lambda value, _: repr(value),
    "format": lambda value, spec: format(value, spec),
    "list": lambda value, _: list(value),
    "getitem": lambda value, key: value[key],
    "contains": lambda value, item: item in value,
    "isinstance": lambda value, cls: isinstance(value, cls),
}
FUNCTION_TYPES = (types.FunctionType, types.BuiltinFunctionType, types.MethodType,
                  types.BuiltinMethodType, types.MethodWrapperType)
# Packages whose classes a handle may claim to be an instance of (for isinstance in a test),
# when the judge has imported the class's module itself.
TRUSTED_CLASS_PACKAGES = ("keras", "tensorflow", "numpy", "builtins", "collections")


class RemoteObject:
    """A value of the student's process with no plain-data form (a Keras model, a layer, a
    tensor, a history), seen from the judge. Its attributes, calls and builtin operations
    (len, iteration, indexing, ``np.asarray``, ``float``, ``str``) are requests to the
    student's process that come back as plain data or other handles; the test's code, its
    expected values and its comparisons stay in the judge. Attributes named ``__x__`` are
    never asked for: numpy's ``__array_interface__`` must not come from a student."""

    __slots__ = ("_student", "student_handle")
    _trusted_class = None

    def __init__(self, student, handle):
        object.__setattr__(self, "_student", student)
        object.__setattr__(self, "student_handle", handle)

    @property
    def __class__(self):
        return self._trusted_class or type(self)

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return self._student.attribute(self.student_handle, name)

    def __setattr__(self, name, value):
        raise ReplyError(f"a test may not set {name} on a value of your process")

    def __call__(self, *args, **kwargs):
        return self._student.call(self.student_handle, args, kwargs)

    def _special(self, method, kind, argument=None):
        return self._student.special(self.student_handle, method, kind, argument)

    def __array__(self, dtype=None, copy=None):
        import numpy as np

        array = self._special("array", np.ndarray)
        return array if dtype is None else array.astype(dtype)

    def __float__(self):
        return self._special("float", float)

    def __int__(self):
        return self._special("int", int)

    def __index__(self):
        return self._special("index", int)

    def __bool__(self):
        return self._special("bool", bool)

    def __len__(self):
        return self._special("len", int)

    def __iter__(self):
        return iter(self._special("list", list))

    def __getitem__(self, key):
        return self._special("getitem", None, key)

    def __contains__(self, item):
        return self._special("contains", bool, item)

    def __str__(self):
        return self._special("str", str)[:10_000]

    def __repr__(self):
        return self._special("repr", str)[:10_000]

    def __format__(self, spec):
        return self._special("format", str, spec)[:10_000] if spec else str(self)


def remote_object_type(module, qualname):
    """The RemoteObject subclass for values of the student's class ``module.qualname``: named
    after it (for messages), and an instance of it for isinstance when that class is one of
    the judge's own (a Keras layer, say), never of a class the student defined."""
    name = qualname.rsplit(".", 1)[-1]
    return type(name if name.isidentifier() else "RemoteObject", (RemoteObject,),
                {"__slots__": (), "_trusted_class": trusted_class(module, qualname)})


def trusted_class(module, qualname):
    """The judge's own class ``module.qualname`` when it is in a trusted package the judge
    has imported (its module is imported here if need be: a tf.data dataset's class lives in
    a module of its own); else None."""
    top = module.split(".")[0]
    if top not in TRUSTED_CLASS_PACKAGES or top not in sys.modules or not all(
            part.isidentifier() for part in module.split(".")):
        return None
    try:
        value = importlib.import_module(module)
    except Exception:  # noqa: BLE001  (no such module of the package's)
        return None
    for part in qualname.split("."):
        if not part.isidentifier():
            return None
        value = getattr(value, part, None)
    return value if isinstance(value, type) else None


class _RemoteClassMeta(type):
    """isinstance and calls of a student's class, asked of the student's process."""

    def __instancecheck__(cls, value):
        handle = getattr(value, "student_handle", None) if isinstance(value, RemoteObject) else None
        if handle is None:
            return False
        return cls._student.special(handle, "isinstance", bool, cls)

    def __call__(cls, *args, **kwargs):
        return cls._student.call(cls.student_handle, args, kwargs)

    def __getattr__(cls, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return cls._student.attribute(cls.student_handle, name)


def remote_class(student, handle, name):
    """A stand-in for a class of the student's process (their ``CharRNN``, say)."""
    name = name if isinstance(name, str) and name.isidentifier() else "RemoteClass"
    return _RemoteClassMeta(name, (), {"_student": student, "student_handle": handle})


def student_exception(name, message):
    """An exception like the one the student's code raised (builtin types keep their type)."""
    cls = getattr(builtins, name, None)
    text = message.split(": ", 1)[1] if ": " in message else message
    if isinstance(cls, type) and issubclass(cls, Exception):
        try:
            return cls(text)
        except Exception:  # noqa: BLE001,S110  (a constructor that needs other arguments)
            pass
    return RuntimeError(message)


def judge_main(read_fd, write_fd):
    """Walk the cells: run each student cell in the student's process and judge each test
    cell here, or, for a test the course declares needs the student's own objects (kind
    ``"student test"``, course.toml), in the student's process. Where a cell is judged is
    the request's decision alone: nothing the student's process replies changes it."""
    request = json.loads(sys.stdin.read())
    report = os.dup(1)
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)

    def emit(message):
        os.write(report, (json.dumps(message) + "\n").encode())

    student = StudentProcess(Channel(int(read_fd), int(write_fd)))
    trusted = request["bindings"]
    answers = set(request.get("answers", ()))
    namespace = {"__name__": "__main__", "__student__": student.name,
                 "__set_student__": student.assign, **import_bindings(trusted)}
    test_bound, told_hidden = set(), False
    try:
        student.ask({"op": "setup", "bindings": trusted}, expected=("ok",))
        for index, kind, source in request["cells"]:
            emit({"cell": index})
            if kind == "code":
                student.ask({"op": "run", "source": source}, expected=("ok",))
                continue
            if kind == "student test":
                verdict = judge_in_student_process(student, index, source)
                told_hidden = told_hidden or BEGIN_HIDDEN in source
            else:
                verdict = judge_here(student, namespace, source, index, test_bound, trusted,
                                     answers)
            if told_hidden and not verdict["passed"]:
                verdict["message"] = WITHHELD
            emit({"index": index, **verdict})
    except EOFError:  # the student's process died or was stopped: the grader says why
        os._exit(0)
    student.channel.send({"op": "exit"})
    os._exit(0)


BEGIN_HIDDEN = "### BEGIN HIDDEN TESTS"
# The message of a failed test once the student's process has been given a hidden test (a
# test the course runs there): a message made of values that process sent could carry it.
WITHHELD = ("this test failed; its message is not shown, because an earlier hidden test of "
            "this notebook had to run in your notebook's process")


def judge_here(student, namespace, source, index, test_bound, trusted, answers):
    """Run a test cell in the judge on the student's values; return its verdict."""
    try:
        tree = test_code(source)
    except SyntaxError as error:
        return {"passed": False, "message": describe(error), "judged": "judge"}
    test_bound |= bound_names(tree) - answers
    code = compile(judged_code(tree, test_bound, trusted, answers), f"<test cell {index}>", "exec")
    try:
        exec(code, namespace)  # noqa: S102  (the course's own test code)
        verdict = {"passed": True, "message": "", "judged": "judge"}
    except EOFError:
        raise
    except ReplyError as error:
        verdict = {"passed": False, "judged": "judge", "message": (
            f"this test failed because {error} (the judge asks your process for your values "
            "and calls your functions; it takes back plain data only)")[:500]}
    except Opaque as opaque:
        verdict = {"passed": False, "judged": "judge", "message": (
            f"the test could not give your code a {opaque} (a value only the judge holds): "
            "ask the course staff")}
    except BaseException as error:  # noqa: BLE001  (the test failed)
        verdict = {"passed": False, "message": describe(error), "judged": "judge"}
    share_test_names(student, namespace, bound_names(tree) - answers)
    return verdict


def judge_in_student_process(student, index, source):
    """Run a test cell the course declares needs the student's own objects in the student's
    process, after trusted modules are put back; only a reply of exactly ``passed: true``
    passes it. A failed hidden test's message there is the student's process's own words,
    so it is not shown."""
    reply = student.ask({"op": "test", "index": index, "source": source}, expected=("passed",))
    passed = reply.get("passed") is True
    message = "" if passed else (
        "this hidden test failed when run with your code in your notebook's process"
        if BEGIN_HIDDEN in source else str(reply.get("message", ""))[:500])
    return {"passed": passed, "message": message, "judged": "student process"}


def share_test_names(student, namespace, names):
    """Give the student's process the plain-data values and its own handles that a test cell
    bound, for later cells (never the test's functions: they stay the judge's)."""
    for name in sorted(names):
        if name in namespace and not name.startswith("__"):
            value = namespace[name]
            if isinstance(value, RemoteObject):
                value = {"t": "handle", "id": value.student_handle}
            else:
                try:
                    value = encode(value)
                except Opaque:
                    continue
            student.ask({"op": "set", "name": name, "value": value}, expected=("ok",))


if __name__ == "__main__":
    {"student": student_main, "judge": judge_main}[sys.argv[1]](*sys.argv[2:])
