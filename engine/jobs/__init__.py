"""Background jobs: RQ queues, the export task, progress events, the running-exports limit."""
