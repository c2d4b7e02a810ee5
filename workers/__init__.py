"""DropSpace background worker process (arq wiring around server.expiry)."""
