export declare const JWT_SECRET: string
export declare function makeTokens (count: number, secret?: string): string[]
