// Runtime configuration, served by the storefront at /config.json so that
// one build runs against any api and Directus.
export interface RuntimeConfig {
  apiURL: string
  directusURL: string
  version: string
}

let current: RuntimeConfig = { apiURL: '', directusURL: '', version: 'dev' }

export async function loadConfig(fetcher: typeof fetch = fetch): Promise<RuntimeConfig> {
  const res = await fetcher('/config.json', { cache: 'no-cache' })
  if (!res.ok) throw new Error(`/config.json answered ${res.status}`)
  current = (await res.json()) as RuntimeConfig
  return current
}

export function config(): RuntimeConfig {
  return current
}

export function setConfig(c: RuntimeConfig): void {
  current = c
}
