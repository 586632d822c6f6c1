import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { Redis } from 'ioredis'
import { clusterPort } from '../../bench/lib/redis-cluster.mjs'
import { redisUnavailableReason } from './redis.js'

/** One redis-server of a test cluster. */
export interface ClusterNode {
  host: '127.0.0.1'
  port: number
  /** PID while running, null once killed. */
  readonly pid: number | null
}

/** A real Redis Cluster of loopback redis-server processes (masters with replicas). */
export interface RedisCluster {
  nodes: ClusterNode[]
  /** `{ host, port }` of every node: ioredis Cluster's startup nodes. */
  startupNodes: Array<{ host: string, port: number }>
  /** Ports of the current masters (asked from a live node). */
  masters (): Promise<number[]>
  /** The port of the master serving `key`'s slot. */
  masterOf (key: string): Promise<number>
  /**
   * Kill a master with SIGKILL (a crash: no goodbye to the cluster) and wait
   * until one of its replicas has been promoted and the cluster is healthy again.
   * Resolves with the new master's port.
   */
  failover (port: number): Promise<number>
  stop (): Promise<void>
}

interface Tap {
  teardown (fn: () => unknown): void
  comment (...args: any[]): void
}

/** Why a cluster cannot start here (redis-server or redis-cli missing), or null. */
export function clusterUnavailableReason (): string | null {
  const reason = redisUnavailableReason()
  if (reason !== null) return reason
  return spawnSync('redis-cli', ['--version'], { stdio: 'ignore' }).status === 0 ? null : 'redis-cli is not installed (apt-get install redis-tools)'
}

async function info (port: number): Promise<Record<string, string>> {
  const r = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 500 })
  r.on('error', () => {})
  try {
    await r.connect()
    const text = await r.call('CLUSTER', 'INFO') as string
    return Object.fromEntries(text.split('\r\n').filter(Boolean).map((line) => line.split(':') as [string, string]))
  } catch {
    return {}
  } finally {
    r.disconnect()
  }
}

/**
 * Start a Redis Cluster for test `t` (stopped in teardown): `masters` masters
 * with `replicas` replicas each, `--cluster-node-timeout 1000` so a failover
 * takes a few seconds, nothing persisted. Resolves null after printing why
 * when redis-server or redis-cli is missing; under CI=true that fails instead.
 */
export async function startRedisCluster (t: Tap, { masters = 3, replicas = 1 } = {}): Promise<RedisCluster | null> {
  const reason = clusterUnavailableReason()
  if (reason !== null) {
    if (process.env.CI === 'true') throw new Error(`Redis Cluster tests must run in CI: ${reason}`)
    t.comment(`skipping Redis Cluster tests: ${reason}`)
    return null
  }
  const dir = mkdtempSync(join(tmpdir(), 'socketspec-cluster-'))
  const taken = new Set<number>()
  const procs = new Map<number, ChildProcess>()
  const count = masters * (1 + replicas)
  const ports: number[] = []
  for (let i = 0; i < count; i++) ports.push(await clusterPort(taken))

  const stopAll = async (): Promise<void> => {
    await Promise.all([...procs.values()].map(kill))
    procs.clear()
    rmSync(dir, { recursive: true, force: true })
  }
  t.teardown(stopAll)

  for (const port of ports) {
    procs.set(port, spawn('redis-server', [
      '--port', String(port), '--bind', '127.0.0.1', '--cluster-enabled', 'yes',
      '--cluster-config-file', join(dir, `nodes-${port}.conf`), '--cluster-node-timeout', '1000',
      // a replica fails over however long ago it last heard its master (a fresh cluster may not have synced yet)
      '--cluster-replica-validity-factor', '0',
      '--save', '', '--appendonly', 'no', '--dir', dir, '--loglevel', 'warning'
    ], { stdio: 'ignore' }))
  }
  for (const port of ports) {
    const deadline = Date.now() + 10_000
    while (Object.keys(await info(port)).length === 0) {
      if (Date.now() > deadline) throw new Error(`cluster node ${port} did not start`)
      await sleep(50)
    }
  }
  const created = spawnSync('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', String(replicas), '--cluster-yes'], { encoding: 'utf8', timeout: 60_000 })
  if (created.status !== 0) throw new Error(`redis-cli --cluster create failed: ${created.stdout.slice(-500)}${created.stderr.slice(-500)}`)
  await healthy(ports)

  const nodes: ClusterNode[] = ports.map((port) => ({
    host: '127.0.0.1',
    port,
    get pid () { return procs.get(port)?.pid ?? null }
  }))
  const live = (): number[] => ports.filter((p) => procs.has(p))

  const cluster: RedisCluster = {
    nodes,
    startupNodes: ports.map((port) => ({ host: '127.0.0.1', port })),
    async masters () {
      const slots = await ask(live(), 'CLUSTER', 'SLOTS') as Array<[number, number, [string, number]]>
      return [...new Set(slots.map((s) => s[2][1]))].sort((a, b) => a - b)
    },
    async masterOf (key) {
      const slot = await ask(live(), 'CLUSTER', 'KEYSLOT', key) as number
      const slots = await ask(live(), 'CLUSTER', 'SLOTS') as Array<[number, number, [string, number]]>
      const range = slots.find((s) => slot >= s[0] && slot <= s[1])
      if (range === undefined) throw new Error(`no master serves slot ${slot}`)
      return range[2][1]
    },
    async failover (port) {
      const proc = procs.get(port)
      if (proc === undefined) throw new Error(`node ${port} is not running`)
      const before = await cluster.masters()
      if (!before.includes(port)) throw new Error(`node ${port} is not a master`)
      procs.delete(port)
      proc.kill('SIGKILL')
      await new Promise((resolve) => proc.once('exit', resolve))
      const deadline = Date.now() + 30_000
      for (;;) {
        const now = await cluster.masters().catch((): number[] => [])
        const promoted = now.find((p) => !before.includes(p))
        if (promoted !== undefined && !now.includes(port) && await healthy(live(), 0).then(() => true, () => false)) return promoted
        if (Date.now() > deadline) throw new Error(`no replica of ${port} was promoted within 30 s`)
        await sleep(100)
      }
    },
    stop: stopAll
  }
  return cluster
}

/** Wait until every node in `ports` reports cluster_state:ok with all slots assigned. */
async function healthy (ports: number[], ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms
  for (;;) {
    const all = await Promise.all(ports.map(info))
    if (all.every((i) => i.cluster_state === 'ok' && i.cluster_slots_ok === '16384')) return
    if (Date.now() > deadline) throw new Error(`the cluster is not healthy: ${JSON.stringify(all.map((i) => i.cluster_state))}`)
    await sleep(100)
  }
}

/** Send one command to the first node of `ports` that answers. */
async function ask (ports: number[], ...args: [string, ...Array<string | number>]): Promise<unknown> {
  let last: unknown = null
  for (const port of ports) {
    const r = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 500 })
    r.on('error', () => {})
    try {
      await r.connect()
      return await r.call(...args)
    } catch (err) {
      last = err
    } finally {
      r.disconnect()
    }
  }
  throw new Error(`no cluster node answered ${args.join(' ')}: ${String(last)}`)
}

function kill (child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => {
    child.once('exit', () => resolve())
    child.kill('SIGKILL')
  })
}
