import { defineConfig } from 'vite'
import vue from '@vitejs/plugin-vue'
import tailwindcss from '@tailwindcss/vite'

// The build goes to dist/, which the Go package web embeds. The dev
// server proxies /config.json to a running storefront (make dev) so that
// `npm run dev` talks to the same api and Directus.
export default defineConfig({
  plugins: [vue(), tailwindcss()],
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: false, target: 'es2022' },
  server: { port: 5173, proxy: { '/config.json': 'http://127.0.0.1:8088' } },
  test: { environment: 'happy-dom', include: ['src/**/*.test.ts'] },
})
