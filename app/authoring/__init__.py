"""The Markdown course format: parse a folder, check it, render it, import and export it."""
