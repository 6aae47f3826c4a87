# Gust's Python launcher: the actionloop line protocol (see protocol.go).
# stdin: one init line, then one run per line: "<context>\t<value>", both
# JSON (see protocol.go). fd 3: {"ok":true} or
# {"error": ...} for the init, then one result line per run.
#
# It runs as python3 -S -B: no site module (the proxy documents why) and no
# .pyc writes. It avoids the json package at startup (json imports re, about
# 8 ms) and uses the C codec in _json directly, falling back to json.
import sys
import os


def _codec():
    try:
        import _json

        class _Ctx:
            pass

        ctx = _Ctx()
        ctx.strict = True
        ctx.object_hook = None
        ctx.object_pairs_hook = None
        ctx.parse_float = float
        ctx.parse_int = int
        ctx.parse_constant = {'NaN': float('nan'), 'Infinity': float('inf'),
                              '-Infinity': float('-inf')}.__getitem__
        ctx.memo = {}
        scan = _json.make_scanner(ctx)
        ws = ' \t\n\r'

        def loads(s):
            i = 0
            n = len(s)
            while i < n and s[i] in ws:
                i += 1
            try:
                obj, end = scan(s, i)
            except (StopIteration, SystemError):
                # Without json.decoder loaded, _json cannot build its
                # JSONDecodeError and reports a SystemError instead.
                raise ValueError('invalid JSON near char %d' % i) from None
            while end < n and s[end] in ws:
                end += 1
            if end != n:
                raise ValueError('Extra data at char %d' % end)
            return obj

        def default(o):
            raise TypeError('Object of type %s is not JSON serializable' % type(o).__name__)

        make, basestring = _json.make_encoder, _json.encode_basestring

        def dumps(o):
            # A fresh encoder per call: its circular-reference markers must
            # not outlive a failed call.
            return ''.join(make({}, default, basestring, None, ':', ',', False, False, True)(o, 0))

        # Sanity check: the internal API is what we expect.
        if loads(dumps({'a': [1, 2.5, None, True, 'é\n']})) != {'a': [1, 2.5, None, True, 'é\n']}:
            raise ImportError('unexpected _json behaviour')
        return loads, dumps
    except Exception:
        import json
        return json.loads, lambda o: json.dumps(o, ensure_ascii=False, separators=(',', ':'))


loads, dumps = _codec()
# The first compile() builds the parser's tables, about 0.6 ms: do it before
# the code arrives, so a stem cell's /init does not pay for it.
exec(compile('def main(args):\n    return {"ok": [args]}\n', '<warm>', 'exec'), {})
# The protocol's descriptors must not leak to the action or its children:
# fd 3 closes on exec, and the runs come on a private copy of stdin while
# fd 0 and sys.stdin become /dev/null (so input() or a child reading stdin
# cannot eat the next run).
os.set_inheritable(3, False)
out = os.fdopen(3, 'wb')
stdin = os.fdopen(os.dup(0), 'rb')
try:
    _null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(_null, 0)
    os.close(_null)
    sys.stdin = open(0, 'r', closefd=False)
except OSError:
    pass


def write(s):
    out.write(s.encode('utf-8', 'backslashreplace') + b'\n')
    out.flush()


def flush_logs():
    try:
        sys.stdout.flush()
    except Exception:
        pass
    try:
        sys.stderr.flush()
    except Exception:
        pass


def error_text(ex):
    s = str(ex)
    return s if s else type(ex).__name__


def print_exc():
    import traceback
    traceback.print_exc()


def add_site_dirs(base):
    """Adds the interpreter's site directories without running .pth files."""
    v = 'python%d.%d' % sys.version_info[:2]
    dirs = [os.path.join(sys.prefix, 'local', 'lib', v, 'dist-packages'),
            os.path.join(sys.prefix, 'lib', 'python3', 'dist-packages'),
            os.path.join(sys.prefix, 'lib', v, 'dist-packages'),
            os.path.join(sys.prefix, 'lib', v, 'site-packages')]
    venv = os.path.join(base, 'virtualenv', 'lib')
    if os.path.isdir(venv):
        for d in sorted(os.listdir(venv)):
            sp = os.path.join(venv, d, 'site-packages')
            if d.startswith('python3') and os.path.isdir(sp):
                sys.path.insert(0, sp)
    for d in dirs:
        if d not in sys.path and os.path.isdir(d):
            sys.path.append(d)


def load(msg):
    env = msg.get('env') or {}
    for k in env:
        os.environ[k] = env[k]
    base = msg['dir']
    os.chdir(base)
    sys.path[0] = base
    add_site_dirs(base)
    name = msg.get('main') or 'main'
    if not name.isidentifier():
        raise ValueError("'%s' is not a valid function name" % name)
    entry = msg['entry']
    with open(entry, 'rb') as f:
        src = f.read()
    mod = type(sys)('main__')
    mod.__file__ = entry
    sys.modules['main__'] = mod
    exec(compile(src, entry, 'exec'), mod.__dict__)
    fn = getattr(mod, name, None)
    if not callable(fn):
        raise NameError("The action does not define a function named '%s'." % name)
    return fn


class _Context:
    """Exports the runs' __OW_* values to os.environ and the C environment.

    os.environ's assignment calls setenv, and glibc's setenv keeps every
    NAME=value string it ever built: activation ids, transaction ids and
    deadlines are new each run, so the launcher grew by about 270 bytes a run
    and a busy sandbox would reach its memory limit. After the first runs the
    values go instead into buffers of our own that putenv points the C
    environment at, rewritten in place; os.environ's own dict is updated
    directly. ctypes costs about 4.5 ms to import, so a cold start's first
    runs still use os.environ, and a sandbox used only a few times never
    pays for it.
    """

    SWITCH_AFTER = 10  # runs

    def __init__(self):
        self.last = {}  # run key -> the value last exported
        self.runs = 0
        self.slots = None  # run key -> _Slot, once the buffers are ours

    pending = None  # the run's context, JSON text, not exported yet

    def defer(self, ctx):
        """Keeps a run's context (bytes of JSON) until something looks."""
        self.pending = ctx

    def sync(self):
        """Exports the pending context, if any."""
        ctx = self.pending
        if ctx is None:
            return
        self.pending = None
        try:
            msg = loads(ctx.decode('utf-8'))
        except Exception:
            return  # Gust wrote it: cannot happen, and must not fail a lookup
        if isinstance(msg, dict):
            self.export(msg)

    def export(self, msg):
        self.runs += 1
        if self.runs == self.SWITCH_AFTER:
            self.slots = _Slot.start()
        if self.slots is not None:
            return self.export_slots(msg)
        for k in msg:
            v = msg[k]
            v = v if isinstance(v, str) else dumps(v)
            if self.last.get(k) == v:  # most values are the same run after run
                continue
            self.last[k] = v
            _Environ.__setitem__(os.environ, '__OW_' + k.upper(), v)

    def export_slots(self, msg):
        # As few steps as it takes: a rarely woken launcher's caches are
        # cold, and this loop with three new values cost one about 23 us a
        # run (100 launchers round robin, 2026-11-22).
        slots = self.slots
        for k, v in msg.items():
            slot = slots.get(k)
            if slot is None:
                slot = slots[k] = _Slot(k)
            if v != slot.raw:  # most values are the same run after run
                slot.set(v)


_UNSET = object()


class _Slot:
    """One __OW_ name's buffer, which the C environment points at."""

    __slots__ = ('raw', 'key', 'prefix', 'buf', 'stored')

    @staticmethod
    def start():
        """Loads ctypes and returns an empty dict of slots; None if it cannot."""
        try:
            import ctypes
            putenv = ctypes.CDLL(None).putenv
            putenv.argtypes = [ctypes.c_char_p]
            _Slot.putenv = staticmethod(putenv)
            _Slot.buffer = staticmethod(ctypes.create_string_buffer)
            _Slot.data = os.environ._data
            _Slot.encoding = sys.getfilesystemencoding()
            return {}
        except Exception:
            return None  # os.environ as before: correct, if leaky

    def __init__(self, k):
        self.raw = _UNSET
        self.key = os.environ.encodekey('__OW_' + k.upper())
        self.prefix = self.key + b'='
        self.buf = None
        self.stored = None

    def set(self, raw):
        self.raw = raw
        value = (raw if isinstance(raw, str) else dumps(raw)).encode(self.encoding, 'surrogateescape')
        line = self.prefix + value
        buf = self.buf
        fresh = buf is None or len(buf) <= len(line)
        if fresh:
            buf = self.buffer(max(2 * len(line), 64))
        buf.value = line
        # The C environment points at buf since the last putenv, so writing
        # into it is enough, unless it was outgrown or the action set or
        # deleted the name through os.environ meanwhile (its dict then holds
        # another value). A buffer replaced here is let go only once the
        # environment points at the new one.
        if fresh or self.data.get(self.key) is not self.stored:
            self.putenv(buf)
            self.buf = buf
        self.data[self.key] = value
        self.stored = value


_context = _Context()
_Environ = type(os.environ)


def _synced(fn):
    """fn, exporting the pending context first."""
    def call(*args, **kwargs):
        _context.sync()
        return fn(*args, **kwargs)
    call.__name__, call.__qualname__, call.__doc__ = fn.__name__, fn.__qualname__, fn.__doc__
    return call


class _LazyEnviron(_Environ):
    """os.environ (and os.environb), exporting the pending context first.

    Most actions never look at their environment, and exporting a run's
    context, parsing included, cost a rarely woken launcher about 25 us of
    its 58 us a run (100 launchers round robin, 2026-11-22). Everything in
    os.environ's interface goes through the methods wrapped below; what
    reads the C environment instead (a child process started without an env
    of its own) goes through the functions _lazy_context wraps.
    """


for _name in ('__getitem__', '__setitem__', '__delitem__', '__iter__', '__len__', '__repr__', 'copy'):
    setattr(_LazyEnviron, _name, _synced(getattr(_Environ, _name)))
del _name


def _lazy(env):
    return _LazyEnviron(env._data, env.encodekey, env.decodekey, env.encodevalue, env.decodevalue)


def _lazy_context():
    """Makes os.environ lazy and hooks what starts a program with the C
    environment: subprocess, multiprocessing and os.posix_spawn's callers
    (through _posixsubprocess or with os.environ as their env), os.system,
    and the os.exec* and os.spawn* family (all through os.execv, or given an
    env)."""
    try:
        import _posixsubprocess
        _posixsubprocess.fork_exec = _synced(_posixsubprocess.fork_exec)
        os.environ = _lazy(os.environ)
        if hasattr(os, 'environb'):
            os.environb = _lazy(os.environb)
        os.system = _synced(os.system)
        os.execv = _synced(os.execv)
        return True
    except Exception:
        return False  # the context is exported at each run, as before


_deferred = _lazy_context()


def run(fn, line):
    # The context is JSON Gust wrote, with no raw tab: the first tab ends it.
    ctx, tab, value = line.partition(b'\t')
    try:
        if not tab:
            raise ValueError('no tab after the context')
        msg = None if _deferred else loads(ctx.decode('utf-8'))
        args = loads(value.decode('utf-8'))
    except Exception as ex:
        return {'error': 'invalid run request: ' + error_text(ex)}
    if _deferred:
        _context.defer(ctx)
    else:
        _context.export(msg)
    if args is None:
        args = {}
    try:
        return fn(args)
    except BaseException as ex:
        if isinstance(ex, SystemExit):
            raise
        print_exc()
        return {'error': error_text(ex)}


def encode(res):
    try:
        return dumps(res)
    except Exception as ex:
        return dumps({'error': 'The action returned a result that is not JSON: ' + error_text(ex)})


def main():
    line = stdin.readline()
    if not line:
        return
    try:
        fn = load(loads(line.decode('utf-8')))
    except BaseException as ex:
        print_exc()
        if isinstance(ex, SyntaxError):
            where = ''
            if ex.lineno:
                where = ' (%s, line %d)' % (os.path.basename(ex.filename or '__main__.py'), ex.lineno)
            text = 'SyntaxError: %s%s' % (ex.msg, where)
        else:
            text = '%s: %s' % (type(ex).__name__, error_text(ex))
        flush_logs()
        write(dumps({'error': 'Initialization has failed due to: ' + text}))
        return
    flush_logs()
    write('{"ok":true}')
    while True:
        line = stdin.readline()
        if not line:
            return
        res = run(fn, line)
        flush_logs()
        write(encode(res))


main()
