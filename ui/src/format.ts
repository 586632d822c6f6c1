/** `13:04:05.123`, local time. */
export function clockTime (ts: number): string {
  const d = new Date(ts)
  const pad = (n: number, w = 2) => String(n).padStart(w, '0')
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`
}

/** Pretty-printed JSON of a frame's text, or the text itself when it is not JSON. */
export function prettyText (text: string): string {
  try { return JSON.stringify(JSON.parse(text), null, 2) } catch { return text }
}

/** A DOM id fragment for any event or tag name. */
export const domId = (s: string): string => s.replace(/[^A-Za-z0-9_-]/g, '_')

/** DOM id of the card of a server → client event. */
export const serverCardId = (event: string): string => `server-event-${domId(event)}`
