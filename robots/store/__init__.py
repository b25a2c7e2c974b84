"""Where a password lives: the vault, the journal, the sink, sealed pages, the rescue file."""
