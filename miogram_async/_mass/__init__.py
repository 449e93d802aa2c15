"""
The Mass machinery: many numbers through the one request path.

`options` (`MassOptions`, the ``**fanout`` keywords parsed once), `result` (`Outcome`,
`MassResult`, `MassProgress`), `fanout` (chunks, workers, agent slots, merging) and `send` (one
Mass action: the agents, each chunk's request). It stands on `_base`, `_gates` and `_http`.
"""
