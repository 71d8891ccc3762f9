export { FrameDecoder, LENGTH_PREFIX_BYTES, type FrameSink, type FramingError } from "./framing.js";
export { PacketKind, decodePacket, encodeFrame, type Packet } from "./packet.js";
