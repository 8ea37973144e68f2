// Calls to the shop api with the session's bearer token; a 401 gets one
// refresh and one retry before it reaches the caller.
import { config } from '../config'
import { ApiError, request, type Request, type Response } from '../lib/http'
import { useAuthStore } from '../stores/auth'

export function useApi() {
  const auth = useAuthStore()

  async function call<T>(path: string, req: Request = {}): Promise<Response<T>> {
    const send = async () =>
      request<T>(config().apiURL + path, { ...req, headers: { ...req.headers, Authorization: `Bearer ${await auth.token()}` } })
    try {
      return await send()
    } catch (e) {
      if (e instanceof ApiError && e.status === 401 && (await auth.refresh())) return send()
      throw e
    }
  }

  return { call }
}
