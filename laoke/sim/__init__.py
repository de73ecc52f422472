"""The dealership simulator: a seeded, reproducible dealership group as inbound events.

`simulate(SimConfig(...), now=...)` returns the events in publish order with the `Truth`
about them; `publish` sends them to NATS; `load_demo` publishes the demo dealership.
See docs/simulator.md.
"""

from laoke.sim.complaints import complaint_callback_id
from laoke.sim.config import SimConfig, window
from laoke.sim.generator import SimEvent, Simulation, simulate
from laoke.sim.publish import DEMO_DEALERSHIP, demo_simulation, load_demo, publish, write_ndjson
from laoke.sim.rates import SimRates
from laoke.sim.truth import Truth

__all__ = [
    "DEMO_DEALERSHIP",
    "SimConfig",
    "SimEvent",
    "SimRates",
    "Simulation",
    "Truth",
    "complaint_callback_id",
    "demo_simulation",
    "load_demo",
    "publish",
    "simulate",
    "window",
    "write_ndjson",
]
