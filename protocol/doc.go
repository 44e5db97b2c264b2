// Package protocol encodes and decodes the packets of the Socket.IO protocol,
// version 5, as the official JavaScript parser does: the format spoken by
// socket.io v3 and v4 servers and clients.
//
// A packet travels as the data of one Engine.IO message (so on the wire it
// follows the message type "4"), in the text form
//
//	<type>[<attachments>-][<namespace>,][<ack id>][<JSON payload>]
//
// for example 2["chat","hi"], 2/admin,13["get"] or 3013[{"ok":true}]. A
// binary packet, BinaryEvent or BinaryAck, replaces each binary value of its
// payload by a placeholder {"_placeholder":true,"num":N} and sends the
// binary values as separate binary Engine.IO messages right after the text:
//
//	51-["upload",{"_placeholder":true,"num":0}]   then   <binary message>
//
// Packet.AppendEncode writes the text form; a Decoder turns the messages of
// one connection back into packets and validates them like the official
// decoder, so that a peer breaking the protocol can be disconnected.
//
// Payloads stay raw JSON (json.RawMessage): the package validates them but
// never decodes them into Go values, which is left to the application and
// done once, into its own types. SplitArray, EventName and Placeholder take
// event arguments apart; MarshalArgs builds them from Go values, turning
// byte slices into attachments wherever they are (struct fields, maps,
// slices, pointers), as Node does with a Buffer; InlineAttachments puts
// attachments back as base64 strings so that encoding/json can decode them
// into []byte.
//
// Error and ErrorReply give the shape in which both ends of this module
// report a failed event in its acknowledgement.
//
// A Parser carries packets over Engine.IO messages: JSON is the text form
// above, the default; other wire formats (package msgpackparser) convert to
// and from the same Packet, so that nothing above the parser depends on it.
//
// Besides the standard library, the package depends on engineio (for the
// message type) and internal/plainjson of this module. Decoding a text packet
// allocates the Packet and nothing else; encoding into a reused buffer, and
// MarshalArgs of strings, numbers and []byte values, allocate nothing.
package protocol
