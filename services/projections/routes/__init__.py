"""The read API, one router per resource; `services.projections.api` assembles them."""
