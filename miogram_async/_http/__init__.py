"""
The one request path: a client's options, the request value, the session that sends it.

`options` (`ClientOptions`), `request` (the value a call hands down), `session` (pool, secret,
retry loop, the send gate and its drain, one attempt, the HTTP exchange), `transport` and
`sharded` (the pooled HTTP client), `retry`, `ratelimit`, and `secret_change` (the one action whose
reply changes the client). It stands on `_base` and `_gates`.
"""
