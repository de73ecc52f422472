"""How each recorded event changes the read models: one module per read model.

`services.projections.projector` is the entry point (`apply`, `prefetch`, the table of
handlers); each module here holds one read model's handlers, one function per event type,
typed with its event class. They read and write rows through `Tx` only (no clock, no I/O
beyond the transaction), so replaying the stream gives the same tables.
"""
