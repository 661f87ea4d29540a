declare namespace Cloudflare {
  interface Env extends import('../../worker/env.js').Env {}
}
