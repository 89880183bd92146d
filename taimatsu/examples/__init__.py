"""Runnable example programs that ship with taimatsu."""
