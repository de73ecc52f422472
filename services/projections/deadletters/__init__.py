"""The dead-letter read model: RETENTION_DLQ's letters by dealership, and their re-drives.

RETENTION_DLQ's projection, as the rest of the read store is RETENTION's: projections
follows the stream with its own durable consumer (`projections-dlq`, per partition
`projections-dlq-p<k>`) and keeps it, with its position, in a store of its own
(`deadletters.sqlite3`, or the PostgreSQL schema `deadletters`): `laoke rebuild` and `laoke
verify`, which replay RETENTION, leave it alone, and a store deleted is filled again from
the stream. `store.py` applies the letters, `queries.py` lists them (GET /v1/dead-letters,
`laoke dlq`), `models.py` is the answer; docs/projections.md "Dead letters".
"""
