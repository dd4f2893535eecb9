/**
 * RFC 1035 §4.2.2 / RFC 7766 §8: over TCP every message is preceded by a two-byte length. This decoder turns a
 * byte stream into whole messages. It buffers at most one partial message (≤ 65,537 bytes), so a slow or hostile
 * peer cannot grow memory without bound.
 */
export class FrameDecoder {
  private pending: Buffer | undefined;

  /** Feeds a chunk; calls `onFrame` for every complete message, in order. Returns false on a zero-length frame. */
  push(chunk: Buffer, onFrame: (frame: Buffer) => void): boolean {
    let buf = this.pending === undefined ? chunk : Buffer.concat([this.pending, chunk]);
    this.pending = undefined;
    let pos = 0;
    while (buf.length - pos >= 2) {
      const len = buf.readUInt16BE(pos);
      if (len === 0) return false;
      if (buf.length - pos - 2 < len) break;
      onFrame(buf.subarray(pos + 2, pos + 2 + len));
      pos += 2 + len;
    }
    if (pos < buf.length) {
      // Copy the tail so the big chunk it came from can be collected.
      buf = Buffer.from(buf.subarray(pos));
      this.pending = buf;
    }
    return true;
  }

  /** Bytes buffered of an incomplete message. */
  get buffered(): number {
    return this.pending?.length ?? 0;
  }
}

/** Prefixes a message with its two-byte length. */
export function frame(message: Buffer): Buffer {
  const out = Buffer.allocUnsafe(message.length + 2);
  out.writeUInt16BE(message.length, 0);
  message.copy(out, 2);
  return out;
}
