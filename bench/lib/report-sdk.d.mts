export interface PairedRatio { median: number | null, min: number, max: number, n: number }
export interface Issue12Row {
  scenario: string
  rate: number | null
  ratePaired: PairedRatio | null
  clientCpu: number | null
  clientCpuPaired: PairedRatio | null
  serverCpu: number | null
  baseRate: number | null
  baseClientCpu: number | null
  baseClientCpuPaired: PairedRatio | null
}
export interface Issue12Target { target: string, value: number | null, shown: string, verdict: string }
export declare function sdkTable (sc: { id: string, title: string }, rows: any[]): string
export declare function issue12 (summary: any[], runs?: any[]): { rows: Issue12Row[], targets: Issue12Target[] }
export declare function issue12Markdown (summary: any[], runs?: any[]): string[]
export interface UncontendedRow { scenario: string, peer: string, n: number, of: number, rate: number | null, clientCpuUsPerOp: number | null, cpuUsPerOp: number | null }
export declare function uncontended (runs: any[]): UncontendedRow[]
