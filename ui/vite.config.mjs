import { dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vite'

const root = dirname(fileURLToPath(import.meta.url))
// `npx vite ui` serves the UI in development against an app running on :3000.
const target = process.env.SOCKETSPEC_DEV_TARGET ?? 'http://127.0.0.1:3000'

export default defineConfig({
  root,
  base: './',
  logLevel: 'warn',
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // The client SDK's #private members stay native (es2020 would down-level them to WeakMaps): the same target as dist/client.
    target: 'es2022',
    cssCodeSplit: false,
    modulePreload: { polyfill: false },
    reportCompressedSize: false
  },
  server: {
    proxy: {
      '/asyncapi.json': { target, rewrite: () => '/socket-docs/asyncapi.json' },
      '/ws': { target: target.replace(/^http/, 'ws'), ws: true }
    }
  }
})
