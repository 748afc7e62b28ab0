"""The fleet: its file (spec, reader, schema), options and edits, the registry of what exists,
views, the kinds of agents."""
