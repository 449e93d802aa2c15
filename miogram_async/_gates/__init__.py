"""
Send gates: one state-changing request in flight at the service (docs/service.md E33).

`base` has the `SendGate` protocol and the in-process `LocalSendGate`; `slots` what the
cross-process gates share; `file` the gate of one host (flock) and `postgres` the gate of any
machines (advisory locks). They stand on `_base` only.
"""
