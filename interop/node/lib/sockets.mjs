// What the socket.io-client drivers (sio-client.mjs for 3.x and 4.x,
// sio2-client.mjs for 2.x) share: the sockets they hold by name, the report
// of a received event, and the commands whose client API is the same in
// every version.

import { decode, encode } from "./jsonl.mjs";

// The driver's sockets by name; each is {socket, pending, autoAcks}.
export const sockets = new Map();

export function get(c) {
  const s = sockets.get(c.socket);
  if (!s) throw new Error(`no socket ${JSON.stringify(c.socket)}`);
  return s;
}

let nextAckRef = 1;

// reportEvent reports event with args, received by the socket of state, with
// ev(type, fields). ack is the function answering the server, or undefined:
// it is called at once when autoAck covers the event, otherwise kept for a
// "reply" command under the ackRef reported.
export function reportEvent(state, ev, event, args, ack) {
  const fields = { name: event };
  if (typeof ack === "function") {
    const ackRef = nextAckRef++;
    fields.ackRef = ackRef;
    const auto = state.autoAcks.get(event);
    if (auto) {
      fields.acked = true;
      ack(...(auto.echo ? args : decode(auto.args || [])));
    } else {
      state.pending.set(ackRef, ack);
    }
  }
  fields.args = encode(args);
  ev("event", fields);
}

// The handlers of connect, disconnect, reply, autoAck and closeEngine.
export const commands = {
  connect: (c) => {
    get(c).socket.connect();
  },
  disconnect: (c) => {
    get(c).socket.disconnect();
  },
  reply: (c) => {
    const st = get(c);
    const fn = st.pending.get(c.ackRef);
    if (!fn) throw new Error(`no pending ack ${c.ackRef}`);
    st.pending.delete(c.ackRef);
    fn(...decode(c.args || []));
  },
  autoAck: (c) => {
    get(c).autoAcks.set(c.event, { echo: !!c.echo, args: c.args });
  },
  closeEngine: async (c) => {
    const engine = get(c).socket.io.engine;
    // While an upgrade pauses the polling transport, closing it does
    // nothing: close the transport the upgrade ends with.
    if (engine.upgrading) {
      await new Promise((resolve) => {
        engine.once("upgrade", resolve);
        engine.once("upgradeError", resolve);
      });
    }
    engine.transport.close();
  },
};
