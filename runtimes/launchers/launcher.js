// Gust's Node.js launcher: the actionloop line protocol (see protocol.go).
// stdin: one init line, then one run per line: "<context>\t<value>", both
// JSON ("<id> <context>\t<value>" when concurrent). fd 3: {"ok":true} or {"error":…} for the init, then one
// result line per run. Only built-in modules, loaded at startup before the
// code is known, so a prewarmed launcher is ready to take it.
'use strict';
const fs = require('fs');
const path = require('path');
const vm = require('vm');
const Module = require('module');
const { pathToFileURL } = require('url');

const OUT = 3;
let main = null;
let concurrent = false;

// writeOut writes one line on fd 3. Once openOut has wrapped fd 3 in a
// libuv pipe handle, a line goes out with one write(2) from C++ and the
// string is never copied into a Buffer: the Buffer and fs.writeSync layers
// cost a rarely woken launcher more than the write itself. The handle is in
// blocking mode, so a line is written whole before writeOut returns, as with
// fs.writeSync: an action that exits right after returning does not cut its
// own result short, and a line longer than the pipe holds waits for the
// reader instead of spinning on EAGAIN. Before openOut (and where fd 3 is not
// a pipe) lines go out with fs.writeSync.
let outPipe = null;
let outReq = null; // the write request, reused

function writeOut(s) {
  if (outPipe === null) return writeOutSync(s + '\n');
  if (outReq === null) {
    outReq = new outPipe.WriteWrap();
    outReq.handle = outPipe.handle;
    outReq.oncomplete = () => {};
    outReq.async = false;
  }
  if (outPipe.handle.writeUtf8String(outReq, s + '\n') !== 0) {
    process.exit(1); // fd 3 is gone: the invoker stopped reading us
  }
  // Blocking writes complete at once; were one queued, its request must not
  // be reused.
  if (outPipe.state[outPipe.kLastWriteWasAsync]) outReq = null;
}

function writeOutSync(line) {
  const b = Buffer.from(line, 'utf8');
  let off = 0;
  while (off < b.length) {
    try {
      off += fs.writeSync(OUT, b, off);
    } catch (e) {
      if (e.code !== 'EAGAIN') throw e;
    }
  }
}

// openOut wraps fd 3 in a pipe handle when it is a pipe.
function openOut() {
  try {
    const { Pipe, constants } = process.binding('pipe_wrap');
    const { WriteWrap, streamBaseState, kLastWriteWasAsync } = process.binding('stream_wrap');
    if (!fs.fstatSync(OUT).isFIFO() || kLastWriteWasAsync === undefined) return;
    const handle = new Pipe(constants.SOCKET);
    if (handle.open(OUT) || handle.setBlocking(true)) return;
    outPipe = { handle, WriteWrap, state: streamBaseState, kLastWriteWasAsync };
  } catch (e) {
    outPipe = null;
  }
}

function errorText(e) {
  if (e instanceof Error) return e.message || String(e);
  return String(e);
}

// logged tells whether anything was written to process.stdout or
// process.stderr since the last result was sent.
let logged = false;
function watchLogs() {
  for (const st of [process.stdout, process.stderr]) {
    const write = st.write;
    st.write = function () {
      logged = true;
      return write.apply(this, arguments);
    };
  }
}

// send writes a result line. A result JSON cannot encode is an error; a
// result that is not an object or array is sent as is and the proxy rejects it.
function send(id, result) {
  let s;
  try {
    s = JSON.stringify(result);
  } catch (e) {
    s = JSON.stringify({ error: 'The action returned a result that is not JSON: ' + errorText(e) });
  }
  if (s === undefined) s = 'null';
  const line = id === null ? s : id + ' ' + s;
  // Output past the pipe's buffer waits in Node's memory; answering before
  // it is written would let the proxy's sentinel overtake it and put these
  // lines into the next activation's logs. Runs that logged nothing through
  // the streams skip the check: it costs a rarely woken launcher about 9 µs.
  if (!logged || (process.stdout.writableLength === 0 && process.stderr.writableLength === 0)) {
    logged = false;
    return writeOut(line);
  }
  const pending = [process.stdout, process.stderr].filter((st) => st.writableLength > 0);
  Promise.all(pending.map((st) => new Promise((r) => st.once('drain', r)))).then(() => writeOut(line));
}

// fail answers an exception thrown or a Promise rejected by main.
function fail(id, e) {
  console.error(e && e.stack ? e.stack : e);
  if (e === undefined || e === null) return send(id, { error: {} });
  if (typeof e === 'object' && !(e instanceof Error) && 'error' in e) return send(id, e);
  send(id, { error: e instanceof Error ? errorText(e) : e });
}

function isIdentifier(s) {
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(s);
}

// loadFile evaluates a single-file action like OpenWhisk does: a top-level
// function named main works without exports. The code runs as a CommonJS
// module body, so module.exports, exports and require work too.
function loadFile(file, name) {
  let src = fs.readFileSync(file, 'utf8');
  if (src.startsWith('#!')) src = '//' + src.slice(2);
  return evaluate(file, src, name);
}

// evaluate runs src as the CommonJS module file and returns its function name.
function evaluate(file, src, name) {
  const wrapper = '(function (exports, require, module, __filename, __dirname) {' + src +
    '\n;return typeof ' + name + " === 'undefined' ? undefined : " + name + ';\n})';
  const fn = vm.runInThisContext(wrapper, { filename: file });
  const mod = new Module(file, null);
  mod.filename = file;
  mod.paths = Module._nodeModulePaths(path.dirname(file));
  const local = fn.call(mod.exports, mod.exports, Module.createRequire(file), mod, file, path.dirname(file));
  return pick(local, mod.exports, name);
}

// loadDir loads a zipped action: package.json "main" or index.js.
async function loadDir(dir, name) {
  const req = Module.createRequire(path.join(dir, 'package.json'));
  let exp;
  try {
    exp = req(dir);
  } catch (e) {
    if (e.code !== 'ERR_REQUIRE_ESM') throw e;
    const ns = await import(pathToFileURL(req.resolve(dir)).href);
    exp = ns[name] !== undefined ? ns : ns.default;
  }
  return pick(undefined, exp, name);
}

function pick(local, exp, name) {
  if (typeof local === 'function') return local;
  if (exp && typeof exp[name] === 'function') return exp[name];
  if (name === 'main' && typeof exp === 'function') return exp;
  return null;
}

async function init(msg) {
  try {
    for (const k in msg.env || {}) process.env[k] = msg.env[k];
    concurrent = !!msg.concurrent;
    process.chdir(msg.dir);
    const name = msg.main || 'main';
    if (!isIdentifier(name)) throw new Error(`'${name}' is not a valid function name`);
    const dir = fs.statSync(msg.entry).isDirectory();
    main = dir ? await loadDir(msg.entry, name) : loadFile(msg.entry, name);
    if (main === null) {
      throw new Error(`The action does not define a function named '${name}'.`);
    }
  } catch (e) {
    console.error(e && e.stack ? e.stack : e);
    let where = '';
    if (e && e.name === 'SyntaxError' && typeof e.stack === 'string') {
      const first = e.stack.split('\n', 1)[0];
      if (/:\d+$/.test(first)) where = ' (' + path.basename(first) + ')';
    }
    writeOut(JSON.stringify({ error: 'Initialization has failed due to: ' + String(e) + where }));
    process.exit(1);
  }
  writeOut('{"ok":true}');
}

// The run's __OW_* values go into process.env but not into the real
// environment: glibc's setenv keeps every NAME=value string it ever built,
// and activation ids, transaction ids and deadlines are new each run. A
// launcher grew by 62 MB in 200,000 runs that way, so a busy sandbox reached
// its memory limit within minutes.
let envView = null; // the object process.env shows; see overlayEnv
const contextNames = new Map(); // run message key -> __OW_ name
const contextSet = new Set(); // the names in contextNames

// The context is parsed and written into envView when the action first
// looks at process.env in a run, not when the run arrives: most actions never
// do, and that costs a rarely woken launcher about 13 µs a run. pending is
// the JSON text of the context envView does not have yet.
let pending = null;

// syncContext writes the pending run's context into envView.
function syncContext() {
  let msg;
  try {
    msg = JSON.parse(pending);
  } catch (e) {
    msg = {}; // Gust wrote it: cannot happen, and must not fail an env lookup
  }
  pending = null;
  for (const k in msg) {
    let name = contextNames.get(k);
    if (name === undefined) {
      name = '__OW_' + k.toUpperCase();
      contextNames.set(k, name);
      contextSet.add(name);
    }
    const v = msg[k];
    envView[name] = typeof v === 'string' ? v : JSON.stringify(v);
  }
}

// shareEnvWithWorkers: a Worker given no env of its own copies the real
// environment, which lacks the run's values; it gets a copy of process.env
// instead, as the action sees it. Loading worker_threads costs about 2 ms of
// a cold start, so the patch waits until the action requires it (an ES
// module's import of it is not seen: its workers see the real environment).
function shareEnvWithWorkers() {
  const load = Module._load;
  Module._load = function (request) {
    const m = load.apply(this, arguments);
    if (request === 'worker_threads' || request === 'node:worker_threads') {
      Module._load = load;
      const Base = m.Worker;
      m.Worker = class Worker extends Base {
        constructor(filename, options) {
          if (options === undefined || options === null || options.env === undefined) {
            options = Object.assign({}, options, { env: Object.assign({}, process.env) });
          }
          super(filename, options);
        }
      };
      Module.syncBuiltinESMExports();
    }
    return m;
  };
}

// overlayEnv replaces process.env with a copy of the real environment that
// the runs' context is written into. Reads, Object.keys, console.log and
// child processes (which take their environment from process.env) all see
// the copy. What the action sets or deletes reaches the real environment
// too, as with Node's own process.env (TZ, for one, takes effect there),
// except the __OW_* context names, which stay in the copy. Every way of
// looking at the copy writes the pending context into it first; util.inspect,
// which reads a proxy's target without its traps, finds a custom inspector.
function overlayEnv() {
  const real = process.env;
  envView = Object.assign({}, real);
  const fresh = () => {
    if (pending !== null) syncContext();
  };
  Object.defineProperty(envView, require('util').inspect.custom, {
    value() {
      fresh();
      return Object.assign({}, envView);
    },
  });
  process.env = new Proxy(envView, {
    get(t, k) {
      fresh();
      return t[k];
    },
    has(t, k) {
      fresh();
      return k in t;
    },
    ownKeys(t) {
      fresh();
      return Reflect.ownKeys(t);
    },
    getOwnPropertyDescriptor(t, k) {
      fresh();
      return Reflect.getOwnPropertyDescriptor(t, k);
    },
    set(t, k, v) {
      fresh();
      t[k] = String(v);
      if (!contextSet.has(k)) real[k] = v;
      return true;
    },
    deleteProperty(t, k) {
      fresh();
      delete t[k];
      if (!contextSet.has(k)) delete real[k];
      return true;
    },
  });
}

function run(line) {
  let id = null;
  if (concurrent) {
    const sp = line.indexOf(' ');
    id = line.slice(0, sp);
    line = line.slice(sp + 1);
  }
  // The context is JSON Gust wrote, with no raw tab: the first tab ends it.
  const tab = line.indexOf('\t');
  let value;
  try {
    if (tab < 0) throw new Error('no tab after the context');
    value = JSON.parse(line.slice(tab + 1));
  } catch (e) {
    return send(id, { error: 'invalid run request: ' + errorText(e) });
  }
  pending = line.slice(0, tab);
  let result;
  try {
    result = main(value === null ? {} : value);
  } catch (e) {
    return fail(id, e);
  }
  if (result !== null && typeof result === 'object' && typeof result.then === 'function') {
    result.then((r) => send(id, r), (e) => fail(id, e));
  } else {
    send(id, result);
  }
}

// warm runs the init and run paths once on a built-in action before any code
// arrives, so that a stem cell's /init and first run find V8's code for them
// compiled (about 0.6 ms of a prewarmed start). It leaves no trace: nothing
// is cached, env and cwd are restored, its output is dropped.
function warm() {
  const cwd = process.cwd();
  try {
    const f = evaluate(path.join(__dirname, 'warm.js'), 'function main(p) { return { ok: [p] }; }', 'main');
    const line = '{"activation_id":"0"}\t{"a":1}';
    const tab = line.indexOf('\t');
    const value = JSON.parse(line.slice(tab + 1));
    pending = line.slice(0, tab);
    syncContext();
    delete envView.__OW_ACTIVATION_ID;
    void JSON.stringify(f(value));
    fs.statSync(__filename).isDirectory();
    process.chdir(__dirname);
    isIdentifier('main');
    // process.stdout and process.stderr are built on their first use.
    void (process.stdout.writableLength + process.stderr.writableLength);
  } catch (e) {
    // A failed warm-up costs only the time it would have saved.
  }
  process.chdir(cwd);
}

// handle takes one stdin line: the init first, then runs.
let inited = false;
function handle(line) {
  if (line.length === 0) return;
  if (!inited) {
    inited = true;
    init(JSON.parse(line));
  } else {
    run(line);
  }
}

// lines hands the complete lines in buf[0, n) to handle and keeps the rest
// for the next read. It splits on the byte '\n', which never occurs inside a
// UTF-8 sequence, and decodes whole lines only, so a character split across
// two reads stays whole. buf may be reused by the next read: what is kept is
// copied.
const indexOf = Uint8Array.prototype.indexOf;
const lastIndexOf = Uint8Array.prototype.lastIndexOf;
let partial = null;
function lines(buf, n) {
  // The usual read is whole lines, most often one: decoded at once, the
  // string's own search finds any other. The byte searches below are C++
  // builtins, slower to enter than the string's: about 2% of the CPU of a
  // rarely woken launcher (perf, 100 actions round robin).
  if (partial === null && buf[n - 1] === 10) {
    const s = buf.utf8Slice(0, n - 1);
    let start = 0;
    for (let nl = s.indexOf('\n'); nl >= 0; nl = s.indexOf('\n', start)) {
      handle(s.slice(start, nl));
      start = nl + 1;
    }
    return handle(start === 0 ? s : s.slice(start));
  }
  // Both searches stay within buf[0, n): past n lie an earlier read's bytes,
  // up to 64 kB of them to scan for nothing.
  const last = lastIndexOf.call(buf, 10, n - 1);
  let start = 0;
  while (start <= last) {
    const nl = indexOf.call(buf, 10, start);
    if (partial === null) {
      handle(buf.utf8Slice(start, nl));
    } else {
      handle(Buffer.concat([partial, buf.subarray(start, nl)]).toString('utf8'));
      partial = null;
    }
    start = nl + 1;
  }
  if (start < n) {
    const rest = Buffer.from(buf.subarray(start, n));
    partial = partial === null ? rest : Buffer.concat([partial, rest]);
  }
}

// readStdin feeds stdin to lines through the pipe's own libuv handle, the one
// net.Socket reads with, reading into one buffer of ours (as net.Socket's
// onread option does) when Node still exposes that. The stream layer above
// it (Readable, EventEmitter, the string decoder) cost about 45 µs of CPU per
// run in a launcher woken rarely, as each of 100 actions' launchers is, and a
// fresh ArrayBuffer and Buffer per read 25 µs more. The event loop, timers
// and promises work as before. Anything unexpected falls back to
// process.stdin.
function readStdin() {
  try {
    const { Pipe, constants } = process.binding('pipe_wrap');
    const { streamBaseState, kReadBytesOrError } = process.binding('stream_wrap');
    if (!fs.fstatSync(0).isFIFO() || streamBaseState === undefined) throw new Error('stdin is not a pipe');
    const pipe = new Pipe(constants.SOCKET);
    if (typeof pipe.useUserBuffer !== 'function') throw new Error('no user buffers');
    if (pipe.open(0)) throw new Error('uv_pipe_open');
    const buf = Buffer.allocUnsafeSlow(64 * 1024);
    pipe.useUserBuffer(buf);
    pipe.onread = () => {
      const n = streamBaseState[kReadBytesOrError];
      if (n > 0) lines(buf, n);
      else if (n < 0) process.exit(0); // end of stdin: the invoker is done with us
    };
    if (pipe.readStart()) throw new Error('uv_read_start');
  } catch (e) {
    process.stdin.on('data', (chunk) => lines(chunk, chunk.length));
    process.stdin.on('end', () => process.exit(0));
  }
}

overlayEnv();
shareEnvWithWorkers();
warm();
watchLogs();
openOut();
// An empty line, skipped by handle, warms the line path.
lines(Buffer.from('\n'), 1);
readStdin();
