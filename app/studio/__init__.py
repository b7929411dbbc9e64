"""Course authoring in the browser: drafts, editor, preview, publishing, import and export."""
