"""The command line: the parser and error mapping (`main`), the shared options, one module per command."""
