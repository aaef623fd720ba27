"""`tracker.times.wait_set`: a timed wait on an event that never swallows a cancellation."""

import asyncio

import pytest

from tracker.times import wait_set


async def test_true_when_set_false_after_the_timeout():
    event = asyncio.Event()
    assert await wait_set(event, 0.01) is False
    event.set()
    assert await wait_set(event, 10) is True


async def test_a_cancel_arriving_as_the_event_is_set_still_cancels():
    # The race asyncio.wait_for loses on Python 3.11: the event is set and the waiting task
    # cancelled in the same turn of the loop; the task must end cancelled, not carry on.
    event = asyncio.Event()
    carried_on = []

    async def waiter() -> None:
        await wait_set(event, 10)
        carried_on.append(True)

    task = asyncio.create_task(waiter())
    await asyncio.sleep(0)  # the waiter is now inside wait_set
    event.set()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert carried_on == []
