/**
 * RFC 1035 §4.2.2 / RFC 7766 §8: over TCP every message is preceded by a two-byte length. This decoder turns a
 * byte stream into whole messages. It holds at most one partial message (≤ 65,537 bytes), so a slow or hostile
 * peer cannot grow memory without bound; partial chunks are kept as a list and joined once the message is whole,
 * so a peer dribbling one byte at a time costs linear, not quadratic, copying.
 */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  private length = 0;

  /** Feeds a chunk; calls `onFrame` for every complete message, in order. Returns false on a zero-length frame. */
  push(chunk: Buffer, onFrame: (frame: Buffer) => void): boolean {
    let buf: Buffer;
    if (this.length === 0) {
      buf = chunk;
    } else {
      this.chunks.push(chunk);
      this.length += chunk.length;
      if (this.length < 2 || this.length < 2 + this.peekLength()) return true;
      buf = Buffer.concat(this.chunks, this.length);
      this.chunks = [];
      this.length = 0;
    }
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
      const tail = Buffer.from(buf.subarray(pos));
      this.chunks = [tail];
      this.length = tail.length;
    }
    return true;
  }

  /** The length prefix of the pending message (its first two bytes may sit in different chunks). */
  private peekLength(): number {
    const first = this.chunks[0];
    if (first.length >= 2) return first.readUInt16BE(0);
    return (first[0] << 8) | this.chunks[1][0];
  }

  /** Bytes buffered of an incomplete message. */
  get buffered(): number {
    return this.length;
  }
}

/** Prefixes a message with its two-byte length. */
export function frame(message: Buffer): Buffer {
  const out = Buffer.allocUnsafe(message.length + 2);
  out.writeUInt16BE(message.length, 0);
  message.copy(out, 2);
  return out;
}
