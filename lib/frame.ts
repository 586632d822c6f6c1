/**
 * A text frame serialized once and encoded once for many receivers: server
 * frames are unmasked, so the same bytes (RFC 6455 header + UTF-8 payload)
 * go to every member of a room. Encoded lazily, on the first socket that can
 * take raw bytes.
 */
export class PreparedFrame {
  private encoded: Buffer | null = null

  /**
   * @param room with recovery, the room of a recorded broadcast
   * @param offset and its offset (a resuming connection de-duplicates by it)
   */
  constructor (readonly text: string, readonly room?: string, readonly offset?: number) {}

  /** Header and payload of a final, unmasked text frame, in one buffer. */
  get bytes (): Buffer {
    if (this.encoded === null) this.encoded = encodeTextFrame(this.text)
    return this.encoded
  }
}

/** Encode `text` as one final, unmasked WebSocket text frame (RFC 6455 §5.2). */
export function encodeTextFrame (text: string): Buffer {
  const len = Buffer.byteLength(text)
  const head = len < 126 ? 2 : len < 65536 ? 4 : 10
  const buf = Buffer.allocUnsafe(head + len)
  buf[0] = 0x81
  if (len < 126) {
    buf[1] = len
  } else if (len < 65536) {
    buf[1] = 126
    buf.writeUInt16BE(len, 2)
  } else {
    buf[1] = 127
    buf.writeUInt32BE(Math.floor(len / 0x100000000), 2)
    buf.writeUInt32BE(len >>> 0, 6)
  }
  buf.write(text, head, 'utf8')
  return buf
}
