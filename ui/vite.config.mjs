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
    target: 'es2020',
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
