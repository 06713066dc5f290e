"""The connection's states and the legal changes between them, as data (as h11 keeps
its rules); which methods each state accepts is ``protocol.CHANNEL0_METHODS``.

Private to ``amqpmock.wire``: ``protocol`` re-exports the public names.
"""

from __future__ import annotations

import enum


class State(enum.Enum):
    """Connection states; values are RabbitMQ's names where it has one."""

    HANDSHAKE = "handshake"  # waiting for the protocol header
    STARTING = "starting"  # Start sent, waiting for StartOk
    SECURING = "securing"  # Secure sent, waiting for SecureOk
    TUNING = "tuning"  # Tune sent, waiting for TuneOk
    OPENING = "opening"  # waiting for Connection.Open
    RUNNING = "running"
    CLOSED = "closed"  # Connection.Close sent; only CloseOk is looked at
    LINGERING = "lingering"  # nothing is read; the socket closes at a deadline
    DONE = "done"  # the transport must close (after writing what is pending)


HANDSHAKE_STATES = frozenset({State.STARTING, State.SECURING, State.TUNING, State.OPENING})
# Where an error closes the socket without a word (RabbitMQ's ?SILENT_CLOSE_DELAY): before
# the client has sent TuneOk. From then on (OPENING, RUNNING) it gets Connection.Close.
SILENT_STATES = frozenset({State.STARTING, State.SECURING, State.TUNING})

# Legal state changes. Anything else is a bug in the connection (asserted).
TRANSITIONS: dict[State, frozenset[State]] = {
    State.HANDSHAKE: frozenset({State.STARTING, State.DONE}),
    State.STARTING: frozenset({State.SECURING, State.TUNING, State.CLOSED, State.LINGERING}),
    State.SECURING: frozenset({State.SECURING, State.TUNING, State.CLOSED, State.LINGERING}),
    State.TUNING: frozenset({State.OPENING, State.LINGERING}),
    State.OPENING: frozenset({State.RUNNING, State.CLOSED, State.LINGERING}),
    State.RUNNING: frozenset({State.CLOSED, State.LINGERING}),
    State.CLOSED: frozenset({State.LINGERING}),
    State.LINGERING: frozenset(),
    State.DONE: frozenset(),
}
# Any state can end at once: the peer went away, a heartbeat was missed, and so on.
for _state in State:
    if _state is not State.DONE:
        TRANSITIONS[_state] = TRANSITIONS[_state] | {State.DONE}
