// A Node.js member of a test cluster: a Socket.IO server with the official
// Redis adapter, and Socket.IO clients connected to it or to other servers.
// The Go tests drive it through JSON lines on stdin and read what happens
// on stdout:
//
//   in:  {"seq": 1, "op": "emit", ...}
//   out: {"seq": 1, "result": ...} or {"seq": 1, "error": "..."}
//   out: {"event": "client", "client": "c1", "name": "hello", "args": [...]}
//
// Binary values are written {"$bin": "<hex>"} in both directions.
//
// Environment: REDIS_URL (required but with ADAPTER=postgres; with
// REDIS_CLUSTER=1, the comma-separated URLs of a Redis Cluster's nodes),
// ADAPTER ("classic", "sharded", "streams" for
// @socket.io/redis-streams-adapter, or "postgres" for
// @socket.io/postgres-adapter on the database at PG_URL), KEY,
// REQUESTS_TIMEOUT, SPECIFIC_CHANNEL=1, SUBSCRIPTION_MODE (sharded
// adapter), RECOVERY=<ms> (connection state recovery with that
// maxDisconnectionDuration).
"use strict";

const readline = require("node:readline");
const { createClient, createCluster } = require("redis");
const { Server } = require("socket.io");
const { io: connectClient } = require("socket.io-client");
const { createAdapter, createShardedAdapter } = require("@socket.io/redis-adapter");

function toWire(v) {
  if (Buffer.isBuffer(v) || v instanceof ArrayBuffer || ArrayBuffer.isView(v)) {
    return { $bin: Buffer.from(v).toString("hex") };
  }
  if (Array.isArray(v)) return v.map(toWire);
  if (v && typeof v === "object") {
    const out = {};
    for (const k of Object.keys(v)) out[k] = toWire(v[k]);
    return out;
  }
  return v;
}

function fromWire(v) {
  if (Array.isArray(v)) return v.map(fromWire);
  if (v && typeof v === "object") {
    if (typeof v.$bin === "string") return Buffer.from(v.$bin, "hex");
    const out = {};
    for (const k of Object.keys(v)) out[k] = fromWire(v[k]);
    return out;
  }
  return v;
}

function send(obj) {
  process.stdout.write(JSON.stringify(obj) + "\n");
}

async function main() {
  // The official adapter does not handle the promises of its publications:
  // one in flight when Redis goes away would end the process. Report them
  // instead, so that a test can tell.
  process.on("unhandledRejection", (err) => {
    send({ event: "unhandledRejection", error: String(err && err.message ? err.message : err) });
  });
  const url = process.env.REDIS_URL;
  const newRedis = async () => {
    const c =
      process.env.REDIS_CLUSTER === "1"
        ? createCluster({ rootNodes: url.split(",").map((u) => ({ url: u })) })
        : createClient({ url });
    c.on("error", () => {});
    await c.connect();
    return c;
  };
  let pub, sub, pool, adapter;
  if (process.env.ADAPTER === "postgres") {
    const pg = require("pg");
    const { createAdapter: createPostgresAdapter } = require("@socket.io/postgres-adapter");
    pool = new pg.Pool({ connectionString: process.env.PG_URL, max: 4 });
    // Without a listener, an idle client's error (the database going away)
    // would end the process.
    pool.on("error", (err) => send({ event: "poolError", error: String(err.message) }));
    // The adapter does not listen for the errors of its LISTEN client: when
    // the database ends that connection, the 'error' event would end the
    // process. Report it instead, so that a test can tell.
    process.on("uncaughtException", (err) => {
      send({ event: "uncaughtException", error: String(err && err.message ? err.message : err) });
    });
    adapter = createPostgresAdapter(pool, {
      errorHandler: (err) => send({ event: "adapterError", error: String(err && err.message) }),
    });
  } else {
    pub = await newRedis();
    sub = await newRedis();
  }
  if (adapter) {
    // the Postgres adapter, above
  } else if (process.env.ADAPTER === "streams") {
    const { createAdapter: createStreamsAdapter } = require("@socket.io/redis-streams-adapter");
    adapter = createStreamsAdapter(pub);
  } else if (process.env.ADAPTER === "sharded") {
    adapter = createShardedAdapter(pub, sub, {
      channelPrefix: process.env.KEY || "socket.io",
      subscriptionMode: process.env.SUBSCRIPTION_MODE || "dynamic",
    });
  } else {
    adapter = createAdapter(pub, sub, {
      key: process.env.KEY || "socket.io",
      requestsTimeout: Number(process.env.REQUESTS_TIMEOUT) || 5000,
      publishOnSpecificResponseChannel: process.env.SPECIFIC_CHANNEL === "1",
    });
  }
  const httpServer = require("node:http").createServer();
  const opts = { adapter };
  if (process.env.RECOVERY) {
    opts.connectionStateRecovery = { maxDisconnectionDuration: Number(process.env.RECOVERY) };
  }
  const io = new Server(httpServer, opts);
  await new Promise((resolve) => httpServer.listen(0, "127.0.0.1", resolve));
  const port = httpServer.address().port;

  const setup = (nsp) => {
    nsp.on("connection", (socket) => {
      const rooms = socket.handshake.auth.rooms || [];
      socket.join(rooms);
      socket.on("rooms", (cb) => cb([...socket.rooms]));
      // The outage test: a client's "relay" message goes to every socket
      // of the namespace, as the Go servers of that test do.
      socket.on("relay", (...args) => nsp.emit("relay", ...args));
    });
    nsp.on("hello", (...args) => {
      const ack = typeof args[args.length - 1] === "function" ? args.pop() : null;
      send({ event: "serverSideEmit", nsp: nsp.name, args: toWire(args) });
      if (ack) ack({ from: "node", args: toWire(args) });
    });
  };
  setup(io.of("/"));
  setup(io.of("/chat"));

  const clients = new Map();
  const ops = {
    port: () => port,
    uid: (m) => io.of(m.nsp || "/").adapter.uid,
    async connect(m) {
      const target = m.url || `http://127.0.0.1:${port}`;
      // With reconnect, the client reconnects quickly after losing its
      // connection, and reports every connection with its recovered flag.
      const s = connectClient(target + (m.nsp || "/"), {
        transports: ["websocket"],
        auth: { rooms: m.rooms || [] },
        reconnection: !!m.reconnect,
        reconnectionDelay: 100,
        reconnectionDelayMax: 200,
        randomizationFactor: 0,
        forceNew: true,
      });
      s.on("connect", () => send({ event: "connect", client: m.client, recovered: s.recovered, id: s.id }));
      clients.set(m.client, s);
      s.onAny((name, ...args) => {
        const ack = typeof args[args.length - 1] === "function" ? args.pop() : null;
        send({ event: "client", client: m.client, name, args: toWire(args) });
        if (ack) ack({ client: m.client, got: toWire(args) });
      });
      s.on("disconnect", (reason) => send({ event: "disconnect", client: m.client, reason }));
      await new Promise((resolve, reject) => {
        s.once("connect", resolve);
        s.once("connect_error", reject);
      });
      return s.id;
    },
    async clientRooms(m) {
      const s = clients.get(m.client);
      return s.timeout(2000).emitWithAck("rooms");
    },
    async close(m) {
      clients.get(m.client).close();
      return true;
    },
    emit(m) {
      op(m).emit(m.name, ...fromWire(m.args || []));
      return true;
    },
    async emitWithAck(m) {
      const replies = await op(m).timeout(m.timeout || 2000).emitWithAck(m.name, ...fromWire(m.args || []));
      return toWire(replies);
    },
    async fetchSockets(m) {
      const sockets = await op(m).fetchSockets();
      return sockets.map((s) => ({ id: s.id, rooms: [...s.rooms], data: s.data, handshake: s.handshake }));
    },
    async remoteEmit(m) {
      const sockets = await op(m).fetchSockets();
      for (const s of sockets) s.emit(m.name, ...fromWire(m.args || []));
      return sockets.length;
    },
    socketsJoin(m) {
      op(m).socketsJoin(m.join);
      return true;
    },
    socketsLeave(m) {
      op(m).socketsLeave(m.leave);
      return true;
    },
    disconnectSockets(m) {
      op(m).disconnectSockets(!!m.close);
      return true;
    },
    serverSideEmit(m) {
      io.of(m.nsp || "/").serverSideEmit(m.name, ...fromWire(m.args || []));
      return true;
    },
    async serverSideEmitWithAck(m) {
      const replies = await io.of(m.nsp || "/").serverSideEmitWithAck(m.name, ...fromWire(m.args || []));
      return toWire(replies);
    },
    async allRooms(m) {
      return [...(await io.of(m.nsp || "/").adapter.allRooms())];
    },
    serverCount: (m) => io.of(m.nsp || "/").adapter.serverCount(),
    async localRooms(m) {
      return [...io.of(m.nsp || "/").adapter.rooms.keys()];
    },
    // @socket.io/postgres-emitter, on the peer's pool.
    pgEmit(m) {
      const { Emitter } = require("@socket.io/postgres-emitter");
      let e = new Emitter(pool).of(m.nsp || "/");
      if (m.rooms && m.rooms.length) e = e.to(m.rooms);
      if (m.except && m.except.length) e = e.except(m.except);
      if (m.name) e.emit(m.name, ...fromWire(m.args || []));
      if (m.serverSideEmit) e.serverSideEmit(m.serverSideEmit, ...fromWire(m.args || []));
      if (m.join) e.socketsJoin(m.join);
      return true;
    },
    setData(m) {
      for (const s of io.of(m.nsp || "/").sockets.values()) s.data = m.data;
      return true;
    },
  };

  function op(m) {
    let o = io.of(m.nsp || "/");
    if (m.rooms && m.rooms.length) o = o.to(m.rooms);
    if (m.except && m.except.length) o = o.except(m.except);
    if (m.volatile) o = o.volatile;
    if (m.compress === false) o = o.compress(false);
    if (m.local) o = o.local;
    return o;
  }

  const rl = readline.createInterface({ input: process.stdin });
  rl.on("line", async (line) => {
    let m;
    try {
      m = JSON.parse(line);
    } catch {
      return;
    }
    if (m.op === "quit") {
      for (const s of clients.values()) s.close();
      io.close();
      if (pub) await pub.quit().catch(() => {});
      if (sub) await sub.quit().catch(() => {});
      if (pool) await pool.end().catch(() => {});
      send({ seq: m.seq, result: true });
      process.exit(0);
    }
    try {
      const fn = ops[m.op];
      if (!fn) throw new Error("unknown op " + m.op);
      const result = await fn(m);
      send({ seq: m.seq, result: result === undefined ? null : result });
    } catch (err) {
      send({ seq: m.seq, error: String(err && err.message ? err.message : err) });
    }
  });
  rl.on("close", () => process.exit(0));
  send({ event: "ready", port });
}

main().catch((err) => {
  send({ event: "fatal", error: String(err && err.stack ? err.stack : err) });
  process.exit(1);
});
