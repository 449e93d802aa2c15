"""
Send gates: one state-changing request in flight at the service (docs/service.md E33).

`base` has the `SendGate` protocol and the in-process `LocalSendGate`; `slots` what the
cross-process gates share; `file` the gate of one host (flock) and `postgres` the gate of any
machines (advisory locks); `stack` two gates one after the other; `default` the gate a client
takes when it names none (the machine-wide one of its service) and the gates a text names
(``MIOGRAM_SEND_GATE``). They stand on `_base` only.
"""
