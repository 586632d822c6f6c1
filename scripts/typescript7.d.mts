/** TypeScript 7's Node launcher (`tsc`): it execs the native compiler of this platform. */
export declare const TSC7: string
/** The native compiler itself, for a caller that must not start it through Node. */
export declare function tsc7Executable (): Promise<string>
