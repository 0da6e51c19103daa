"""The compensation rule of part F of the Blitar decree, as a pure event-time state machine.

Read in the decree's order: `policy` (the per-office values), `clock` (event time), `decide`
(clauses 2a-2g at the deadline), `priority` (clause 3), `claims` (clause 2d), then `office`,
which ties them into one state machine per office, and `intake`, which turns bytes into events.
"""
