"""Re-run a graded notebook and judge its test cells in a process that never runs student code.

    python verify_cells.py student CONTROL_FD     (runs the student's cells, answers calls)
    python verify_cells.py judge READ_FD WRITE_FD  (runs the course's test cells)

autograder/guarded.py starts both, each in its own sandbox, and connects them with pipes. The
judge reads the request (JSON on stdin: ``cells`` as ``[index, kind, source]``, ``bindings``,
the names the course's own imports bind that no answer cell redefines, as ``{name: [module,
attribute or null]}``; ``answers``, the names the course's solution cells define) and walks the
cells in order:

- a student cell (kind ``"code"``) is run in the student's process;
- a test cell runs in the judge. Every name it reads that it did not bind itself and that is
  not one of the course's trusted bindings (``np``, ``check_close``, ...) comes from the
  student's process: a value as plain data (numbers, arrays, strings, lists, tuples, dicts,
  random generators), a function as a stub that sends its arguments there as plain data and
  gets plain data back (arrays changed in place and advanced generators come back too). So
  the test's code, its expected values and every comparison stay in the judge: a submission
  that patches checks, forges replies or reads the test's frames has nothing to reach. The
  student's own names are never replaced (a helper called ``softmax`` stays theirs).
- A test cell that needs a value with no plain-data form (a Keras model, a TensorFlow tensor)
  is run in the student's process instead, after trusted modules and the course's bindings
  are put back (``TrustedState``), and judged by whether it raises. autograder/README.md says
  what that weaker check leaves open.

The judge writes one JSON line per cell on stdout: ``{"cell": index}`` when it starts one, then
for test cells ``{"index", "passed", "message", "judged"}``, ``judged`` being ``"judge"`` or
``"student process"``. The student's process has a control pipe: a byte there interrupts
its running cell (a ``KeyboardInterrupt``, as Jupyter's interrupt does).
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


class Opaque(BaseException):
    """A value with no plain-data form: the cell is judged in the student's process. (Not an
    Exception, so that a test's own ``except Exception`` does not swallow it.)"""


# ------------------------------------------------------------------------- plain data

def encode(value, originals=()):
    """Plain JSON data for ``value``; raise Opaque for anything else.

    ``originals`` are objects of the other side (a call's arguments): one of them, or an
    array or container held in one of them, found in ``value`` is encoded as a reference to
    it, so identity (``is``, ``np.shares_memory``) survives the trip.
    """
    paths = originals if isinstance(originals, dict) else reference_paths(originals)
    return _encode(value, paths)


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


def _encode(value, paths):
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
        return {"t": kind.__name__, "v": [_encode(item, paths) for item in value]}
    if kind is dict:
        return {"t": "dict", "k": [_encode(k, paths) for k in value],
                "v": [_encode(v, paths) for v in value.values()]}
    if kind is np.random.Generator:
        return {"t": "gen", "state": _plain(value.bit_generator.state)}
    raise Opaque(kind.__name__)


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


def decode(data, originals=()):
    """The value that ``encode`` described; only plain types are ever built."""
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
        return [decode(item, originals) for item in data["v"]]
    if kind == "tuple":
        return tuple(decode(item, originals) for item in data["v"])
    if kind == "dict":
        return {decode(k, originals): decode(v, originals) for k, v in zip(data["k"], data["v"])}
    if kind == "gen":
        generator = np.random.default_rng()
        generator.bit_generator.state = _unplain(data["state"])
        return generator
    if kind == "arg":
        return follow(originals, data["path"])
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
        self.callbacks, self.handles = {}, []
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
            self.channel.send({"op": "callback", "id": number, "args": encode(list(args)),
                               "kwargs": encode(kwargs),
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
            name = request["name"]
            if name not in user_ns:
                return {"missing": True}
            if callable(user_ns[name]) and not isinstance(user_ns[name], type):
                self.handles.append(user_ns[name])
                return {"callable": len(self.handles) - 1}
            try:
                return {"value": encode(user_ns[name])}
            except Opaque as opaque:
                return {"opaque": str(opaque)}
        if op == "call":
            args = self.decode_arguments(request["args"])
            kwargs = self.decode_arguments(request["kwargs"])
            originals = [*args, *kwargs.values()]
            held = [{k: id(v) for k, v in a.items()} if type(a) is dict else {}
                    for a in originals]
            self.calls.append(originals)
            try:
                result = self.handles[int(request["handle"])](*args, **kwargs)
            except BaseException as error:  # noqa: BLE001
                return {"raised": type(error).__name__, "message": describe(error)}
            finally:
                self.calls.pop()
            try:
                return {"result": encode(result, originals),
                        "after": [_encode_or_none(a) for a in originals],
                        "replaced": [[k for k, v in a.items() if type(k) in (str, int)
                                      and ids.get(k) != id(v)] if type(a) is dict else []
                                     for a, ids in zip(originals, held)]}
            except Opaque as opaque:
                return {"opaque": str(opaque)}
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

class StudentProcess:
    """The judge's handle on the student's process."""

    def __init__(self, channel):
        self.channel = channel
        self.callbacks = []
        self.calls = []  # the arguments of the calls in progress, innermost last

    def ask(self, message):
        self.channel.send(message)
        while True:
            reply = self.channel.receive()
            if reply.get("op") != "callback":
                return reply
            self._answer_callback(reply)

    def _answer_callback(self, request):
        try:
            for original, now in zip(self.calls[-1] if self.calls else [], request.get("sync", [])):
                if now is not None:
                    update_in_place(original, now)
            function = self.callbacks[int(request["id"])]
            result = function(*decode(request["args"]), **decode(request["kwargs"]))
            self.channel.send({"result": encode(result)})
        except Exception as error:  # noqa: BLE001  (the test's own function failed)
            self.channel.send({"raised": describe(error)})

    def encode_arguments(self, value):
        """Encode a call's arguments; the student's functions go back as their handles, the
        test's own functions become callbacks."""
        if hasattr(value, "student_handle"):
            return {"t": "handle", "id": value.student_handle}
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
        """The value of a student's name, or a stub that calls their function."""
        reply = self.ask({"op": "get", "name": name})
        if reply.get("missing"):
            raise NameError(f"name '{name}' is not defined")
        if "opaque" in reply:
            raise Opaque(reply["opaque"])
        if "callable" in reply:
            return self.stub(name, reply["callable"])
        return decode(reply["value"])

    def assign(self, name, value):
        """``name = value`` in the student's process (a trusted copy of a function, say)."""
        self.ask({"op": "set", "name": name, "value": self.encode_arguments(value)})

    def stub(self, name, handle):
        def call_student(*args, **kwargs):
            originals = [*args, *kwargs.values()]
            self.calls.append(originals)
            try:
                reply = self.ask({"op": "call", "handle": handle,
                                  "args": self.encode_arguments(list(args)),
                                  "kwargs": self.encode_arguments(kwargs)})
            finally:
                self.calls.pop()
            if "opaque" in reply:
                raise Opaque(reply["opaque"])
            if "raised" in reply:
                raise student_exception(reply["raised"], reply["message"])
            for original, after, replaced in zip(originals, reply["after"],
                                                 reply.get("replaced", [[]] * len(originals))):
                if after is not None:
                    update_in_place(original, after, set(replaced))
            return decode(reply["result"], originals)

        call_student.__name__ = call_student.__qualname__ = name
        call_student.student_handle = handle
        return call_student


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
    """Walk the cells; judge each test cell here, or in the student's process when needed."""
    request = json.loads(sys.stdin.read())
    report = os.dup(1)
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)

    def emit(message):
        os.write(report, (json.dumps(message) + "\n").encode())

    student = StudentProcess(Channel(int(read_fd), int(write_fd)))
    trusted = request["bindings"]
    student.ask({"op": "setup", "bindings": trusted})
    namespace = {"__name__": "__main__", "__student__": student.name,
                 "__set_student__": student.assign}
    answers = set(request.get("answers", ()))
    namespace.update(import_bindings(trusted))
    test_bound = set()
    for index, kind, source in request["cells"]:
        emit({"cell": index})
        if kind != "test":
            student.ask({"op": "run", "source": source})
            continue
        try:
            tree = test_code(source)
        except SyntaxError as error:
            emit({"index": index, "passed": False, "message": describe(error), "judged": "judge"})
            continue
        test_bound |= bound_names(tree) - answers
        code = compile(judged_code(tree, test_bound, trusted, answers), f"<test cell {index}>",
                       "exec")
        try:
            exec(code, namespace)  # noqa: S102  (the course's own test code, on plain data)
            verdict = {"passed": True, "message": ""}
        except Opaque:
            reply = student.ask({"op": "test", "index": index, "source": source})
            emit({"index": index, "passed": bool(reply.get("passed")),
                  "message": str(reply.get("message", ""))[:500], "judged": "student process"})
            continue
        except EOFError:  # the student's process died or was stopped: the grader says why
            os._exit(0)
        except BaseException as error:  # noqa: BLE001  (the test failed)
            verdict = {"passed": False, "message": describe(error)}
        emit({"index": index, **verdict, "judged": "judge"})
        share_test_names(student, namespace, bound_names(tree) - answers)
    student.channel.send({"op": "exit"})
    os._exit(0)


def share_test_names(student, namespace, names):
    """Give the student's process the plain-data values a test cell bound, for later cells."""
    for name in sorted(names):
        if name in namespace and not name.startswith("__"):
            try:
                value = encode(namespace[name])
            except Opaque:
                continue
            student.ask({"op": "set", "name": name, "value": value})


if __name__ == "__main__":
    {"student": student_main, "judge": judge_main}[sys.argv[1]](*sys.argv[2:])
