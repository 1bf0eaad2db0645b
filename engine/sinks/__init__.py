"""Sinks: where an export's mapped rows go (files now; shop pushes next), one module each, found by name."""
