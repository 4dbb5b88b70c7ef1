"""Whether a gateway talks to the simulator: known from ``offline()``, or learnt from a reply.

Simulated spend never mixes with real spend: each request record asks this when its
request ends, once the reply has said who answered.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx

from alltoken_agent.gateway._offline import Reply, from_simulator

if TYPE_CHECKING:
    from alltoken_agent.simulator import SimulatorServer


class SimulatorAware:
    """The part of ``Gateway`` that knows whether the simulator answers it."""

    _simulator: SimulatorServer | None
    """The in-process simulator started by ``Gateway.offline()``, else None."""
    _simulated: bool

    @property
    def offline_simulator(self) -> SimulatorServer | None:
        """The in-process simulator when this gateway was made by ``offline()``."""
        return self._simulator

    @property
    def simulated(self) -> bool:
        """Whether this gateway talks to the simulator, not to a real gateway.

        True from the start for ``offline()``; for any other gateway from the first
        reply labelled by a simulator on this machine (``alltoken-agent simulator``
        reached by base URL). Its requests' records say so, and ledgers keep them
        apart from real spend.
        """
        return self._simulated

    def note_reply(self, response: Reply) -> bool:
        """Note who answered ``response``; return whether the simulator did.

        Every reply to this gateway's own requests passes here. Call it for a reply
        got another way (an official SDK client's raw response), so ``simulated``
        stays right: a simulator on this machine labels every reply.
        """
        if from_simulator(response):
            self._simulated = True
            return True
        return False

    async def _note_response(self, response: httpx.Response) -> None:
        # Decided per reply, not at construction: the same object is then right for
        # the records of every request made after the first answer.
        if not self._simulated:
            self.note_reply(response)

    def _is_simulated(self) -> bool:
        return self._simulated
