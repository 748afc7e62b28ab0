"""The fleet: its file (spec, reader, schema and its agent entries), options and edits, the
registry of what exists, views, the kinds of agents."""
