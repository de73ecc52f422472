"""laoke's services. Each imports `events` and `laoke`, never another service."""
