// A local Redis Cluster for the harness (issue 14, redis-cluster-cross): three
// masters and three replicas of redis-server on loopback, made with
// `redis-cli --cluster create` as test/helpers/redis-cluster.ts does (which
// takes its ports from here), every server pinned like the single Redis of the
// other scenarios.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { hasBinary, start } from './proc.mjs'

/** Why a cluster cannot start here, or null. */
export function clusterUnavailableReason () {
  if (!hasBinary('redis-server')) return 'redis-server not installed'
  if (!hasBinary('redis-cli')) return 'redis-cli not installed (redis-tools)'
  return null
}

/** Whether `port` is free on loopback. */
export function free (port) {
  return new Promise((resolve) => {
    const server = createServer()
    server.once('error', () => resolve(false))
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)))
  })
}

/** A loopback port whose cluster bus port (port + 10000) is free too. */
export async function clusterPort (taken) {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 25_000)
    if (taken.has(port) || taken.has(port + 10_000)) continue
    if (await free(port) && await free(port + 10_000)) {
      taken.add(port)
      taken.add(port + 10_000)
      return port
    }
  }
  throw new Error('no free port pair for a cluster node')
}

function clusterInfo (port) {
  const r = spawnSync('redis-cli', ['-h', '127.0.0.1', '-p', String(port), 'CLUSTER', 'INFO'], { encoding: 'utf8', timeout: 2000 })
  return r.status === 0 ? r.stdout : ''
}

/**
 * Start the cluster. Resolves `{ nodes: 'host:port,…', stop() }` (`nodes`:
 * what BENCH_REDIS_CLUSTER carries to the servers) once every node reports
 * `cluster_state:ok`.
 */
export async function startRedisCluster ({ pin, masters = 3, replicas = 1 }) {
  const dir = mkdtempSync(join(tmpdir(), 'socketspec-bench-cluster-'))
  const taken = new Set()
  const ports = []
  for (let i = 0; i < masters * (1 + replicas); i++) ports.push(await clusterPort(taken))
  const procs = ports.map((port) => start('redis-server', [
    '--port', String(port), '--bind', '127.0.0.1', '--cluster-enabled', 'yes',
    '--cluster-config-file', join(dir, `nodes-${port}.conf`), '--cluster-node-timeout', '2000',
    '--save', '', '--appendonly', 'no', '--dir', dir
  ], { cpu: 0, pin, ipc: false, label: `redis-server cluster :${port}` }))
  const stop = async () => {
    await Promise.all(procs.map((p) => p.stop()))
    rmSync(dir, { recursive: true, force: true })
  }
  try {
    const until = Date.now() + 10_000
    for (const p of procs) {
      while (!/Ready to accept connections/.test(p.stdout)) {
        if (p.exitCode !== null || Date.now() > until) throw new Error(`redis-server did not start: ${p.tail() || p.stdout.slice(-300)}`)
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
    }
    const created = spawnSync('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', String(replicas), '--cluster-yes'],
      { encoding: 'utf8', timeout: 60_000 })
    if (created.status !== 0) throw new Error(`redis-cli --cluster create failed: ${(created.stdout + created.stderr).slice(-300)}`)
    const healthy = Date.now() + 30_000
    while (!ports.every((port) => /cluster_state:ok/.test(clusterInfo(port)))) {
      if (Date.now() > healthy) throw new Error('the Redis Cluster did not become healthy within 30 s')
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  } catch (err) {
    await stop()
    throw err
  }
  return { nodes: ports.map((p) => `127.0.0.1:${p}`).join(','), stop }
}
