"""Small helpers every layer uses: YAML files, French dates and amounts, private files."""
