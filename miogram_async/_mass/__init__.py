"""
The Mass machinery: many numbers through the one request path.

`options` (`MassOptions`, the ``**fanout`` keywords parsed once), `result` (`Outcome`,
`MassResult`, `MassProgress`), `fanout` (`fan_out`: the producer and bounded workers) with what it
is made of: `inputs` (the input read into batches), `chunks` (chunks cut from them), `agents` (the
agent rotation), `flights` (admissions at the gate, the cancellation grace), `tally` (outcomes
judged and merged); `send` and `singles` (one Mass action: the agents, each chunk's request). It
stands on `_base`, `_gates` and `_http`.
"""
