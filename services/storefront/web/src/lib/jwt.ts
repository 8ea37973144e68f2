// Reads the claims of our own access token (no verification: the api does
// that); used only to schedule the refresh and to show the role.
export interface Claims {
  sub?: string
  exp?: number
  role?: string
}

export function claims(token: string): Claims {
  try {
    const part = token.split('.')[1] ?? ''
    const b64 = part.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(part.length / 4) * 4, '=')
    return JSON.parse(atob(b64)) as Claims
  } catch {
    return {}
  }
}
