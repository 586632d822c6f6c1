// Whole-machine CPU accounting from /proc/stat, to tell when something other
// than the server and the load generator was using the cores during a window.
import { readFileSync } from 'node:fs'

/** Per-CPU jiffies `{ busy, steal, total }` keyed by 'cpu0', 'cpu1'...; null where /proc/stat is absent. */
export function cpuTimes () {
  let text
  try {
    text = readFileSync('/proc/stat', 'utf8')
  } catch {
    return null
  }
  const out = {}
  for (const line of text.split('\n')) {
    const m = /^(cpu\d+)\s+(.*)$/.exec(line)
    if (m === null) continue
    const [user, nice, system, idle, iowait, irq, softirq, steal = 0] = m[2].split(/\s+/).map(Number)
    out[m[1]] = { busy: user + nice + system + irq + softirq + steal, steal, total: user + nice + system + idle + iowait + irq + softirq + steal }
  }
  return out
}

/** Busy and steal percentages of each CPU between two `cpuTimes()` snapshots, and their sum. */
export function cpuBusy (a, b) {
  if (a === null || b === null) return null
  const perCpu = {}
  let busy = 0
  let steal = 0
  for (const cpu of Object.keys(b)) {
    if (a[cpu] === undefined) continue
    const total = b[cpu].total - a[cpu].total
    if (total <= 0) continue
    perCpu[cpu] = (100 * (b[cpu].busy - a[cpu].busy)) / total
    busy += perCpu[cpu]
    steal += (100 * (b[cpu].steal - a[cpu].steal)) / total
  }
  return { perCpu, busyPct: busy, stealPct: steal }
}
