"""An ACP agent's conversation travels and is laid out incrementally: what changed after the
version a pane holds (`changes`) is only the items changed since, merged into the pane's copy
(`merge`) it gives the same conversation; a conversation anew (the agent restarted) is not
merged into the old one; the page prints again only the items that changed."""

from __future__ import annotations

from agentdeck.core.agents.acp.conversation import Conversation, PlanStep, changes
from agentdeck.ui.widgets.conversation_pane import Printed, page
from tests.test_acp_pane import talk


def test_only_what_changed_travels_and_merges_into_the_same_conversation() -> None:
    source = talk()
    pane = Conversation.from_wire(source.to_wire())
    assert pane.to_wire() == source.to_wire()
    held = source.version
    source.agent("All done.")  # a new item
    source.tool("call-1", status="failed")  # a card changed in place
    source.terminal_ended("t1", "ran again\n")  # its terminal's output: the same card
    sent = changes(source.to_wire(), held)
    assert [(i["i"], i["role"]) for i in sent["items"]] == [(2, "tool"), (6, "agent")]
    assert sent["terminal_output"] == {"t1": "ran again\n"}
    assert "plan" not in sent  # unchanged: not sent
    assert pane.merge(sent) and pane.to_wire() == source.to_wire()
    source.set_plan([PlanStep("check", "in_progress")])
    sent = changes(source.to_wire(), pane.version)
    assert sent["items"] == [] and sent["plan"] == [
        {"content": "check", "status": "in_progress", "priority": "medium"}]
    assert pane.merge(sent) and pane.to_wire() == source.to_wire()
    assert changes(source.to_wire(), pane.version)["items"] == []  # nothing new: nothing sent


def test_a_conversation_anew_is_taken_whole_not_merged() -> None:
    pane = Conversation.from_wire(talk().to_wire())
    restarted = Conversation()
    for n in range(pane.version + 2):  # (a version beyond the pane's: changes since it exist)
        restarted.agent(f"{n} ")
    assert not pane.merge(changes(restarted.to_wire(), pane.version))
    assert Conversation.from_wire(restarted.to_wire()).to_wire() == restarted.to_wire()


def test_the_page_prints_again_only_the_items_that_changed() -> None:
    conv = talk()
    kept: Printed = {}
    first = page(conv, None, 80, 24, kept)
    before = dict(kept)
    conv.tool("call-2", status="completed")
    second = page(conv, None, 80, 24, kept)
    again = [n for n in kept if kept[n] is not before[n]]
    assert again == [4]  # the card that changed, alone
    with first as a, second as b:
        assert a.lines() != b.lines()
    # the same page as one laid out from nothing
    with second as b, page(conv, None, 80, 24) as fresh:
        assert b.lines() == fresh.lines()
    page(conv, None, 60, 24, kept)  # another width: each item printed anew
    assert all(kept[n] is not before[n] for n in kept)
