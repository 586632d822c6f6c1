/** The coverage map tap uses (.taprc `coverage-map`): the source files a test file's coverage counts for; [] = every file it loads, null = none. */
export default function coverageMap (testFile: string): string[] | null
