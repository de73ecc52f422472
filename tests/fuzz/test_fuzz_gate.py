"""The parser alone refuses every hostile message the fuzz strategies make, with a reason.

Fast and shrinking (no I/O): if a strategy ever makes a message the contract accepts, this
is where hypothesis shows the smallest one. The end-to-end tests rely on this property.
"""

from __future__ import annotations

import pytest
from fuzz_strategies import NOW, STRATEGIES, Hostile
from hypothesis import HealthCheck, given, settings

from events import REASONS, Rejected, parse_inbound


@pytest.mark.parametrize("kind", sorted(STRATEGIES))
def test_the_parser_refuses_every_hostile_message_with_a_known_reason(kind: str) -> None:
    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    @given(STRATEGIES[kind])
    def check(hostile: Hostile) -> None:
        with pytest.raises(Rejected) as refused:
            parse_inbound(hostile.body, hostile.subject, now=NOW)
        assert refused.value.reason in REASONS
        assert refused.value.message

    check()
