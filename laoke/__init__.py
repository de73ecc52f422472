"""laoke's runtime: settings, the embedded NATS server, streams, stores, consumers and the CLI.

Services import from here and from `events`, never from each other.
"""
