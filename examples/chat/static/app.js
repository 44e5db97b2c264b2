// The chat page: the official browser client (served by the Go server at
// /socket.io/socket.io.min.js) talking to the Go Socket.IO server.
"use strict";

const $ = (sel) => document.querySelector(sel);
const el = (tag, cls, text) => {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
};
const clock = (ts) => new Date(ts).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });

const state = {
  nick: "",
  rooms: new Map(), // name -> { log: [], count, members, unread, typing: Map(nick -> timer) }
  active: null,
  away: false, // disconnected since the last connect
  missed: 0, // messages replayed by connection state recovery
  connectedOnce: false,
};

// Short reconnection delays: the page comes back quickly after a network
// blip. Transports: long-polling first, then the upgrade to WebSocket.
const socket = io({ reconnectionDelay: 500, reconnectionDelayMax: 2000 });

// ---- connection state ----

function setStatus(kind, text) {
  const s = $("#status");
  s.dataset.state = kind;
  s.textContent = text;
}

function banner(text) {
  const b = $("#banner");
  b.textContent = text || "";
  b.hidden = !text;
}

function transportName() {
  return socket.io.engine && socket.io.engine.transport ? socket.io.engine.transport.name : "";
}

socket.on("connect", () => {
  setStatus("connected", "connected (" + transportName() + ")");
  socket.io.engine.once("upgrade", () => setStatus("connected", "connected (" + transportName() + ")"));
  if (!state.connectedOnce) {
    state.connectedOnce = true;
  } else if (socket.recovered) {
    // The server kept our session: same id, same rooms, and the events
    // broadcast while we were away were delivered just before "connect".
    banner("Back online: connection recovered, " + state.missed + " missed message" +
      (state.missed === 1 ? "" : "s") + " delivered.");
  } else {
    banner("Reconnected too late to recover the session: joining the rooms again…");
    restoreSession();
  }
  state.away = false;
  markQueued();
});

socket.on("disconnect", (reason) => {
  state.away = true;
  state.missed = 0;
  if (reason === "io server disconnect") {
    setStatus("offline", "disconnected by the server");
    banner("The server closed this session. Reload the page to come back.");
    return;
  }
  setStatus("offline", "offline (" + reason + "), reconnecting…");
  markQueued();
});

socket.io.on("reconnect_attempt", (n) => setStatus("reconnecting", "reconnecting (attempt " + n + ")…"));

socket.on("connect_error", (err) => setStatus("offline", "cannot reach the server (" + err.message + ")"));

// After a reconnection without recovery: set the nickname and join again.
function restoreSession() {
  if (!state.nick) return;
  socket.emit("nick", state.nick, (res) => {
    if (res && res.error) return;
    const names = [...state.rooms.keys()];
    let left = names.length;
    const done = () => banner("Reconnected too late to recover the session: rooms joined again, " +
      "messages sent meanwhile were missed.");
    if (left === 0) done();
    for (const name of names) socket.emit("join", name, () => { if (--left === 0) done(); });
  });
}

// ---- rooms ----

function room(name) {
  let r = state.rooms.get(name);
  if (!r) {
    r = { log: [], count: 0, members: [], unread: 0, typing: new Map() };
    state.rooms.set(name, r);
  }
  return r;
}

function renderRooms() {
  const ul = $("#rooms");
  ul.replaceChildren();
  for (const [name, r] of state.rooms) {
    const li = el("li", name === state.active ? "active" : "");
    li.dataset.room = name;
    li.append(el("span", "name", "#" + name), el("span", "count", r.count + " online"));
    if (r.unread) li.append(el("span", "unread", String(r.unread)));
    const leave = el("button", "leave", "×");
    leave.title = "Leave #" + name;
    leave.addEventListener("click", (e) => {
      e.stopPropagation();
      leaveRoom(name);
    });
    li.append(leave);
    li.addEventListener("click", () => switchTo(name));
    ul.append(li);
  }
}

function renderHead() {
  const r = state.active && state.rooms.get(state.active);
  $("#room-title").textContent = r ? "#" + state.active : "No room";
  $("#online").textContent = r ? r.count + " online: " + r.members.join(", ") : "";
  const can = !!r;
  $("#text-input").disabled = !can;
  $("#composer button").disabled = !can;
  $("#text-input").placeholder = can ? "Message #" + state.active : "Join a room, then say something";
  renderTyping();
}

function renderTyping() {
  const r = state.active && state.rooms.get(state.active);
  const who = r ? [...r.typing.keys()] : [];
  $("#typing").textContent = who.length === 0 ? "" :
    who.join(", ") + (who.length === 1 ? " is" : " are") + " typing…";
}

function switchTo(name) {
  state.active = name;
  const r = state.rooms.get(name);
  if (r) r.unread = 0;
  renderRooms();
  renderHead();
  renderMessages();
}

function leaveRoom(name) {
  socket.emit("leave", name, (res) => {
    if (res && res.error) {
      $("#join-error").textContent = res.error.message;
      return;
    }
    state.rooms.delete(name);
    if (state.active === name) state.active = state.rooms.keys().next().value || null;
    renderRooms();
    renderHead();
    renderMessages();
  });
}

// ---- messages ----

function entryNode(m) {
  if (m.notice) return el("li", "notice", m.text);
  const li = el("li", "msg" + (m.mine ? " mine" : "") + (m.missed ? " missed" : ""));
  li.append(el("span", "nick", m.nick), el("span", "text", m.text), el("span", "time", clock(m.ts)));
  if (m.missed) {
    li.title = "sent while you were offline, recovered on reconnection";
    li.append(el("span", "tag", "recovered"));
  }
  if (m.mine) {
    const s = el("span", "state");
    if (m.state === "ok") {
      s.className = "state ok";
      s.textContent = "✓";
      s.title = "delivered";
    } else if (m.state === "failed") {
      s.className = "state failed";
      s.textContent = "✗ " + m.error;
    } else {
      s.textContent = socket.connected ? "…" : "queued";
    }
    li.append(s);
    m.node = li;
  }
  return li;
}

function renderMessages() {
  const ol = $("#messages");
  ol.replaceChildren();
  const r = state.active && state.rooms.get(state.active);
  if (!r) return;
  for (const m of r.log) ol.append(entryNode(m));
  ol.scrollTop = ol.scrollHeight;
}

function addEntry(name, m) {
  const r = room(name);
  r.log.push(m);
  if (r.log.length > 500) r.log.shift();
  if (name === state.active) {
    const ol = $("#messages");
    ol.append(entryNode(m));
    ol.scrollTop = ol.scrollHeight;
  } else if (!m.notice) {
    r.unread++;
    renderRooms();
  }
}

function refresh(m) {
  if (m.node && m.node.isConnected) m.node.replaceWith(entryNode(m));
}

// Pending own messages show "queued" while offline and "…" once online.
function markQueued() {
  for (const r of state.rooms.values()) {
    for (const m of r.log) if (m.mine && !m.state) refresh(m);
  }
}

socket.on("message", (m) => {
  if (!state.rooms.has(m.room)) return;
  if (state.away) state.missed++;
  addEntry(m.room, { nick: m.nick, text: m.text, ts: m.ts, missed: state.away });
  const r = room(m.room);
  if (r.typing.has(m.nick)) {
    clearTimeout(r.typing.get(m.nick));
    r.typing.delete(m.nick);
    renderTyping();
  }
});

socket.on("notice", (n) => {
  if (state.rooms.has(n.room)) addEntry(n.room, { notice: true, text: n.text, ts: n.ts });
});

socket.on("presence", (p) => {
  if (!state.rooms.has(p.room)) return;
  const r = room(p.room);
  r.count = p.count;
  r.members = p.members;
  renderRooms();
  if (p.room === state.active) renderHead();
});

socket.on("typing", (t) => {
  if (!state.rooms.has(t.room) || t.nick === state.nick) return;
  const r = room(t.room);
  clearTimeout(r.typing.get(t.nick));
  if (t.typing) {
    r.typing.set(t.nick, setTimeout(() => {
      r.typing.delete(t.nick);
      renderTyping();
    }, 4000));
  } else {
    r.typing.delete(t.nick);
  }
  renderTyping();
});

// ---- forms ----

$("#nick-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const nick = $("#nick-input").value;
  socket.emit("nick", nick, (res) => {
    if (res && res.error) {
      $("#nick-error").textContent = res.error.message;
      return;
    }
    $("#nick-error").textContent = "";
    state.nick = res.nick;
    $("#me").textContent = "as " + res.nick;
    $("#room-input").disabled = false;
    $("#join-form button").disabled = false;
    $("#room-input").focus();
  });
});

$("#join-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const name = $("#room-input").value.trim().toLowerCase();
  // Known before the answer, so that the room's first events (who is
  // online, "joined") are kept.
  const known = state.rooms.has(name);
  room(name);
  socket.emit("join", name, (res) => {
    if (res && res.error) {
      if (!known) state.rooms.delete(name);
      $("#join-error").textContent = res.error.message;
      return;
    }
    $("#join-error").textContent = "";
    room(res.room);
    switchTo(res.room);
    $("#text-input").focus();
  });
});

let typingSent = 0;
let typingTimer = null;

function stopTyping() {
  clearTimeout(typingTimer);
  typingTimer = null;
  if (typingSent && state.active) socket.volatile.emit("typing", { room: state.active, typing: false });
  typingSent = 0;
}

$("#text-input").addEventListener("input", () => {
  if (!state.active) return;
  const now = Date.now();
  if (now - typingSent > 1500) {
    socket.volatile.emit("typing", { room: state.active, typing: true });
    typingSent = now;
  }
  clearTimeout(typingTimer);
  typingTimer = setTimeout(stopTyping, 2500);
});

$("#composer").addEventListener("submit", (e) => {
  e.preventDefault();
  const input = $("#text-input");
  const text = input.value;
  const name = state.active;
  if (!name || text.trim() === "") return;
  input.value = "";
  stopTyping();
  const m = { mine: true, nick: state.nick, text: text.trim(), ts: Date.now() };
  addEntry(name, m);
  // The acknowledgement confirms delivery; while offline the client keeps
  // the message and sends it once reconnected.
  socket.emit("message", { room: name, text }, (res) => {
    if (res && res.error) {
      m.state = "failed";
      m.error = res.error.message;
      $("#send-error").textContent = res.error.message;
    } else {
      m.state = "ok";
      m.id = res.id;
      $("#send-error").textContent = "";
    }
    refresh(m);
  });
});
