"""The engine: everything that is not drawing. Never imports Textual."""
