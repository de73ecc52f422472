"""The workshop queue: repair orders in the dealership's dispatch priority, and scope changes
the customer approves before work goes on (docs/domain.md "Service reception", seed 004)."""
