// The admin routes' JSON shapes, shared by the server (lib/admin) and the
// docs UI's Admin tab (ui/src/admin-store.ts): no imports, types only.

/** One connection as the admin view shows it. */
export interface AdminConnection {
  id: string
  /** Id of the node (process) holding it. */
  node: string
  userId: string | null
  role: string | null
  rooms: string[]
  /** Epoch ms of the upgrade. */
  connectedAt: number
  /** Epoch ms of the last application event. */
  lastActive: number
  eventsIn: number
  eventsOut: number
}

/** A room with its members on every node. */
export interface AdminRoom {
  name: string
  static: boolean
  memberCount: number
  members: string[]
}

/** Events per second in and out of one event name, with the totals. */
export interface EventRate { event: string, inPerSec: number, outPerSec: number, totalIn: number, totalOut: number }
