"""The jobs a command runs: one flow (`run`), the nightly renewal, parametrisation, accounts, replay."""
