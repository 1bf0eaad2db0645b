"""The export pipeline: select -> map -> validate -> write -> artifacts. Plain Python, no queue or RPC."""
