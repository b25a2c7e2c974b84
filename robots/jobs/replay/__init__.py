"""Replay for support teams: step mode, recordings without secrets, illustrated procedures, probe."""
