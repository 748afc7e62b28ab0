"""Scripted agents for `agentdeck demo` and the tests: no model, no network, real prompts."""
