import { createApp } from 'vue'
import { createPinia } from 'pinia'
import App from './App.vue'
import { loadConfig } from './config'
import { router } from './router'
import { useAuthStore } from './stores/auth'
import './style.css'

async function start(): Promise<void> {
  const app = createApp(App)
  app.use(createPinia())
  try {
    await loadConfig()
    await useAuthStore().restore()
  } catch (e) {
    // Without /config.json the shop cannot work; App shows the reason.
    app.provide('startError', (e as Error).message)
  }
  app.use(router)
  app.mount('#app')
}

void start()
