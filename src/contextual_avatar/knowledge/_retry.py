"""How long the background writer waits before retrying a failed store or outbox write.

Kept apart from the writer so the policy can be read, tested and tuned on its own: equal
jitter keeps many avatars that lost one store from retrying in lockstep, and the cap keeps
a long outage from stretching the wait past what an operator expects.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from contextual_avatar.knowledge._config import (
    DEFAULT_RETRY_INITIAL_S,
    DEFAULT_RETRY_MAX_S,
    DEFAULT_RETRY_MULTIPLIER,
)

__all__ = ["RetryPolicy", "backoff_delay"]


def backoff_delay(
    attempt: int,
    *,
    initial_s: float,
    max_s: float,
    multiplier: float,
    rand: Callable[[], float] = random.random,
) -> float:
    """Exponential back-off with equal jitter: half the capped delay, plus up to half again.

    Args:
        attempt: Failures so far, from 0.
        initial_s: Delay after the first failure (before jitter).
        max_s: Cap on the delay.
        multiplier: Growth per attempt.
        rand: A source of floats in ``[0, 1)`` (injected for tests).

    Returns:
        Seconds to wait, in ``[cap / 2, cap]``, where
        ``cap = min(max_s, initial_s * multiplier**attempt)``.
    """
    try:
        grown = initial_s * multiplier**attempt
    except OverflowError:  # a long outage: the cap has long been reached
        grown = math.inf
    cap = min(max_s, grown)
    return cap / 2 + cap / 2 * rand()


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """The writer's back-off settings, bound together so one call gives the next delay.

    Parameters:
        initial_s: Delay after the first failure (before jitter).
        max_s: Cap on the delay.
        multiplier: Growth per attempt.
        rand: Jitter source in ``[0, 1)`` (injected for tests).
    """

    initial_s: float = DEFAULT_RETRY_INITIAL_S
    max_s: float = DEFAULT_RETRY_MAX_S
    multiplier: float = DEFAULT_RETRY_MULTIPLIER
    rand: Callable[[], float] = field(default=random.random, compare=False)

    def delay(self, attempt: int) -> float:
        """Seconds to wait after ``attempt`` failures so far (see :func:`backoff_delay`)."""
        return backoff_delay(
            attempt,
            initial_s=self.initial_s,
            max_s=self.max_s,
            multiplier=self.multiplier,
            rand=self.rand,
        )
