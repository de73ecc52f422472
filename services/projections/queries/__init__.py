"""Reading the models: rows to `*Public` answers, one module per resource (as `routes/`).

Each query is O(its result) on indexes.
"""
