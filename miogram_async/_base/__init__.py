"""
The ground floor: what the service is and the rules read from it, as pure values and functions.

The error tree and the judgement of outcomes (`errors`, `outcomes`), the action table (`actions`),
the wire format (`wire`), the result models (`models`, `peers`), input checks (`validation`,
`checks`), and small shared helpers with no I/O of the service (`scrub`, `log`, `pg`). Nothing here
imports from another part of the package.
"""
