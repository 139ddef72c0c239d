"""What the screens read: pure reducers folding a run's journal into view state (no Textual)."""
