# Gust's Python launcher: the actionloop line protocol (see protocol.go).
# stdin: one init line, then one /run body per line. fd 3: {"ok":true} or
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
        self.names = {}  # run key -> __OW_ name
        self.runs = 0
        self.putenv = None
        self.bufs = {}  # __OW_ name -> the buffer the C environment points at

    def export(self, msg):
        self.runs += 1
        if self.runs == self.SWITCH_AFTER:
            self.own_buffers()
        for k in msg:
            if k == 'value':
                continue
            v = msg[k]
            v = v if isinstance(v, str) else dumps(v)
            if self.last.get(k) == v:  # most values are the same run after run
                continue
            self.last[k] = v
            name = self.names.get(k)
            if name is None:
                name = self.names[k] = '__OW_' + k.upper()
            if self.putenv is None:
                os.environ[name] = v
            else:
                self.put(name, v)

    def own_buffers(self):
        try:
            import ctypes
            env = os.environ
            self.key, self.value, self.data = env.encodekey, env.encodevalue, env._data
            self.putenv = ctypes.CDLL(None).putenv
            self.putenv.argtypes = [ctypes.c_char_p]
            self.buffer = ctypes.create_string_buffer
        except Exception:
            self.putenv = None  # os.environ as before: correct, if leaky

    def put(self, name, v):
        line = (name + '=' + v).encode('utf-8', 'surrogateescape')
        buf = self.bufs.get(name)
        if buf is None or len(buf) <= len(line):
            buf = self.buffer(max(2 * len(line), 64))
        buf.value = line
        # putenv keeps the pointer; it is called each time in case the action
        # unset the name meanwhile. A buffer replaced here is let go only
        # once the environment points at the new one.
        self.putenv(buf)
        self.bufs[name] = buf
        self.data[self.key(name)] = self.value(v)


_context = _Context()


def run(fn, line):
    try:
        msg = loads(line.decode('utf-8'))
    except Exception as ex:
        return {'error': 'invalid run request: ' + error_text(ex)}
    _context.export(msg)
    args = msg.get('value')
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
