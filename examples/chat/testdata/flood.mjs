// Drives two official socket.io-client sockets against the chat at
// process.argv[2]: "flood" sends up to process.argv[3] messages, ten every
// 5 ms, until it is disconnected; "calm" sends ten, one every 50 ms,
// meanwhile. Prints one JSON line with what each got back, then exits.
import { io } from "socket.io-client";

const [url, count] = [process.argv[2], Number(process.argv[3] || 300)];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const opts = { transports: ["websocket"], reconnection: false, forceNew: true };
const call = (s, ev, arg) => s.timeout(5000).emitWithAck(ev, arg);

async function start(nick) {
  const s = io(url, opts);
  await new Promise((resolve, reject) => {
    s.once("connect", resolve);
    s.once("connect_error", reject);
  });
  for (const [ev, arg] of [["nick", nick], ["join", "lobby"]]) {
    const res = await call(s, ev, arg);
    if (res?.error) throw new Error(`${nick} ${ev}: ${JSON.stringify(res.error)}`);
  }
  return s;
}

const [flood, calm] = await Promise.all([start("flood"), start("calm")]);
const disconnected = new Promise((r) => flood.once("disconnect", r));

const got = { sent: 0, ok: 0, rate_limited: 0, other: 0, unanswered: 0 };
let sample = null;
const pending = [];
const flooding = (async () => {
  for (let i = 0; i < count && flood.connected; i++) {
    got.sent++;
    pending.push(
      flood
        .timeout(3000)
        .emitWithAck("message", { room: "lobby", text: "spam " + i })
        .then(
          (res) => {
            const code = res?.error?.code;
            if (!res?.error) got.ok++;
            else if (code === "rate_limited") {
              got.rate_limited++;
              sample ??= res.error;
            } else got.other++;
          },
          () => got.unanswered++,
        ),
    );
    if (i % 10 === 9) await sleep(5);
  }
})();

const served = [];
for (let i = 0; i < 10; i++) {
  const t0 = Date.now();
  const res = await call(calm, "message", { room: "lobby", text: "hello " + i });
  served.push({ ok: !res?.error && res?.id > 0, ms: Date.now() - t0, error: res?.error ?? null });
  await sleep(50);
}
const reason = await Promise.race([disconnected, sleep(5000).then(() => "still connected")]);
await flooding;
await Promise.allSettled(pending);
process.stdout.write(JSON.stringify({ flood: got, sample, reason, calm: served, calmConnected: calm.connected }) + "\n");
process.exit(0);
