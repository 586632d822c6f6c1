/** Whether `port` is free on loopback. */
export declare function free (port: number): Promise<boolean>
/** A loopback port whose cluster bus port (port + 10000) is free too; both are added to `taken`. */
export declare function clusterPort (taken: Set<number>): Promise<number>
/** Why a cluster cannot start here, or null. */
export declare function clusterUnavailableReason (): string | null
/** Start the cluster; `nodes` is `host:port,…`. */
export declare function startRedisCluster (options: { pin: boolean, masters?: number, replicas?: number }): Promise<{ nodes: string, stop (): Promise<void> }>
