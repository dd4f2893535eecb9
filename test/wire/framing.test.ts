import { describe, expect, it } from 'vitest';
import { FrameDecoder, frame } from '../../src/wire/index.js';
import { prng, randomBytes } from './bytes.js';
import { fixture } from './fixtures.js';

/** Feeds `chunks` to a fresh decoder; returns the frames (copied) and what push returned each time. */
function decode(chunks: Buffer[]): { frames: Buffer[]; results: boolean[]; decoder: FrameDecoder } {
  const decoder = new FrameDecoder();
  const frames: Buffer[] = [];
  const results = chunks.map((c) => decoder.push(c, (f) => frames.push(Buffer.from(f))));
  return { frames, results, decoder };
}

const messages = [
  fixture('a-basic').query,
  fixture('big-txt-tcp').response,
  fixture('dnssec-a-do').query,
  Buffer.from([0x42]),
];
const stream = Buffer.concat(messages.map(frame));

describe('frame', () => {
  it('prefixes a message with its two-byte big-endian length (RFC 1035 §4.2.2)', () => {
    const msg = fixture('big-txt-tcp').response;
    const framed = frame(msg);
    expect(framed.length).toBe(msg.length + 2);
    expect(framed.subarray(0, 2)).toEqual(Buffer.from([0x05, 0x14])); // 1300
    expect(framed.subarray(2)).toEqual(msg);
  });
});

describe('FrameDecoder', () => {
  it('returns several frames from one chunk, in order', () => {
    const { frames, results, decoder } = decode([stream]);
    expect(results).toEqual([true]);
    expect(frames).toEqual(messages);
    expect(decoder.buffered).toBe(0);
  });

  it('reassembles frames split in two at every byte position', () => {
    for (let i = 0; i <= stream.length; i++) {
      const { frames, results, decoder } = decode([stream.subarray(0, i), stream.subarray(i)]);
      expect(results, `split at ${i}`).toEqual([true, true]);
      expect(frames, `split at ${i}`).toEqual(messages);
      expect(decoder.buffered, `split at ${i}`).toBe(0);
    }
  });

  it('reassembles frames fed one byte at a time, holding back each until it is whole', () => {
    const decoder = new FrameDecoder();
    const frames: Buffer[] = [];
    let boundary = 0;
    const ends = messages.map((m) => (boundary += m.length + 2));
    for (let i = 0; i < stream.length; i++) {
      expect(decoder.push(stream.subarray(i, i + 1), (f) => frames.push(Buffer.from(f)))).toBe(true);
      expect(frames.length, `after byte ${i}`).toBe(ends.filter((e) => e <= i + 1).length);
    }
    expect(frames).toEqual(messages);
    expect(decoder.buffered).toBe(0);
  });

  it('reassembles frames cut at random places into random-sized chunks', () => {
    const rand = prng(7);
    for (let run = 0; run < 200; run++) {
      const chunks: Buffer[] = [];
      for (let pos = 0; pos < stream.length; ) {
        const n = 1 + rand.int(400);
        chunks.push(stream.subarray(pos, pos + n));
        pos += n;
      }
      expect(decode(chunks).frames, `run ${run}`).toEqual(messages);
    }
  });

  it('keeps its own copy of a partial frame, so the caller may reuse the chunk', () => {
    const chunk = Buffer.from(stream.subarray(0, 20));
    const decoder = new FrameDecoder();
    const frames: Buffer[] = [];
    decoder.push(chunk, (f) => frames.push(Buffer.from(f)));
    chunk.fill(0xff);
    decoder.push(stream.subarray(20, messages[0].length + 2), (f) => frames.push(Buffer.from(f)));
    expect(frames).toEqual([messages[0]]);
  });

  it('returns false on a zero-length frame, after delivering the frames before it', () => {
    const bad = Buffer.concat([frame(messages[0]), Buffer.from([0, 0]), frame(messages[2])]);
    const { frames, results } = decode([bad]);
    expect(results).toEqual([false]);
    expect(frames).toEqual([messages[0]]);
    // Also when the zero length arrives split over two chunks.
    const split = decode([Buffer.concat([frame(messages[0]), Buffer.from([0])]), Buffer.from([0, 0, 1, 0x42])]);
    expect(split.results).toEqual([true, false]);
    expect(split.frames).toEqual([messages[0]]);
  });

  it('buffers at most one partial message, however the bytes arrive', () => {
    // A peer announcing the largest frame and trickling it in.
    const decoder = new FrameDecoder();
    const big = randomBytes(prng(1), 65535);
    const framed = frame(big);
    const frames: Buffer[] = [];
    for (let pos = 0; pos < framed.length; pos += 4093) {
      decoder.push(framed.subarray(pos, pos + 4093), (f) => frames.push(Buffer.from(f)));
      expect(decoder.buffered).toBeLessThanOrEqual(65536);
    }
    expect(frames).toEqual([big]);
    expect(decoder.buffered).toBe(0);

    // Random streams of random frames: what is held is always less than the frame being assembled.
    const rand = prng(99);
    for (let run = 0; run < 50; run++) {
      const msgs = Array.from({ length: 1 + rand.int(5) }, () => randomBytes(rand, 1 + rand.int(3000)));
      const all = Buffer.concat(msgs.map(frame));
      const d = new FrameDecoder();
      const got: Buffer[] = [];
      for (let pos = 0; pos < all.length; ) {
        const n = 1 + rand.int(700);
        expect(d.push(all.subarray(pos, pos + n), (f) => got.push(Buffer.from(f)))).toBe(true);
        pos += n;
        expect(d.buffered).toBeLessThan(2 + 3000);
      }
      expect(got).toEqual(msgs);
    }
  });

  it('holds just the length prefix when only that has arrived', () => {
    const decoder = new FrameDecoder();
    const frames: Buffer[] = [];
    decoder.push(Buffer.from([0x00]), (f) => frames.push(f));
    expect(decoder.buffered).toBe(1);
    decoder.push(Buffer.from([0x01]), (f) => frames.push(f));
    expect(decoder.buffered).toBe(2);
    decoder.push(Buffer.from([0x42]), (f) => frames.push(f));
    expect(frames).toEqual([Buffer.from([0x42])]);
    expect(decoder.buffered).toBe(0);
  });
});
