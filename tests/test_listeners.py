"""core.listeners: every listener is called in order, a failing one is logged and the rest run,
and removing (twice, or while being called) is harmless."""

import logging

from agentdeck.core.listeners import Listeners


def test_every_listener_runs_in_order_and_a_failing_one_is_logged(caplog):
    calls: list[str] = []
    changed: Listeners[[str]] = Listeners("the test")

    def broken(what: str) -> None:
        raise RuntimeError("broken " + what)

    changed.add(lambda what: calls.append("a " + what))
    changed.add(broken)
    changed.add(lambda what: calls.append("b " + what))
    with caplog.at_level(logging.ERROR):
        changed("x")
    assert calls == ["a x", "b x"]
    assert "a listener of the test failed" in caplog.text and "broken x" in caplog.text


def test_a_listener_removes_itself_while_called_and_removing_twice_is_harmless():
    calls: list[int] = []
    changed: Listeners[[]] = Listeners("the test")
    removes = []

    def once() -> None:
        calls.append(1)
        removes[0]()

    removes.append(changed.add(once))
    changed.add(lambda: calls.append(2))
    changed()
    changed()
    removes[0]()
    assert calls == [1, 2, 2] and len(changed) == 1
