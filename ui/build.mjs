// Builds the docs SPA into ui/dist (`npm run build:ui`).
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'vite'

const root = dirname(fileURLToPath(import.meta.url))
await build({ configFile: join(root, 'vite.config.mjs'), root })
console.log('docs UI built into ui/dist')
