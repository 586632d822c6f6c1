// Small helpers shared by the workloads.

/** Hooks a workload calls around its measured window; the harness fills them in over IPC. */
export const noHooks = {
  windowStart: async () => {},
  windowEnd: async () => null,
  loaded: async () => null
}

/** Wait `ms`, returning early once `stop()` is true (checked every 5 ms). */
export function sleep (ms, stop = () => false) {
  return new Promise((resolve) => {
    const end = performance.now() + ms
    const tick = () => {
      if (stop() || performance.now() >= end) resolve()
      else setTimeout(tick, Math.min(5, Math.max(0, end - performance.now())))
    }
    tick()
  })
}

/** Wait until `cond()` holds or `timeoutMs` passed; resolves to whether it held. */
export async function waitUntil (cond, timeoutMs) {
  await sleep(timeoutMs, cond)
  return cond()
}
