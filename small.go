package socketio

import "slices"

// The containers below hold what every connection and socket keeps for its
// whole life. Most connections join one namespace and most sockets have a
// handful of handlers, so a map (a few hundred bytes even when nearly empty)
// costs more than the data; with a hundred thousand idle connections that
// is tens of megabytes.

// nspSockets maps namespace names to sockets. The first entry is held
// inline; a map is made only for a connection that joins several
// namespaces at once. A nil *Socket is a valid value (a namespace being
// resolved).
type nspSockets struct {
	name string
	s    *Socket
	used bool
	more map[string]*Socket
}

func (m *nspSockets) get(name string) (*Socket, bool) {
	if m.used && m.name == name {
		return m.s, true
	}
	s, ok := m.more[name]
	return s, ok
}

func (m *nspSockets) put(name string, s *Socket) {
	_, inMore := m.more[name]
	switch {
	case m.used && m.name == name, !m.used && !inMore:
		m.name, m.s, m.used = name, s, true
	default:
		if m.more == nil {
			m.more = map[string]*Socket{}
		}
		m.more[name] = s
	}
}

func (m *nspSockets) del(name string) {
	if m.used && m.name == name {
		m.name, m.s, m.used = "", nil, false
		return
	}
	delete(m.more, name)
	if len(m.more) == 0 {
		m.more = nil
	}
}

func (m *nspSockets) len() int {
	n := len(m.more)
	if m.used {
		n++
	}
	return n
}

// appendTo appends the non-nil sockets to out.
func (m *nspSockets) appendTo(out []*Socket) []*Socket {
	if m.used && m.s != nil {
		out = append(out, m.s)
	}
	for _, s := range m.more {
		if s != nil {
			out = append(out, s)
		}
	}
	return out
}

// handlerSet maps event names to handlers: a slice searched in order while
// small, a map beyond smallHandlers.
type handlerSet struct {
	list []namedHandler
	m    map[string]RawHandler
}

type namedHandler struct {
	name string
	h    RawHandler
}

const smallHandlers = 16

func (hs *handlerSet) get(name string) RawHandler {
	if hs.m != nil {
		return hs.m[name]
	}
	for i := range hs.list {
		if hs.list[i].name == name {
			return hs.list[i].h
		}
	}
	return nil
}

func (hs *handlerSet) set(name string, h RawHandler) {
	if hs.m != nil {
		hs.m[name] = h
		return
	}
	for i := range hs.list {
		if hs.list[i].name == name {
			hs.list[i].h = h
			return
		}
	}
	if len(hs.list) < smallHandlers {
		hs.list = append(hs.list, namedHandler{name, h})
		return
	}
	hs.m = make(map[string]RawHandler, len(hs.list)+1)
	for _, e := range hs.list {
		hs.m[e.name] = e.h
	}
	hs.m[name] = h
	hs.list = nil
}

func (hs *handlerSet) del(name string) {
	if hs.m != nil {
		delete(hs.m, name)
		return
	}
	for i := range hs.list {
		if hs.list[i].name == name {
			hs.list = slices.Delete(hs.list, i, i+1)
			return
		}
	}
}
