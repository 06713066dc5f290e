"""What a replay says when it goes wrong: mismatches first, each once, and what was
never replayed folded by kind, each with what it was waiting for.

Rules this module keeps:
- The same mismatch seen again (a client that retries, a redelivery after the channel
  closed) is one entry with a count, not a screenful.
- Never-replayed items of one kind and place (52 outside events to one queue) are one
  line with a count, the first one's place, and the reason they waited: the recorded
  publish, bind or consume that never came live.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from amqpmock.replay._methods import Step, explain_miss

if TYPE_CHECKING:
    from amqpmock.replay._engine import ReplayEngine


@dataclass
class StepMismatch:
    """A live client method (not a publish) that the recording does not have."""

    live: Step
    candidates: list[tuple[Step, list[str]]]
    used_up: list[Step] = field(default_factory=list)
    recorded: int = 0

    def explain(self) -> str:
        return explain_miss(self.live, self.candidates, self.used_up, self.recorded)


def fold_mismatches(mismatches: list[Any]) -> list[str]:
    """Mismatches as texts, repeats folded; settlements of several messages that differ
    the same way (three nacks where the recording acked) are one entry too."""
    groups: dict[Any, list[Any]] = {}
    for mismatch in mismatches:
        key: Any = mismatch.explain()
        if isinstance(mismatch, StepMismatch) and "message" in mismatch.live.fields:
            live = mismatch.live
            message = live.fields["message"]
            nearest = mismatch.candidates[0][0].method if mismatch.candidates else ""
            key = (live.method, live.fields.get("requeue"), message.exchange, message.routing_key)
            key += (nearest,)
        groups.setdefault(key, []).append(mismatch)
    texts = []
    for key, group in groups.items():
        if isinstance(key, str):
            texts.extend([key] * len(group))
            continue
        text = group[0].explain()
        if len(group) > 1:
            first, _, rest = text.partition("\n")
            text = f"{first}\n  and {len(group) - 1} more message(s) settled the same way"
            text += f"\n{rest}" if rest else ""
        texts.append(text)
    return fold(texts)


def fold(texts: list[str]) -> list[str]:
    """Repeats of one text become one, with how many times it happened."""
    counts: dict[str, int] = {}
    for text in texts:
        counts[text] = counts.get(text, 0) + 1
    out = []
    for text, count in counts.items():
        if count > 1:
            first, _, rest = text.partition("\n")
            text = f"{first} (x{count})" + (f"\n{rest}" if rest else "")
        out.append(text)
    return out


def _times(count: int, one: str, many: str) -> str:
    return f"{count} {many}" if count > 1 else f"1 {one}"


def unused_lines(engine: ReplayEngine) -> list[str]:
    out: list[str] = []
    groups: dict[tuple[Any, ...], list[str]] = {}
    if engine.compare_publishes:
        for pub in engine.plan.publishes:
            if not pub.replayed:
                rec = pub.record
                key = ("publish", rec.exchange, rec.routing_key, rec.describe().split(": ", 1)[-1])
                groups.setdefault(key, []).append(f"connection {pub.connection} #{pub.index}")
    for step in engine.steps:
        if not step.played:
            message = step.fields.get("message")
            if message is not None:  # settlements: by how and where, not per body
                how = step.method + (
                    f"(requeue={step.fields['requeue']})" if "requeue" in step.fields else ""
                )
                what = (
                    f"{how} of messages exchange={message.exchange!r} "
                    f"routing_key={message.routing_key!r}"
                )
            else:
                what = step.describe()
            groups.setdefault(("step", what), []).append(step.where())
    for key, places in groups.items():
        if key[0] == "publish":
            what = f"exchange={key[1]!r} routing_key={key[2]!r}"
            count = len(places)
            body = key[3].split(" body=", 1)[-1]
            out.append(
                f"publish never replayed: {what} body={body}"
                + (f" (x{count}, first at {places[0]})" if count > 1 else f" ({places[0]})")
            )
        else:
            count = len(places)
            out.append(
                f"recorded {key[1]} never replayed"
                + (f" (x{count}, first at {places[0]})" if count > 1 else f" ({places[0]})")
            )
    out.extend(_outside_lines(engine))
    return out


def _outside_lines(engine: ReplayEngine) -> list[str]:
    event_of: dict[int, Any] = {}
    for event in engine.events:
        for delivery in event.deliveries:
            event_of[id(delivery)] = event
    # folded by what the first of them waited for: how many more things it
    # waited for besides depends on when the recording saw it arrive
    groups: dict[tuple[str, str, str], list[tuple[Any, int]]] = {}
    for messages in engine.plan.unsolicited.values():
        for message in messages:
            if message.injected:
                continue
            event = event_of.get(id(message))
            first, more = "", 0
            if event is not None:
                waiting = engine._progress.waiting(event, engine.events.timeline, engine._same)
                if waiting:
                    first, more = waiting[0].describe(), len(waiting) - 1
            groups.setdefault((message.queue, message.routing_key, first), []).append(
                (message, more)
            )
    out = []
    for (queue, routing_key, first), entries in groups.items():
        messages = [message for message, _ in entries]
        head = messages[0]
        bodies = {m.body for m in messages}
        count = len(messages)
        detail = f", {len(bodies)} different bodies" if count > 1 and len(bodies) > 1 else ""
        reason = ""
        if first:
            low, high = min(m for _, m in entries), max(m for _, m in entries)
            span = f"{low}" if low == high else f"{low} to {high}"
            besides = f" and {span} more" if high else ""
            reason = f": it waited for {first}{besides}, which never happened live"
        out.append(
            f"{_times(count, 'outside delivery', 'outside deliveries')} never injected: "
            f"queue={queue!r} routing_key={routing_key!r} "
            f"(connection {head.connection} #{head.index}"
            + (f" first{detail}" if count > 1 else "")
            + f"){reason}"
        )
    return out
