"""The dashboard's keys: each with an id (the fleet file's `dashboard.keys` rebinds by id) and
a tooltip the help and the palette show. They are the dashboard screen's; `HELP` and `QUIT` are the
app's."""

from __future__ import annotations

from dataclasses import replace

from textual.binding import Binding, BindingType

HELP = Binding("question_mark,f1", "help", "help", id="help", key_display="?",
               tooltip="Every key of this screen, and the fleet file's dashboard keys")
# (the app's: it hides it on the screens above the dashboard, as ctrl+q)
QUIT = Binding("q", "quit", "quit", id="quit", tooltip="Quit the dashboard (with a session host "
               "daemon the agents go on; without one they stop)")

DASHBOARD_BINDINGS: list[BindingType] = [
    Binding("y", "answer('allow')", "allow", id="allow",
            tooltip="Allow the selected prompt once"),
    Binding("a", "answer('always')", "always", id="allow-always",
            tooltip="Allow it and let the agent stop asking (where it offers that)"),
    Binding("n", "answer('deny')", "deny", id="deny", tooltip="Deny the selected prompt"),
    *(Binding(str(n), f"answer('option {n}')", f"option {n}", id=f"option-{n}", show=False,
              tooltip=f"Pick option {n} of the selected prompt's menu") for n in range(1, 10)),
    Binding("i", "enter_pane", "type", id="enter-pane",
            tooltip="Send your keys to the selected agent (the release key gives them back: "
            "ctrl+] unless dashboard.release_key says otherwise)"),
    Binding("z", "zoom", "zoom", id="zoom", tooltip="Show only the selected agent's pane"),
    Binding("r", "review", "review", id="review",
            tooltip="Review the selected agent's changes: diff, conflicts, feedback, merge"),
    Binding("s", "spawn", "spawn", id="spawn",
            tooltip="Create a new agent: worktree, env, port, database, install, start"),
    Binding("m", "message", "message", id="message",
            tooltip="Send the selected agent a message (typed, then submitted)"),
    Binding("M", "broadcast", "broadcast", id="broadcast", show=False,
            tooltip="Send a message to every marked agent (space marks; none: all workers)"),
    Binding("C", "compare", "compare", id="compare", show=False,
            tooltip="Compare a fanout's candidates side by side (the selected agent's group); "
            "K there keeps one"),
    Binding("f", "send_failure", "send failure", id="send-failure", show=False,
            tooltip="Send the selected agent its failing check's output, as a message (held "
            "while a prompt waits)"),
    # ] and [ pick the next and previous agent from anywhere on the dashboard (Tab moves the
    # focus between the agent table and the queue, as everywhere in Textual)
    Binding("right_square_bracket", "next_agent(1)", "next agent", id="next-agent",
            show=False, key_display="]", tooltip="Select the next agent"),
    Binding("left_square_bracket", "next_agent(-1)", "previous agent", id="previous-agent",
            show=False, key_display="[", tooltip="Select the previous agent"),
    # priority: the tables' own PageUp / PageDown would take them first
    Binding("pageup", "scroll_pane(-1)", "scroll up", id="scroll-up", show=False, priority=True,
            tooltip="Scroll the selected pane into its scrollback"),
    Binding("pagedown", "scroll_pane(1)", "scroll down", id="scroll-down", show=False,
            priority=True, tooltip="Scroll the selected pane back towards the live screen"),
    Binding("X", "stop_agent", "stop", id="stop-agent", show=False,
            tooltip="Stop the selected agent and every process it started"),
    Binding("R", "restart_agent", "restart", id="restart-agent", show=False,
            tooltip="Restart the selected agent (resuming), or start one that exited"),
    Binding("t", "app.next_theme", "theme", id="theme", show=False,
            tooltip="Switch between the dark, light and high-contrast themes"),
    Binding("b", "toggle_agents", "agents", id="agents",
            tooltip="Show or hide the agent table (where the window is narrow)"),
    # (help is the app's, bound here too so it keeps its place in the footer)
    replace(HELP, action="app.help"),
]

