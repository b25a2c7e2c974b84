"""The flow language: step models, flow files, variables, validation, the catalogue."""
