"""Subcommands of the `tycoon` CLI."""
