"""The one application API. The CLI, gRPC servicer, console and scheduler call these functions only."""
