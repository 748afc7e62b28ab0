"""The fleet: its file (spec, reader, schema and its agent entries, the reference written from
them), options and edits, the registry of what exists, views, the kinds of agents."""
