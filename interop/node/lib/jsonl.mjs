// Shared plumbing of the driver scripts: JSON lines in and out, binary values
// and error objects made printable.
//
// Commands arrive one JSON object per line on stdin and run one at a time, in
// order. Each has a "cmd" field naming its handler. When a command has a "ref"
// field, the script answers {"type":"done","ref":...} once the handler has
// returned (plus the fields the handler returned), or
// {"type":"cmdError","ref":...,"cmd":...,"message":...} when it threw. An
// unknown command or a handler error without "ref" is still reported as
// cmdError. Two commands exist in every script:
//
//   {"cmd":"eval","code":"<body of an async function>"}  runs code with the
//       script's context object as `ctx` (its state, plus ctx.out to print an
//       event and ctx.encode/ctx.decode) and answers done with
//       {"value": <encoded return value>}.
//   {"cmd":"exit"}  ends the process. End of stdin does the same.
//
// Binary values (Buffer, ArrayBuffer, typed arrays) travel in both directions
// as {"$bin":"<base64>"}, at any depth inside arrays and objects.

import { createInterface } from "node:readline";

export function out(obj) {
  try {
    process.stdout.write(JSON.stringify(obj) + "\n");
  } catch (err) {
    process.stderr.write(`cannot print event: ${err}\n`);
  }
}

export function isBinary(v) {
  return (
    Buffer.isBuffer(v) ||
    v instanceof ArrayBuffer ||
    ArrayBuffer.isView(v)
  );
}

function toBuffer(v) {
  if (Buffer.isBuffer(v)) return v;
  if (v instanceof ArrayBuffer) return Buffer.from(v);
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

// encode makes a value printable as JSON: binary parts become {"$bin":...},
// errors become {message, ...}, functions become "[function]".
export function encode(v) {
  if (v === undefined) return null;
  if (v === null || typeof v !== "object") {
    return typeof v === "function" ? "[function]" : v;
  }
  if (isBinary(v)) return { $bin: toBuffer(v).toString("base64") };
  if (v instanceof Error) return encodeError(v);
  if (Array.isArray(v)) return v.map(encode);
  const o = {};
  for (const [k, x] of Object.entries(v)) o[k] = encode(x);
  return o;
}

// decode turns {"$bin":...} objects back into Buffers, at any depth.
export function decode(v) {
  if (v === null || typeof v !== "object") return v;
  if (Array.isArray(v)) return v.map(decode);
  const keys = Object.keys(v);
  if (keys.length === 1 && keys[0] === "$bin" && typeof v.$bin === "string") {
    return Buffer.from(v.$bin, "base64");
  }
  const o = {};
  for (const [k, x] of Object.entries(v)) o[k] = decode(x);
  return o;
}

export function encodeError(err) {
  if (err === null || err === undefined) return null;
  if (typeof err !== "object") return { message: String(err) };
  if (!(err instanceof Error) && err.message === undefined) return safeObject(err);
  const o = { message: err.message ?? String(err) };
  for (const k of ["type", "code", "description", "data", "transport"]) {
    if (err[k] === undefined) continue;
    const d = err[k];
    // data is the JSON a server sent (CONNECT_ERROR); a transport error's
    // description may be a Node event object, kept in part.
    if (k === "data") o[k] = encode(d);
    else
      o[k] =
        d instanceof Error
          ? encodeError(d)
          : typeof d === "object" && d !== null && !Array.isArray(d) && !isBinary(d)
            ? safeObject(d)
            : encode(d);
  }
  return o;
}

// safeObject keeps the printable fields of an arbitrary object.
function safeObject(o) {
  const r = {};
  for (const [k, v] of Object.entries(o)) {
    if (v === null || ["string", "number", "boolean"].includes(typeof v)) r[k] = v;
    else if (v instanceof Error) r[k] = encodeError(v);
  }
  return r;
}

// serve reads commands from stdin and runs handlers[cmd.cmd](cmd) for each.
export function serve(handlers, ctx = {}) {
  Object.assign(ctx, { out, encode, decode });
  const all = {
    eval: async (c) => {
      const AsyncFunction = Object.getPrototypeOf(async function () {}).constructor;
      const value = await new AsyncFunction("ctx", c.code)(ctx);
      return { value: encode(value) };
    },
    exit: () => process.exit(0),
    ...handlers,
  };
  const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
  const queue = [];
  let running = false;
  const run = async () => {
    if (running) return;
    running = true;
    while (queue.length > 0) {
      const line = queue.shift();
      let c;
      try {
        c = JSON.parse(line);
      } catch (err) {
        out({ type: "cmdError", message: `bad JSON: ${err.message}` });
        continue;
      }
      const h = all[c.cmd];
      try {
        if (!h) throw new Error(`unknown command ${JSON.stringify(c.cmd)}`);
        const r = await h(c);
        if (c.ref !== undefined) out({ type: "done", ref: c.ref, cmd: c.cmd, ...(r || {}) });
      } catch (err) {
        out({ type: "cmdError", ref: c.ref, cmd: c.cmd, message: err?.message ?? String(err) });
      }
    }
    running = false;
  };
  rl.on("line", (line) => {
    if (line.trim() === "") return;
    queue.push(line);
    run();
  });
  rl.on("close", () => process.exit(0));
  process.stdout.on("error", () => process.exit(0));
  out({ type: "ready", pid: process.pid, node: process.version });
}

// pace runs f(i) for i in [0, count), every intervalMs milliseconds (all at
// once when intervalMs is 0), then calls end.
export function pace(count, intervalMs, f, end) {
  if (!intervalMs) {
    for (let i = 0; i < count; i++) f(i);
    end();
    return;
  }
  let i = 0;
  const tick = () => {
    if (i >= count) return end();
    f(i++);
    setTimeout(tick, intervalMs);
  };
  tick();
}

// parseArgs reads the optional JSON object given as first argument.
export function parseArgs() {
  const a = process.argv[2];
  return a ? JSON.parse(a) : {};
}
